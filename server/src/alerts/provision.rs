//! Applying a whole alerting document (export, import, `LIVEDASH_ALERTS_FILE`): everything is
//! checked first, then contact points, rules and silences are stored, each under its name or
//! id, so applying the same document twice changes nothing.

use app::alerts::RuleError;
use app::alerts::api::AlertsDocument;

use super::silences;
use crate::storage::Store;
use crate::storage::alerts::AlertError;

/// Checks `document` alone (each part valid, rules naming contact points it or `known` has).
///
/// # Errors
/// The first part at fault, named by its place (`rules[2].condition.critical.raise`).
pub fn check(document: &AlertsDocument, known: &[String]) -> Result<(), RuleError> {
    let at = |place: String, error: RuleError| RuleError {
        field: format!("{place}.{}", error.field),
        reason: error.reason,
    };
    for (index, contact) in document.contact_points.iter().enumerate() {
        contact
            .validate()
            .map_err(|e| at(format!("contact_points[{index}]"), e))?;
    }
    for (index, rule) in document.rules.iter().enumerate() {
        rule.validate()
            .map_err(|e| at(format!("rules[{index}]"), e))?;
        for (place, name) in rule.contact_points.iter().enumerate() {
            let listed =
                document.contact_points.iter().any(|c| &c.name == name) || known.contains(name);
            if !listed {
                return Err(RuleError {
                    field: format!("rules[{index}].contact_points[{place}]"),
                    reason: format!("there is no contact point named {name:?}"),
                });
            }
        }
    }
    for (index, silence) in document.silences.iter().enumerate() {
        silence
            .validate()
            .and_then(|()| silences::check(silence))
            .map_err(|e| at(format!("silences[{index}]"), e))?;
    }
    Ok(())
}

/// Checks, then stores `document`; returns what was stored (secrets included, as given or
/// generated).
///
/// # Errors
/// The document is invalid (nothing stored), or Redis failed.
pub async fn apply(store: &Store, document: AlertsDocument) -> Result<AlertsDocument, AlertError> {
    let known: Vec<String> = store.alert_config().await?.contacts.into_keys().collect();
    check(&document, &known)?;
    let mut stored = AlertsDocument::default();
    for contact in document.contact_points {
        stored
            .contact_points
            .push(store.put_contact(contact).await?);
    }
    for rule in document.rules {
        stored.rules.push(store.put_rule(rule).await?);
    }
    for silence in document.silences {
        stored.silences.push(store.put_silence(silence).await?);
    }
    Ok(stored)
}

/// Reads and checks the provisioning file.
///
/// # Errors
/// It cannot be read, is not a document, or is invalid; the message names the file and the
/// field.
pub fn read_file(path: &std::path::Path) -> Result<AlertsDocument, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("LIVEDASH_ALERTS_FILE {}: {error}", path.display()))?;
    let mut reader = serde_json::Deserializer::from_str(&text);
    let document: AlertsDocument =
        serde_path_to_error::deserialize(&mut reader).map_err(|error| {
            format!(
                "LIVEDASH_ALERTS_FILE {}: {}: {}",
                path.display(),
                error.path(),
                error.inner()
            )
        })?;
    check(&document, &[])
        .map_err(|error| format!("LIVEDASH_ALERTS_FILE {}: {error}", path.display()))?;
    Ok(document)
}
