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
    /// When it is not notified ([`super::mute`]): `Mon-Fri 22:00-06:00; Sat-Sun 00:00-24:00`,
    /// in UTC. What arrives meanwhile is sent when the window ends.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mute: String,
    /// While an alert keeps firing, it is sent to this contact point again this often (ms);
    /// once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_ms: Option<i64>,
    /// Labels whose values make a group: the alerts of one group are sent together, in one
    /// notification that lists them all. Empty: every alert is sent on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// How long a new group's first notification waits for more alerts of the group, ms;
    /// 0 sends it at once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub group_wait_ms: i64,
    /// The least time between two notifications of a group, ms; what changes meanwhile is sent
    /// together when it has passed. [`DEFAULT_GROUP_INTERVAL_MS`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval_ms: Option<i64>,
}

/// A group's interval when its contact point sets none: five minutes, as Alertmanager's.
pub const DEFAULT_GROUP_INTERVAL_MS: i64 = 300_000;
/// The longest group wait, and the shortest and longest group interval.
pub const GROUP_WAIT_MAX_MS: i64 = 86_400_000;
pub const GROUP_INTERVAL_MS: (i64, i64) = (1_000, 86_400_000);
/// Most labels a contact point groups by.
pub const MAX_GROUP_BY: usize = 16;

fn is_zero(ms: &i64) -> bool {
    *ms == 0
}

/// The shortest and longest repeat interval.
pub const REPEAT_MS: (i64, i64) = (1_000, 30 * 86_400_000);

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
    /// Email to these addresses, through the server's SMTP relay.
    Email { to: Vec<String> },
}

/// Most addresses one email contact point sends to.
pub const MAX_EMAIL_RECIPIENTS: usize = 20;

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
        super::mute::parse(&self.mute).map_err(|reason| refuse("mute", reason))?;
        if let Some(repeat) = self.repeat_ms
            && !(REPEAT_MS.0..=REPEAT_MS.1).contains(&repeat)
        {
            return Err(refuse(
                "repeat_ms",
                "between 1 000 (a second) and 2 592 000 000 (30 days)".to_owned(),
            ));
        }
        self.validate_grouping()?;
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
            ContactKind::Email { to } => {
                if to.is_empty() || to.len() > MAX_EMAIL_RECIPIENTS {
                    return Err(refuse(
                        "to",
                        format!("1 to {MAX_EMAIL_RECIPIENTS} addresses"),
                    ));
                }
                for address in to {
                    check_email(address).map_err(|reason| refuse("to", reason))?;
                }
                return Ok(());
            }
        };
        check_url(url).map_err(|reason| refuse("url", reason))
    }

    fn validate_grouping(&self) -> Result<(), super::RuleError> {
        let refuse = |field: String, reason: String| super::RuleError { field, reason };
        if self.group_by.len() > MAX_GROUP_BY {
            return Err(refuse(
                "group_by".into(),
                format!("at most {MAX_GROUP_BY} labels"),
            ));
        }
        for (index, label) in self.group_by.iter().enumerate() {
            crate::model::validate_label_name(label)
                .map_err(|error| refuse(format!("group_by[{index}]"), error.to_string()))?;
            if self.group_by[..index].contains(label) {
                return Err(refuse(
                    format!("group_by[{index}]"),
                    format!("{label:?} is named twice"),
                ));
            }
        }
        if !(0..=GROUP_WAIT_MAX_MS).contains(&self.group_wait_ms) {
            return Err(refuse(
                "group_wait_ms".into(),
                "between 0 (at once) and 86 400 000 (a day)".into(),
            ));
        }
        if let Some(interval) = self.group_interval_ms
            && !(GROUP_INTERVAL_MS.0..=GROUP_INTERVAL_MS.1).contains(&interval)
        {
            return Err(refuse(
                "group_interval_ms".into(),
                "between 1 000 (a second) and 86 400 000 (a day)".into(),
            ));
        }
        Ok(())
    }

    /// The group an alert with `labels` is sent in: the values of the labels it groups by
    /// (those the alert has); `None` when it sends every alert on its own.
    #[must_use]
    pub fn group_of(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        if self.group_by.is_empty() {
            return None;
        }
        Some(
            self.group_by
                .iter()
                .filter_map(|name| Some((name.clone(), labels.get(name)?.clone())))
                .collect(),
        )
    }

    /// Its group interval, ms.
    #[must_use]
    pub fn group_interval(&self) -> i64 {
        self.group_interval_ms.unwrap_or(DEFAULT_GROUP_INTERVAL_MS)
    }

    /// Where it sends: its address, or its recipients.
    #[must_use]
    pub fn address(&self) -> String {
        match &self.kind {
            ContactKind::Webhook { url, .. }
            | ContactKind::Alertmanager { url }
            | ContactKind::Slack { url } => url.clone(),
            ContactKind::Email { to } => to.join(", "),
        }
    }

    /// The kind's name.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ContactKind::Webhook { .. } => "webhook",
            ContactKind::Alertmanager { .. } => "alertmanager",
            ContactKind::Slack { .. } => "slack",
            ContactKind::Email { .. } => "email",
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

