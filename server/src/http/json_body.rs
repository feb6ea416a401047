//! JSON request bodies read into their type, with the field at fault named
//! (`condition.critical.raise: invalid type: string "ninety", expected f64`).
//!
//! `serde_path_to_error` follows the path down to an internally tagged enum (a rule's
//! `source` and `condition`), whose content serde buffers before it knows the variant; below
//! that, the path is found again by reading the enum's object as its variant's fields.

use std::collections::BTreeMap;

use app::alerts::{Band, Line, Measure, Rule, RuleError, Severity};
use app::query::Aggregation;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Reads `bytes` as `T`; the error names the field at fault.
///
/// # Errors
/// The body is not JSON, or not a `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RuleError> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        RuleError {
            field: if path == "." { "body".to_owned() } else { path },
            reason: error.into_inner().to_string(),
        }
    })
}

#[derive(Deserialize)]
#[allow(dead_code)]
#[serde(bound = "L: Deserialize<'de>")]
struct Levels<L> {
    #[serde(default = "none")]
    critical: Option<L>,
    #[serde(default = "none")]
    warning: Option<L>,
}

fn none<L>() -> Option<L> {
    None
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct AbsentFields {
    after_ms: i64,
    #[serde(default)]
    severity: Option<Severity>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct MetricFields {
    selector: String,
    aggregation: Aggregation,
    window_ms: i64,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    measure: Measure,
}

/// Reads `value` as `T`, returning the path inside it at fault, if any.
fn inner_path<T: DeserializeOwned>(value: &Value) -> Option<(String, String)> {
    let text = value.to_string();
    let mut reader = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize::<_, T>(&mut reader)
        .err()
        .map(|error| (error.path().to_string(), error.into_inner().to_string()))
}

/// Reads a rule; the error names the field at fault, inside `source` and `condition` too.
///
/// # Errors
/// The body is not JSON, or not a rule.
pub fn parse_rule(bytes: &[u8]) -> Result<Rule, RuleError> {
    let error = match parse::<Rule>(bytes) {
        Ok(rule) => return Ok(rule),
        Err(error) => error,
    };
    let Ok(document) = serde_json::from_slice::<BTreeMap<String, Value>>(bytes) else {
        return Err(error);
    };
    let Some(value) = document.get(&error.field) else {
        return Err(error);
    };
    let tag = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let found = match (
        error.field.as_str(),
        tag("op").as_str(),
        tag("kind").as_str(),
    ) {
        ("condition", "above" | "below", _) => inner_path::<Levels<Line>>(value),
        ("condition", "outside", _) => inner_path::<Levels<Band>>(value),
        ("condition", "absent", _) => inner_path::<AbsentFields>(value),
        ("source", _, "metric") => inner_path::<MetricFields>(value),
        _ => None,
    };
    match found {
        Some((path, reason)) if path != "." => Err(RuleError {
            field: format!("{}.{path}", error.field),
            reason,
        }),
        _ => Err(error),
    }
}

/// Reads an alerting document; the error names the field at fault, inside its rules too.
///
/// # Errors
/// The body is not JSON, or not a document.
pub fn parse_document(bytes: &[u8]) -> Result<app::alerts::api::AlertsDocument, RuleError> {
    let error = match parse(bytes) {
        Ok(document) => return Ok(document),
        Err(error) => error,
    };
    let index = error
        .field
        .strip_prefix("rules[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(index, _)| index.parse::<usize>().ok());
    let rule = index.and_then(|index| {
        let document: Value = serde_json::from_slice(bytes).ok()?;
        Some((index, document.get("rules")?.get(index)?.to_string()))
    });
    match rule {
        Some((index, rule)) => match parse_rule(rule.as_bytes()) {
            Err(inner) => Err(RuleError {
                field: format!("rules[{index}].{}", inner.field),
                reason: inner.reason,
            }),
            Ok(_) => Err(error),
        },
        None => Err(error),
    }
}

/// Reads a preview request `{"rule": …, "hours": …}`; the error names the field at fault,
/// inside the rule too.
///
/// # Errors
/// The body is not JSON, or not a preview request.
pub fn parse_preview(bytes: &[u8]) -> Result<app::alerts::api::PreviewRequest, RuleError> {
    let error = match parse::<app::alerts::api::PreviewRequest>(bytes) {
        Ok(request) => return Ok(request),
        Err(error) => error,
    };
    let rule = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|document| document.get("rule").map(ToString::to_string));
    match (error.field.starts_with("rule"), rule) {
        (true, Some(rule)) => match parse_rule(rule.as_bytes()) {
            Err(inner) => Err(RuleError {
                field: format!("rule.{}", inner.field),
                reason: inner.reason,
            }),
            Ok(_) => Err(error),
        },
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_inside_tagged_enums() {
        let rule = |condition: &str| {
            format!(
                r#"{{"name":"r","source":{{"kind":"metric","selector":"cpu","aggregation":{{"fn":"avg"}},"window_ms":1000}},"condition":{condition}}}"#
            )
        };
        let error = parse_rule(rule(r#"{"op":"above","critical":{"raise":"ninety"}}"#).as_bytes())
            .unwrap_err();
        assert_eq!(error.field, "condition.critical.raise");
        let error = parse_rule(
            rule(r#"{"op":"outside","warning":{"low":{"raise":1},"high":{"raise":true}}}"#)
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(error.field, "condition.warning.high.raise");
        let error = parse_rule(rule(r#"{"op":"sideways"}"#).as_bytes()).unwrap_err();
        assert_eq!(error.field, "condition.op");
        assert!(error.reason.contains("sideways"), "{}", error.reason);
        let error = parse_rule(br#"{"name":"r","source":{"kind":"metric","selector":"cpu","aggregation":{"fn":"avg"},"window_ms":"1m"},"condition":{"op":"absent","after_ms":1}}"#).unwrap_err();
        assert_eq!(error.field, "source.window_ms");
        assert!(parse_rule(rule(r#"{"op":"absent","after_ms":5}"#).as_bytes()).is_ok());
        assert_eq!(parse::<Rule>(b"[").unwrap_err().field, "body");
    }
}
