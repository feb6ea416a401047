//! What the alerts API answers: rules with their state, alert instances, history entries and
//! dead letters. Shared by the server and the Alerts page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::machine::{Severity, State};
use super::{ContactPoint, Rule, Silence};

/// The series every alert instance's state is written to as it changes (its value is
/// [`State::code`]), labelled `alertname`, `rule_id` and the instance's group labels: what
/// dashboards and the Alerts page follow live, through the same live queries as any series.
pub const STATE_METRIC: &str = "livedash_alert_state";

/// The states of the alerts whose rule watches exactly `selector` (its text, as a widget's
/// query holds it): what a widget follows for its badge and its state changes.
#[must_use]
pub fn state_selector(selector: &str) -> crate::query::Selector {
    crate::query::Selector {
        name: STATE_METRIC.to_owned(),
        matchers: vec![crate::query::Matcher {
            label: "selector".to_owned(),
            op: crate::query::MatchOp::Equal,
            value: selector.to_owned(),
        }],
    }
}

/// The selector text that `selector` follows the alert states of, when it is one that
/// [`state_selector`] makes.
#[must_use]
pub fn state_selector_of(selector: &crate::query::Selector) -> Option<&str> {
    match selector.matchers.as_slice() {
        [matcher]
            if selector.name == STATE_METRIC
                && matcher.label == "selector"
                && matcher.op == crate::query::MatchOp::Equal =>
        {
            Some(&matcher.value)
        }
        _ => None,
    }
}

/// Path prefix of the alerts API.
pub const ALERTS_API: &str = "/api/v1/alerts";

/// One alert instance: a group of a rule's query.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InstanceView {
    pub rule_id: String,
    pub rule_name: String,
    /// The group's labels, the rule's labels, `alertname` and `severity`.
    pub labels: BTreeMap<String, String>,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// When the current state began, ms.
    pub since_ms: i64,
    /// When it started firing, while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_since_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The rendered summary.
    #[serde(default)]
    pub summary: String,
    /// Whether a silence covers it now.
    #[serde(default)]
    pub silenced: bool,
}

/// A rule with how its instances stand.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RuleView {
    pub rule: Rule,
    /// What it evaluates, as text: `max(cpu[5m]) by (host)`, `conversion(funnel f1[1h])`.
    #[serde(default)]
    pub query: String,
    /// The worst state of its instances (`normal` when it has none).
    pub state: State,
    pub instances: usize,
    pub firing: usize,
}

/// One transition, as kept in the history.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// The entry's id in the history (a Redis stream id).
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub labels: BTreeMap<String, String>,
    pub at_ms: i64,
    pub from: State,
    pub to: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The query that was evaluated, as text.
    pub query: String,
    /// Whether receivers were told (`firing` or `resolved`), if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<String>,
}

/// A notification that could not be delivered after every retry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// The notification's id (the `webhook-id` it was sent with).
    pub id: String,
    pub contact_point: String,
    pub rule_id: String,
    pub status: String,
    pub attempts: u32,
    /// The last failure.
    pub error: String,
    /// When it was given up, ms.
    pub at_ms: i64,
}

/// Rules, contact points and silences as one document (export, import, provisioning).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AlertsDocument {
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub contact_points: Vec<ContactPoint>,
    #[serde(default)]
    pub silences: Vec<Silence>,
}

/// What the editor asks a preview of: a rule, not saved, over the last `hours`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PreviewRequest {
    pub rule: Rule,
    /// How far back to replay, hours (1 to 168); 6 when absent.
    #[serde(default)]
    pub hours: Option<u32>,
}

/// One instance of a preview: its values and what the rule would have done.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PreviewInstance {
    pub labels: BTreeMap<String, String>,
    /// `(time ms, value)` at each evaluation of the replay.
    pub points: Vec<(i64, f64)>,
    #[serde(flatten)]
    pub replayed: super::replay::Replayed,
}

/// What a rule would have done over a past span.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Preview {
    pub from: i64,
    pub to: i64,
    /// Time between two evaluations of the replay, ms.
    pub step_ms: i64,
    pub instances: Vec<PreviewInstance>,
    /// Notifications in all, per contact point.
    pub notifications: usize,
    /// What the replay could not cover, when something (an experiment's p-values are not
    /// kept over time: its preview is its values now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Everything the Alerts page shows at once.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AlertsOverview {
    pub rules: Vec<RuleView>,
    /// Worst first.
    pub instances: Vec<InstanceView>,
    /// Without their secrets.
    pub contact_points: Vec<ContactPoint>,
    pub silences: Vec<Silence>,
    pub dead_letters: Vec<DeadLetter>,
    /// The funnels and experiments rules may watch.
    #[serde(default)]
    pub analytics: Watchable,
}

