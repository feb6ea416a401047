//! What each kind of contact point is sent for a notification: Alertmanager's webhook payload
//! (version 4) with livedash's fields, Alertmanager's own `POST /api/v2/alerts` body, and a
//! Slack message. Built from the queued notification alone, so a resend is the same body.

use std::collections::BTreeMap;

use app::alerts::machine::Notice;
use app::model::format_rfc3339;
use serde_json::{Value, json};

use crate::storage::alerts::Queued;

/// Alertmanager's "zero" time, which its webhook payload uses for a firing alert's `endsAt`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A stable fingerprint of an alert's labels (16 hex digits).
#[must_use]
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (name, value) in labels {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(value.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn status(notice: Notice) -> &'static str {
    match notice {
        Notice::Firing => "firing",
        Notice::Resolved => "resolved",
    }
}

/// Where the alert's rule is shown.
fn rule_url(public_url: &str, queued: &Queued) -> String {
    format!("{public_url}/alerts?rule={}", queued.rule_id)
}

/// Alertmanager's webhook payload, version 4, with livedash's fields.
#[must_use]
pub fn webhook_body(queued: &Queued, id: &str, public_url: &str) -> Value {
    let fingerprint = fingerprint(&queued.labels);
    let ends_at = queued
        .ends_at_ms
        .map_or_else(|| ZERO_TIME.to_owned(), format_rfc3339);
    let group_labels = BTreeMap::from([("alertname".to_owned(), queued.rule_name.clone())]);
    json!({
        "version": "4",
        "groupKey": format!("{{}}/{{rule=\"{}\"}}:{{fingerprint=\"{fingerprint}\"}}", queued.rule_id),
        "truncatedAlerts": 0,
        "status": status(queued.status),
        "receiver": queued.contact,
        "groupLabels": group_labels,
        "commonLabels": queued.labels,
        "commonAnnotations": queued.annotations,
        "externalURL": public_url,
        "alerts": [{
            "status": status(queued.status),
            "labels": queued.labels,
            "annotations": queued.annotations,
            "startsAt": format_rfc3339(queued.starts_at_ms),
            "endsAt": ends_at,
            "generatorURL": rule_url(public_url, queued),
            "fingerprint": fingerprint,
            "value": queued.value,
            "ruleId": queued.rule_id,
            "dashboardURL": queued.dashboard.as_ref().map(|d| format!("{public_url}/d/{d}")),
        }],
        "livedash": {
            "notificationId": id,
            "ruleId": queued.rule_id,
            "state": queued.state,
            "value": queued.value,
            "transitionAt": format_rfc3339(queued.at_ms),
        },
    })
}

/// How far ahead a firing alert's `endsAt` is set for Alertmanager: four times the keep-alive
/// period, as Prometheus does, so that a livedash that stops re-sending has its alerts
/// resolved by Alertmanager instead of firing for ever.
pub const ALERTMANAGER_VALIDITY_MS: i64 = 4 * 60_000;

/// The body of Alertmanager's `POST /api/v2/alerts`: one alert, resolved by its `endsAt`
/// (a firing alert's lies [`ALERTMANAGER_VALIDITY_MS`] after `now_ms`).
#[must_use]
pub fn alertmanager_body(queued: &Queued, public_url: &str, now_ms: i64) -> Value {
    let ends = queued
        .ends_at_ms
        .unwrap_or(now_ms + ALERTMANAGER_VALIDITY_MS);
    json!([{
        "labels": queued.labels,
        "annotations": queued.annotations,
        "startsAt": format_rfc3339(queued.starts_at_ms),
        "endsAt": format_rfc3339(ends),
        "generatorURL": rule_url(public_url, queued),
    }])
}

/// A Slack (or compatible) incoming-webhook message.
#[must_use]
pub fn slack_body(queued: &Queued, public_url: &str) -> Value {
    let severity = queued.labels.get("severity").map_or("", String::as_str);
    let headline = match queued.status {
        Notice::Firing => format!(":rotating_light: *FIRING* {} {severity}", queued.rule_name),
        Notice::Resolved => format!(":white_check_mark: *RESOLVED* {}", queued.rule_name),
    };
    let summary = queued
        .annotations
        .get("summary")
        .cloned()
        .unwrap_or_default();
    let labels: Vec<String> = queued
        .labels
        .iter()
        .filter(|(name, _)| *name != "alertname" && *name != "severity")
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let value = queued
        .value
        .map(|v| format!("value {}", app::format::number(v)))
        .unwrap_or_default();
    json!({
        "text": format!(
            "{headline}\n{summary}\n{} {value}\n<{}|Open in livedash>",
            labels.join(", "),
            rule_url(public_url, queued)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::queued;
    use super::*;

    #[test]
    fn webhook_payload_is_alertmanagers_version_4() {
        let body = webhook_body(&queued(Notice::Firing), "1-0", "http://ld");
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["alerts"][0]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(body["alerts"][0]["endsAt"], ZERO_TIME);
        assert_eq!(body["alerts"][0]["labels"]["host"], "web-1");
        assert_eq!(
            body["alerts"][0]["generatorURL"],
            "http://ld/alerts?rule=r1"
        );
        assert_eq!(body["livedash"]["notificationId"], "1-0");
        let resolved = webhook_body(&queued(Notice::Resolved), "2-0", "http://ld");
        assert_eq!(resolved["alerts"][0]["endsAt"], "2023-11-14T22:14:20.000Z");
        assert_eq!(
            resolved["alerts"][0]["fingerprint"],
            body["alerts"][0]["fingerprint"]
        );
        let am = alertmanager_body(&queued(Notice::Firing), "http://ld", 1_700_000_000_000);
        assert_eq!(am[0]["endsAt"], "2023-11-14T22:17:20.000Z");
        assert!(
            slack_body(&queued(Notice::Resolved), "http://ld")["text"]
                .as_str()
                .unwrap()
                .contains("RESOLVED")
        );
    }
}
