//! Every transition is also written as a sample of [`STATE_METRIC`], by the process whose
//! transition it was, so that open browsers (dashboards, the Alerts page) learn of it through
//! the live push like any other change, and the state can be charted over time.

use std::collections::BTreeMap;

use app::alerts::api::STATE_METRIC;
use app::alerts::machine::State;
use app::alerts::{Rule, Source};
use app::model::{MetricKind, Observation, Observed, SeriesKey};

use crate::storage::writer::Writer;

/// The series of an instance of `rule` in group `group`: the group's labels, `alertname`,
/// `rule_id`, and `selector` (the rule's selector, which dashboards match their widgets by).
#[must_use]
pub fn series(rule: &Rule, group: &BTreeMap<String, String>) -> SeriesKey {
    let mut key = SeriesKey::new(STATE_METRIC);
    for (label, value) in group {
        key = key.with_label(label, value);
    }
    let Source::Metric { selector, .. } = &rule.source;
    key.with_label("alertname", &rule.name)
        .with_label("rule_id", &rule.id)
        .with_label("selector", selector)
}

/// Writes the instance's new state at `at_ms`; a failure is logged (the transition itself
/// is already stored and its notifications queued).
pub async fn record(
    writer: &Writer,
    rule: &Rule,
    group: &BTreeMap<String, String>,
    state: State,
    at_ms: i64,
) {
    let observation = Observation {
        series: series(rule, group),
        kind: MetricKind::Gauge,
        ts: at_ms,
        value: Observed::Number(state.code()),
    };
    if let Err(error) = writer.write(vec![observation]).await {
        tracing::warn!(rule = %rule.id, %error, "recording an alert's state failed");
    }
}