/// The funnels and experiments rules may watch, as the rule editor offers them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Watchable {
    /// Id, name, and each step's event.
    pub funnels: Vec<(String, String, Vec<String>)>,
    /// Id and name.
    pub experiments: Vec<(String, String)>,
}

/// What the Alerts page asks the server (one server function for all of alerting).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AlertsCall {
    Overview,
    History {
        rule: Option<String>,
        limit: usize,
    },
    /// A new rule when its id is empty.
    SaveRule(Box<Rule>),
    DeleteRule(String),
    Preview(Box<PreviewRequest>),
    SaveContact {
        contact: ContactPoint,
        create: bool,
    },
    DeleteContact(String),
    TestContact(String),
    CreateSilence(Silence),
    ExpireSilence(String),
}

impl AlertsCall {
    /// Whether only an admin may ask it (the others need read access).
    #[must_use]
    pub fn changes(&self) -> bool {
        !matches!(self, Self::Overview | Self::History { .. })
    }
}

/// The server's answer to an [`AlertsCall`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AlertsAnswer {
    Overview(Box<AlertsOverview>),
    History(Vec<HistoryEntry>),
    Rule(Box<Rule>),
    Preview(Box<Preview>),
    Contact(ContactPoint),
    Tested(TestResult),
    Silence(Silence),
    Done,
}

/// The answer of a test notification.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TestResult {
    pub delivered: bool,
    /// The receiver's status code, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Appends `text` with every byte but unreserved ones percent-encoded, for a URL's query.
/// (Written out rather than formatted: the browser's main bundle has no number formatting.)
fn push_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
}

/// The short name of an aggregation, as the Alerts page's link takes it.
fn aggregation_name(aggregation: crate::query::Aggregation) -> &'static str {
    use crate::query::Aggregation as A;
    match aggregation {
        A::Avg => "avg",
        A::Min => "min",
        A::Max => "max",
        A::Sum => "sum",
        A::Count => "count",
        A::Last => "last",
        A::Rate => "rate",
        A::Unique => "unique",
        A::Quantile { q } if q <= 0.5 => "p50",
        A::Quantile { q } if q <= 0.9 => "p90",
        A::Quantile { q } if q <= 0.95 => "p95",
        A::Quantile { .. } => "p99",
    }
}

/// The Alerts page with a new rule prefilled from a chart's query ("Alert on this").
#[must_use]
pub fn new_rule_link(
    selector: &str,
    aggregation: crate::query::Aggregation,
    group_by: &[String],
    dashboard: Option<&str>,
) -> String {
    let mut link = String::from("/alerts?new=1&selector=");
    push_encoded(&mut link, selector);
    link.push_str("&fn=");
    link.push_str(aggregation_name(aggregation));
    if !group_by.is_empty() {
        link.push_str("&by=");
        push_encoded(&mut link, &group_by.join(","));
    }
    if let Some(dashboard) = dashboard {
        link.push_str("&dashboard=");
        push_encoded(&mut link, dashboard);
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_selector_names_the_selector_it_follows_and_nothing_else_does() {
        let text = r#"http_latency{route="/api"}"#;
        assert_eq!(state_selector_of(&state_selector(text)), Some(text));
        let broader = crate::query::Selector::parse(STATE_METRIC).unwrap();
        assert_eq!(state_selector_of(&broader), None);
        let other = crate::query::Selector::parse(r#"cpu{selector="cpu"}"#).unwrap();
        assert_eq!(state_selector_of(&other), None);
        let regex =
            crate::query::Selector::parse(r#"livedash_alert_state{selector=~".*"}"#).unwrap();
        assert_eq!(state_selector_of(&regex), None);
    }

    #[test]
    fn links_prefill_a_rule() {
        assert_eq!(
            new_rule_link(
                r#"cpu{host=~"web-.*"}"#,
                crate::query::Aggregation::Quantile { q: 0.99 },
                &["host".into()],
                Some("d1")
            ),
            "/alerts?new=1&selector=cpu%7Bhost%3D~%22web-.%2A%22%7D&fn=p99&by=host&dashboard=d1"
        );
    }
}
