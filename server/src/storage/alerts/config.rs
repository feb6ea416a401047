//! Rules, contact points and silences: kept as JSON in hashes; every change bumps a version
//! that each process watches to reload them.

use std::collections::HashMap;

use app::alerts::{ContactKind, ContactPoint, Rule, Silence};
use base64::Engine as _;
use redis::AsyncCommands as _;

use super::AlertError;
use crate::storage::Store;

/// Everything alerting is configured with, as one process holds it.
#[derive(Clone, Debug, Default)]
pub struct AlertConfig {
    pub rules: Vec<Rule>,
    pub contacts: HashMap<String, ContactPoint>,
    pub silences: Vec<Silence>,
    /// The version it was read at.
    pub version: u64,
}

/// 16 random hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

impl Store {
    async fn hash_values<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
    ) -> Result<Vec<T>, AlertError> {
        let entries: HashMap<String, String> = self.connection().hgetall(&key).await?;
        entries
            .values()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| AlertError::corrupt(key.clone(), &e))
            })
            .collect()
    }

    async fn bump_alert_version(&self) -> Result<(), AlertError> {
        let _: u64 = self
            .connection()
            .incr(self.alert_key("rules:version"), 1)
            .await?;
        Ok(())
    }

    /// The version of alerting's configuration (bumped on every change).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn alert_config_version(&self) -> Result<u64, AlertError> {
        let version: Option<u64> = self
            .connection()
            .get(self.alert_key("rules:version"))
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// Rules, contact points (with their secrets) and silences.
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn alert_config(&self) -> Result<AlertConfig, AlertError> {
        let version = self.alert_config_version().await?;
        let mut rules: Vec<Rule> = self.hash_values(self.alert_key("rules")).await?;
        rules.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let contacts: Vec<ContactPoint> = self.hash_values(self.alert_key("contacts")).await?;
        let mut silences: Vec<Silence> = self.hash_values(self.alert_key("silences")).await?;
        silences.sort_by_key(|silence| silence.starts_ms);
        Ok(AlertConfig {
            rules,
            contacts: contacts.into_iter().map(|c| (c.name.clone(), c)).collect(),
            silences,
            version,
        })
    }

    /// Stores `rule` (validated) under its id, a new one when empty; returns the rule stored.
    ///
    /// # Errors
    /// The rule is invalid, names an unknown contact point, or Redis failed.
    pub async fn put_rule(&self, mut rule: Rule) -> Result<Rule, AlertError> {
        rule.validate()?;
        let contacts: Vec<String> = self.connection().hkeys(self.alert_key("contacts")).await?;
        for (index, name) in rule.contact_points.iter().enumerate() {
            if !contacts.contains(name) {
                return Err(app::alerts::RuleError {
                    field: format!("contact_points[{index}]"),
                    reason: format!("there is no contact point named {name:?}"),
                }
                .into());
            }
        }
        if rule.id.is_empty() {
            rule.id = new_id();
        } else if !rule
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || rule.id.len() > 64
        {
            return Err(app::alerts::RuleError {
                field: "id".into(),
                reason: "letters, digits, - and _, at most 64".into(),
            }
            .into());
        }
        let json =
            serde_json::to_string(&rule).map_err(|e| AlertError::corrupt(rule.id.clone(), &e))?;
        let _: () = self
            .connection()
            .hset(self.alert_key("rules"), &rule.id, json)
            .await?;
        // An edited rule starts its instances afresh (their thresholds may have changed).
        let _: () = self
            .connection()
            .del(self.alert_key(&format!("i:{}", rule.id)))
            .await?;
        self.bump_alert_version().await?;
        Ok(rule)
    }

    /// One rule.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn rule(&self, id: &str) -> Result<Rule, AlertError> {
        let key = self.alert_key("rules");
        let json: Option<String> = self.connection().hget(&key, id).await?;
        let json = json.ok_or_else(|| AlertError::NotFound(format!("no alert rule {id:?}")))?;
        serde_json::from_str(&json).map_err(|e| AlertError::corrupt(key, &e))
    }

    /// Deletes a rule with its instances.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn delete_rule(&self, id: &str) -> Result<(), AlertError> {
        let removed: u64 = self.connection().hdel(self.alert_key("rules"), id).await?;
        if removed == 0 {
            return Err(AlertError::NotFound(format!("no alert rule {id:?}")));
        }
        let _: () = self
            .connection()
            .del(self.alert_key(&format!("i:{id}")))
            .await?;
        self.bump_alert_version().await
    }

    /// Stores a contact point (validated); a webhook without a secret gets a new one. Returns
    /// it with its secret (the only time the secret is shown).
    ///
    /// # Errors
    /// It is invalid, or Redis failed.
    pub async fn put_contact(&self, mut contact: ContactPoint) -> Result<ContactPoint, AlertError> {
        contact.name = contact.name.trim().to_owned();
        contact.validate()?;
        if let ContactKind::Webhook { secret, .. } = &mut contact.kind
            && secret.is_none()
        {
            // An update without a secret keeps the one it had.
            let key = self.alert_key("contacts");
            let old: Option<String> = self.connection().hget(&key, &contact.name).await?;
            let kept = old
                .and_then(|json| serde_json::from_str::<ContactPoint>(&json).ok())
                .and_then(|old| match old.kind {
                    ContactKind::Webhook { secret, .. } => secret,
                    _ => None,
                });
            *secret = Some(kept.unwrap_or_else(new_secret));
        }
        let json = serde_json::to_string(&contact)
            .map_err(|e| AlertError::corrupt(contact.name.clone(), &e))?;
        let _: () = self
            .connection()
            .hset(self.alert_key("contacts"), &contact.name, json)
            .await?;
        self.bump_alert_version().await?;
        Ok(contact)
    }

    /// Deletes a contact point.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn delete_contact(&self, name: &str) -> Result<(), AlertError> {
        let removed: u64 = self
            .connection()
            .hdel(self.alert_key("contacts"), name)
            .await?;
        if removed == 0 {
            return Err(AlertError::NotFound(format!("no contact point {name:?}")));
        }
        self.bump_alert_version().await
    }

    /// Stores a silence (validated); returns it with its id.
    ///
    /// # Errors
    /// It is invalid, or Redis failed.
    pub async fn put_silence(&self, mut silence: Silence) -> Result<Silence, AlertError> {
        silence.validate()?;
        if silence.id.is_empty() {
            silence.id = new_id();
        }
        let json = serde_json::to_string(&silence)
            .map_err(|e| AlertError::corrupt(silence.id.clone(), &e))?;
        let _: () = self
            .connection()
            .hset(self.alert_key("silences"), &silence.id, json)
            .await?;
        // What the silence holds back is looked at again when it ends.
        self.bump_alert_version().await.map(|()| silence)
    }

    /// Ends a silence now (it stays listed as expired until cleaned up), releasing what it
    /// held back.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn expire_silence(&self, id: &str, now_ms: i64) -> Result<Silence, AlertError> {
        let key = self.alert_key("silences");
        let json: Option<String> = self.connection().hget(&key, id).await?;
        let json = json.ok_or_else(|| AlertError::NotFound(format!("no silence {id:?}")))?;
        let mut silence: Silence =
            serde_json::from_str(&json).map_err(|e| AlertError::corrupt(key.clone(), &e))?;
        silence.ends_ms = silence.ends_ms.min(now_ms).max(silence.starts_ms + 1);
        let json =
            serde_json::to_string(&silence).map_err(|e| AlertError::corrupt(key.clone(), &e))?;
        let _: () = self.connection().hset(&key, id, json).await?;
        self.reschedule_held(now_ms).await?;
        self.bump_alert_version().await?;
        Ok(silence)
    }
}
