//! What each kind of contact point is sent for a notification: Alertmanager's webhook payload
//! (version 4) with livedash's fields, Alertmanager's own `POST /api/v2/alerts` body, and a
//! Slack message. Built from the queued notification alone, so a resend is the same body.

use std::collections::BTreeMap;

use app::alerts::machine::Notice;
use app::model::format_rfc3339;
use serde_json::{Value, json};

use crate::storage::alerts::{Notification, Queued};

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

/// The labels (or annotations) every alert of `alerts` has with the same value.
fn common<'a>(
    alerts: &'a [Queued],
    field: impl Fn(&'a Queued) -> &'a BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut shared = alerts.first().map(&field).cloned().unwrap_or_default();
    for alert in alerts.iter().skip(1) {
        let theirs = field(alert);
        shared.retain(|name, value| theirs.get(name) == Some(value));
    }
    shared
}

/// One alert of a webhook payload.
fn webhook_alert(queued: &Queued, public_url: &str) -> Value {
    let ends_at = queued
        .ends_at_ms
        .map_or_else(|| ZERO_TIME.to_owned(), format_rfc3339);
    json!({
        "status": status(queued.status),
        "labels": queued.labels,
        "annotations": queued.annotations,
        "startsAt": format_rfc3339(queued.starts_at_ms),
        "endsAt": ends_at,
        "generatorURL": rule_url(public_url, queued),
        "fingerprint": fingerprint(&queued.labels),
        "value": queued.value,
        "ruleId": queued.rule_id,
        "state": queued.state,
        "transitionAt": format_rfc3339(queued.at_ms),
        "dashboardURL": queued.dashboard.as_ref().map(|d| format!("{public_url}/d/{d}")),
    })
}

/// `name="value"` pairs, as Alertmanager writes a group's labels in its key.
fn label_pairs(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Alertmanager's webhook payload, version 4, with livedash's fields: one alert, or a group's
/// alerts with the labels they group by.
#[must_use]
pub fn webhook_body(notification: &Notification, id: &str, public_url: &str) -> Value {
    let alerts = &notification.alerts;
    let (group_key, group_labels) = match (&notification.group, alerts.as_slice()) {
        (Some(group), _) => (
            format!("{{}}:{{{}}}", label_pairs(&group.labels)),
            group.labels.clone(),
        ),
        (None, [one, ..]) => (
            format!(
                "{{}}/{{rule=\"{}\"}}:{{fingerprint=\"{}\"}}",
                one.rule_id,
                fingerprint(&one.labels)
            ),
            BTreeMap::from([("alertname".to_owned(), one.rule_name.clone())]),
        ),
        (None, []) => (String::new(), BTreeMap::new()),
    };
    let mut livedash = json!({ "notificationId": id });
    if let (None, [one]) = (&notification.group, alerts.as_slice()) {
        livedash["ruleId"] = json!(one.rule_id);
        livedash["state"] = json!(one.state);
        livedash["value"] = json!(one.value);
        livedash["transitionAt"] = json!(format_rfc3339(one.at_ms));
    }
    json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status(notification.status()),
        "receiver": notification.contact(),
        "groupLabels": group_labels,
        "commonLabels": common(alerts, |a| &a.labels),
        "commonAnnotations": common(alerts, |a| &a.annotations),
        "externalURL": public_url,
        "alerts": alerts.iter().map(|a| webhook_alert(a, public_url)).collect::<Vec<_>>(),
        "livedash": livedash,
    })
}

/// How far ahead a firing alert's `endsAt` is set for Alertmanager: four times the keep-alive
/// period, as Prometheus does, so that a livedash that stops re-sending has its alerts
/// resolved by Alertmanager instead of firing for ever.
pub const ALERTMANAGER_VALIDITY_MS: i64 = 4 * 60_000;

/// The body of Alertmanager's `POST /api/v2/alerts`: the alerts, each resolved by its
/// `endsAt` (a firing alert's lies [`ALERTMANAGER_VALIDITY_MS`] after `now_ms`).
#[must_use]
pub fn alertmanager_body(notification: &Notification, public_url: &str, now_ms: i64) -> Value {
    notification
        .alerts
        .iter()
        .map(|queued| {
            let ends = queued
                .ends_at_ms
                .unwrap_or(now_ms + ALERTMANAGER_VALIDITY_MS);
            json!({
                "labels": queued.labels,
                "annotations": queued.annotations,
                "startsAt": format_rfc3339(queued.starts_at_ms),
                "endsAt": format_rfc3339(ends),
                "generatorURL": rule_url(public_url, queued),
            })
        })
        .collect()
}

