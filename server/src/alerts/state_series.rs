//! Every transition is also written as a sample of [`STATE_METRIC`], by the process whose
//! transition it was, so that open browsers (dashboards, the Alerts page) learn of it through
//! the live push like any other change, and the state can be charted over time.

use std::collections::BTreeMap;

use app::alerts::Rule;
use app::alerts::api::STATE_METRIC;
use app::alerts::machine::State;
use app::model::{MetricKind, Observation, Observed, SeriesKey};

use crate::storage::writer::Writer;

/// The series of an instance of `rule` in group `group`: the group's labels, `alertname`,
/// `rule_id`, `selector` (the rule's selector, or `funnel:<id>` / `experiment:<id>`: what
/// dashboards match their widgets by) and
/// the raise levels that charts of the selector draw ([`Rule::threshold_labels`]).
#[must_use]
pub fn series(rule: &Rule, group: &BTreeMap<String, String>) -> SeriesKey {
    let mut key = SeriesKey::new(STATE_METRIC);
    for (label, value) in group {
        key = key.with_label(label, value);
    }
    for (label, levels) in rule.threshold_labels() {
        key = key.with_label(label, &levels);
    }
    key.with_label("alertname", &rule.name)
        .with_label("rule_id", &rule.id)
        .with_label("selector", rule.source.subject())
}

/// Sets the state series of `rule`'s instances that are not normal to normal: the rule was
/// edited (its instances start afresh, under a name, selector or levels that may differ) or
/// deleted, and a dashboard must not keep showing a state no instance holds any more.
pub async fn clear(
    writer: &Writer,
    rule: &Rule,
    instances: &[(BTreeMap<String, String>, State)],
    now_ms: i64,
) {
    let observations: Vec<Observation> = instances
        .iter()
        .filter(|(_, state)| *state != State::Normal)
        .map(|(group, _)| Observation {
            series: series(rule, group),
            kind: MetricKind::Gauge,
            ts: now_ms,
            value: Observed::Number(State::Normal.code()),
        })
        .collect();
    if observations.is_empty() {
        return;
    }
    if let Err(error) = writer.write(observations).await {
        tracing::warn!(rule = %rule.id, %error, "clearing a changed rule's alert states failed");
    }
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