/// Checks that `address` is a plain email address: `local@domain`, without a display name.
///
/// # Errors
/// Why not.
pub fn check_email(address: &str) -> Result<(), String> {
    let well_formed = address.len() <= 254
        && !address.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{address:?} is not an email address (name@example.com)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_contact_points_need_plain_addresses() {
        assert!(check_email("ops@example.com").is_ok());
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "a@b@c",
            "Ops <ops@x.io>",
            "a b@x.io",
            "ops@.x",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} accepted");
        }
        let contact = |to: Vec<String>| ContactPoint {
            name: "mail".into(),
            kind: ContactKind::Email { to },
            send_resolved: true,
            mute: String::new(),
            repeat_ms: None,
            group_by: Vec::new(),
            group_wait_ms: 0,
            group_interval_ms: None,
        };
        assert!(contact(vec!["ops@example.com".into()]).validate().is_ok());
        let error = contact(vec![]).validate().unwrap_err();
        assert_eq!(error.field, "to");
        let error = contact(vec!["ops@example.com".into(), "nobody".into()])
            .validate()
            .unwrap_err();
        assert!(error.reason.contains("\"nobody\""), "{}", error.reason);
        let mut muted = contact(vec!["ops@example.com".into()]);
        muted.mute = "Sat-Sun 00:00-24:00".into();
        assert!(muted.validate().is_ok());
        muted.mute = "weekends".into();
        assert_eq!(muted.validate().unwrap_err().field, "mute");
        let mut repeated = contact(vec!["ops@example.com".into()]);
        repeated.repeat_ms = Some(4 * 3_600_000);
        assert!(repeated.validate().is_ok());
        repeated.repeat_ms = Some(10);
        assert_eq!(repeated.validate().unwrap_err().field, "repeat_ms");
        let mut grouped = contact(vec!["ops@example.com".into()]);
        grouped.group_by = vec!["service".into(), "alertname".into()];
        grouped.group_wait_ms = 30_000;
        assert!(grouped.validate().is_ok());
        let labels = std::collections::BTreeMap::from([
            ("alertname".to_owned(), "cpu".to_owned()),
            ("host".to_owned(), "web-1".to_owned()),
        ]);
        assert_eq!(
            grouped.group_of(&labels),
            Some(std::collections::BTreeMap::from([(
                "alertname".to_owned(),
                "cpu".to_owned()
            )]))
        );
        assert_eq!(grouped.group_interval(), DEFAULT_GROUP_INTERVAL_MS);
        grouped.group_by.push("service".into());
        assert_eq!(grouped.validate().unwrap_err().field, "group_by[2]");
        grouped.group_by = vec!["not a label".into()];
        assert_eq!(grouped.validate().unwrap_err().field, "group_by[0]");
        grouped.group_by = vec!["service".into()];
        grouped.group_wait_ms = -1;
        assert_eq!(grouped.validate().unwrap_err().field, "group_wait_ms");
        grouped.group_wait_ms = 0;
        grouped.group_interval_ms = Some(5);
        assert_eq!(grouped.validate().unwrap_err().field, "group_interval_ms");
        assert_eq!(
            contact(vec!["ops@example.com".into()]).group_of(&labels),
            None
        );
    }

    #[test]
    fn urls_must_be_http() {
        assert!(check_url("https://hooks.slack.com/services/x").is_ok());
        assert!(check_url("http://127.0.0.1:9093").is_ok());
        assert!(check_url("ftp://x").unwrap_err().contains("not an http"));
        assert!(check_url("http:///path").unwrap_err().contains("no host"));
        assert!(check_url("hooks.slack.com").is_err());
    }
}