/// An alert's labels other than its name and severity, `name=value` joined by commas.
#[must_use]
pub fn other_labels(queued: &Queued) -> String {
    queued
        .labels
        .iter()
        .filter(|(name, _)| *name != "alertname" && *name != "severity")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[FIRING:2] service=api`: how a group's notification is headed (counts of firing and
/// resolved alerts, the labels it groups by).
#[must_use]
pub fn group_headline(notification: &Notification) -> String {
    let firing = notification
        .alerts
        .iter()
        .filter(|a| a.status == Notice::Firing)
        .count();
    let resolved = notification.alerts.len() - firing;
    let mut counts = Vec::new();
    if firing > 0 {
        counts.push(format!("FIRING:{firing}"));
    }
    if resolved > 0 {
        counts.push(format!("RESOLVED:{resolved}"));
    }
    let labels = notification.group.as_ref().map_or_else(String::new, |g| {
        g.labels
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    format!("[{}] {labels}", counts.join(" "))
        .trim_end()
        .to_owned()
}

/// A Slack (or compatible) incoming-webhook message: the alert, or a group's alerts a line
/// each.
#[must_use]
pub fn slack_body(notification: &Notification, public_url: &str) -> Value {
    let line = |queued: &Queued| {
        let value = queued
            .value
            .map(|v| format!("value {}", app::format::number(v)))
            .unwrap_or_default();
        format!(
            "{} {value} <{}|Open in livedash>",
            other_labels(queued),
            rule_url(public_url, queued)
        )
    };
    if let (None, [queued]) = (&notification.group, notification.alerts.as_slice()) {
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
        return json!({ "text": format!("{headline}\n{summary}\n{}", line(queued)) });
    }
    let icon = match notification.status() {
        Notice::Firing => ":rotating_light:",
        Notice::Resolved => ":white_check_mark:",
    };
    let mut lines = vec![format!("{icon} *{}*", group_headline(notification))];
    for queued in &notification.alerts {
        let summary = queued
            .annotations
            .get("summary")
            .map_or_else(String::new, |s| format!(" {s}"));
        lines.push(format!(
            "• {} {}{summary} {}",
            status(queued.status).to_uppercase(),
            queued.rule_name,
            line(queued)
        ));
    }
    json!({ "text": lines.join("\n") })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::queued;
    use super::*;
    use crate::storage::alerts::GroupKey;

    fn single(status: Notice) -> Notification {
        Notification::single(queued(status))
    }

    #[test]
    fn webhook_payload_is_alertmanagers_version_4() {
        let body = webhook_body(&single(Notice::Firing), "1-0", "http://ld");
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["alerts"][0]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(body["alerts"][0]["endsAt"], ZERO_TIME);
        assert_eq!(body["alerts"][0]["labels"]["host"], "web-1");
        assert_eq!(
            body["alerts"][0]["generatorURL"],
            "http://ld/alerts?rule=r1"
        );
        assert_eq!(body["groupLabels"]["alertname"], "cpu high");
        assert_eq!(body["livedash"]["notificationId"], "1-0");
        assert_eq!(body["livedash"]["ruleId"], "r1");
        let resolved = webhook_body(&single(Notice::Resolved), "2-0", "http://ld");
        assert_eq!(resolved["alerts"][0]["endsAt"], "2023-11-14T22:14:20.000Z");
        assert_eq!(
            resolved["alerts"][0]["fingerprint"],
            body["alerts"][0]["fingerprint"]
        );
        let am = alertmanager_body(&single(Notice::Firing), "http://ld", 1_700_000_000_000);
        assert_eq!(am[0]["endsAt"], "2023-11-14T22:17:20.000Z");
        assert!(
            slack_body(&single(Notice::Resolved), "http://ld")["text"]
                .as_str()
                .unwrap()
                .contains("RESOLVED")
        );
    }

    #[test]
    fn a_groups_notification_lists_its_alerts_with_what_they_share() {
        let mut other = queued(Notice::Resolved);
        other.labels.insert("host".into(), "web-2".into());
        other
            .annotations
            .insert("summary".into(), "web-2 cooled".into());
        let grouped = Notification {
            group: Some(GroupKey {
                contact: "ops".into(),
                labels: BTreeMap::from([("alertname".to_owned(), "cpu high".to_owned())]),
            }),
            alerts: vec![queued(Notice::Firing), other],
        };
        let body = webhook_body(&grouped, "3-0", "http://ld");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["groupKey"], "{}:{alertname=\"cpu high\"}");
        assert_eq!(body["groupLabels"], json!({"alertname": "cpu high"}));
        assert_eq!(
            body["commonLabels"],
            json!({"alertname": "cpu high", "severity": "critical"})
        );
        assert_eq!(body["commonAnnotations"], json!({}));
        assert_eq!(body["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(body["alerts"][1]["status"], "resolved");
        assert!(body["livedash"].get("ruleId").is_none());
        assert_eq!(
            alertmanager_body(&grouped, "http://ld", 0)
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            group_headline(&grouped),
            "[FIRING:1 RESOLVED:1] alertname=cpu high"
        );
        let text = slack_body(&grouped, "http://ld")["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            text.contains("host=web-2") && text.contains("web-1 is hot"),
            "{text}"
        );
    }
}
