//! Contact points: where notifications go, and how.

use serde::{Deserialize, Serialize};

/// A contact point. Its secret is write-only: the API never returns it after creation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ContactPoint {
    /// Its name, unique; rules name it.
    pub name: String,
    #[serde(flatten)]
    pub kind: ContactKind,
    /// Whether resolved notifications are sent too (they are unless turned off).
    #[serde(default = "yes")]
    pub send_resolved: bool,
}

fn yes() -> bool {
    true
}

/// The kinds of contact point.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContactKind {
    /// An HTTP endpoint that receives Alertmanager's webhook payload (version 4) with
    /// livedash's fields, signed as the Standard Webhooks specification says.
    Webhook {
        url: String,
        /// `whsec_` and the base64 of the key; generated when absent. Never returned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// An Alertmanager's base address; alerts are posted to its `/api/v2/alerts`.
    Alertmanager { url: String },
    /// A Slack (or Slack-compatible: Mattermost, Rocket.Chat) incoming webhook.
    Slack { url: String },
}

impl ContactPoint {
    /// Checks it, naming the field at fault.
    ///
    /// # Errors
    /// An empty or over-long name, an address that is not http(s), a malformed secret.
    pub fn validate(&self) -> Result<(), super::RuleError> {
        let refuse = |field: &str, reason: String| super::RuleError {
            field: field.to_owned(),
            reason,
        };
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(refuse("name", "1 to 100 bytes".to_owned()));
        }
        let url = match &self.kind {
            ContactKind::Webhook { url, secret } => {
                if let Some(secret) = secret
                    && !secret.starts_with("whsec_")
                {
                    return Err(refuse(
                        "secret",
                        "a signing secret is `whsec_` followed by base64".to_owned(),
                    ));
                }
                url
            }
            ContactKind::Alertmanager { url } | ContactKind::Slack { url } => url,
        };
        check_url(url).map_err(|reason| refuse("url", reason))
    }

    /// The kind's name.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ContactKind::Webhook { .. } => "webhook",
            ContactKind::Alertmanager { .. } => "alertmanager",
            ContactKind::Slack { .. } => "slack",
        }
    }

    /// The same without its secret, as the API shows it.
    #[must_use]
    pub fn redacted(&self) -> Self {
        let mut shown = self.clone();
        if let ContactKind::Webhook { secret, .. } = &mut shown.kind {
            *secret = None;
        }
        shown
    }
}

/// Checks that `url` is an absolute http or https address with a host.
///
/// # Errors
/// Why not.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// address"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http() {
        assert!(check_url("https://hooks.slack.com/services/x").is_ok());
        assert!(check_url("http://127.0.0.1:9093").is_ok());
        assert!(check_url("ftp://x").unwrap_err().contains("not an http"));
        assert!(check_url("http:///path").unwrap_err().contains("no host"));
        assert!(check_url("hooks.slack.com").is_err());
    }
}
