//! One evaluation of one rule at one time: read its window per group, step each instance's
//! state machine, and write what changed, each instance's transition in one compare-and-set
//! step (so that of several processes evaluating the same change, exactly one writes it and
//! queues its notifications; the others find the version moved, read again and find nothing
//! left to do).

use std::collections::{BTreeMap, HashMap};

use app::alerts::api::HistoryEntry;
use app::alerts::machine::{self, Decision, Instance, Notice, Observation, State};
use app::alerts::template::{self, Context as TemplateContext};
use app::alerts::{Condition, Handling, Measure, Rule, Source};

use super::context::Context;
use super::rules::Compiled;
use crate::storage::alerts::{AlertError, Queued, StoredInstance, TransitionWrite};
use crate::storage::query::{GroupValue, QueryError};

/// How many times an evaluation is done again after another process moved a version.
const ATTEMPTS: usize = 8;

/// Label names to values.
type Labels = BTreeMap<String, String>;

/// What one evaluation saw of one group.
pub struct Seen {
    pub labels: Labels,
    pub observation: Observation,
    /// When its newest sample was taken.
    pub last_ts: Option<i64>,
}

/// What one evaluation saw, per group (its field in the instances hash).
pub struct Observed {
    pub groups: BTreeMap<String, Seen>,
    /// The whole query failed or returned nothing: the rule's no-data or error handling
    /// applies to every instance.
    pub everything: Option<Observation>,
}

/// The field of a group in the instances hash: its labels as JSON (sorted, so stable).
#[must_use]
pub fn group_field(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_default()
}

/// The query a rule evaluates, as text (history entries and previews show it).
#[must_use]
pub fn query_text(rule: &Rule) -> String {
    let window = |ms: &i64| app::format::duration_ms(*ms as f64);
    let (selector, aggregation, window_ms, group_by, measure) = match &rule.source {
        Source::Metric {
            selector,
            aggregation,
            window_ms,
            group_by,
            measure,
        } => (selector, aggregation, window_ms, group_by, measure),
        Source::Funnel {
            funnel,
            step,
            window_ms,
            compare,
        } => {
            let step = step.map_or_else(String::new, |step| format!(" step {step}"));
            let compared = match compare {
                app::alerts::Compare::Value => "",
                app::alerts::Compare::WeekEarlier => " vs a week earlier",
            };
            return format!(
                "conversion(funnel {funnel}{step}[{}]){compared}",
                window(window_ms)
            );
        }
        Source::Experiment { experiment, signal } => {
            return match signal {
                app::alerts::ExperimentSignal::Significance => {
                    format!("always_valid_p(experiment {experiment}) by (variant)")
                }
                app::alerts::ExperimentSignal::SampleRatio => {
                    format!("sample_ratio_p(experiment {experiment})")
                }
            };
        }
    };
    let name = app::query::Aggregation::NAMES
        .iter()
        .find(|(_, a)| a == aggregation)
        .map_or_else(
            || format!("{aggregation:?}"),
            |(name, _)| (*name).to_owned(),
        );
    let by = if group_by.is_empty() {
        String::new()
    } else {
        format!(" by ({})", group_by.join(", "))
    };
    let change = if *measure == Measure::Change {
        " change"
    } else {
        ""
    };
    format!("{name}{change}({selector}[{}]){by}", window(window_ms))
}

/// How often a window-based instance is looked at again without new data: a twentieth of the
/// window, between one second and a minute.
fn recheck_ms(window_ms: i64) -> i64 {
    (window_ms / 20).clamp(1_000, 60_000)
}

/// Reads what `compiled` sees at `now_ms`.
pub async fn observe(context: &Context, compiled: &Compiled, now_ms: i64) -> Observed {
    let rule = &compiled.rule;
    let Source::Metric {
        aggregation,
        window_ms,
        group_by,
        measure,
        ..
    } = &rule.source
    else {
        let values = super::analytics::values(&context.store, rule, now_ms).await;
        return observed(values.map(|values| {
            values
                .into_iter()
                .map(|(labels, value)| (labels, value, None))
                .collect()
        }));
    };
    let read = async {
        // Only the owner hears of new series (a deadline may have another process evaluate
        // the rule): anyone else resolves them afresh.
        let owned = compiled.owned(&context.members, &context.consumer);
        let resolved = match compiled.known_series() {
            (Some(known), _) if owned => known,
            (_, mark) => {
                let resolved = std::sync::Arc::new(
                    context
                        .catalog
                        .resolve(&context.store, &compiled.selector, *aggregation)
                        .await?,
                );
                if owned {
                    compiled.keep_series(resolved.clone(), mark);
                }
                resolved
            }
        };
        if let Condition::Absent { after_ms, .. } = rule.condition {
            // Any sample counts, whatever its value: count them.
            let values = context
                .store
                .window_values(
                    &resolved,
                    app::query::Aggregation::Count,
                    group_by,
                    (now_ms - after_ms, now_ms + 1),
                    now_ms,
                )
                .await?;
            return Ok::<_, QueryError>(
                values
                    .into_iter()
                    .map(|group| {
                        let silent_for = group
                            .last_ts
                            .map_or(after_ms, |last| (now_ms - last).max(0));
                        (
                            group.labels,
                            Some(silent_for as f64 / 1000.0),
                            group.last_ts,
                        )
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let now = context
            .store
            .window_values(
                &resolved,
                *aggregation,
                group_by,
                (now_ms - window_ms, now_ms + 1),
                now_ms,
            )
            .await?;
        let values: Vec<(Labels, Option<f64>, Option<i64>)> = match measure {
            Measure::Value => now
                .into_iter()
                .map(|g| (g.labels, g.value, g.last_ts))
                .collect(),
            Measure::Change => {
                let before: HashMap<BTreeMap<String, String>, Option<f64>> = context
                    .store
                    .window_values(
                        &resolved,
                        *aggregation,
                        group_by,
                        (now_ms - 2 * window_ms, now_ms - window_ms),
                        now_ms,
                    )
                    .await?
                    .into_iter()
                    .map(|GroupValue { labels, value, .. }| (labels, value))
                    .collect();
                now.into_iter()
                    .map(|g| {
                        let change = match (g.value, before.get(&g.labels).copied().flatten()) {
                            (Some(now), Some(before)) => Some(now - before),
                            _ => None,
                        };
                        (g.labels, change, g.last_ts)
                    })
                    .collect()
            }
        };
        Ok(values)
    };
    observed(read.await.map_err(|error| error.to_string()))
}

/// A group's labels, its value (none: no data) and when its newest sample was taken.
type GroupRead = (Labels, Option<f64>, Option<i64>);

/// What an evaluation saw: a value per group, or why nothing could be read.
fn observed(read: Result<Vec<GroupRead>, String>) -> Observed {
    match read {
        Err(error) => Observed {
            groups: BTreeMap::new(),
            everything: Some(Observation::Error(error)),
        },
        Ok(values) => {
            let groups: BTreeMap<_, _> = values
                .into_iter()
                .filter_map(|(labels, value, last_ts)| {
                    let value = value?;
                    Some((
                        group_field(&labels),
                        Seen {
                            labels,
                            observation: Observation::Value(value),
                            last_ts,
                        },
                    ))
                })
                .collect();
            Observed {
                everything: groups.is_empty().then_some(Observation::NoData),
                groups,
            }
        }
    }
}

/// The labels of an alert: its group's, the rule's, `alertname` and `severity`.
#[must_use]
pub fn alert_labels(
    rule: &Rule,
    group: &BTreeMap<String, String>,
    instance: &Instance,
) -> BTreeMap<String, String> {
    let mut labels = group.clone();
    labels.extend(rule.labels.clone());
    labels.insert("alertname".to_owned(), rule.name.clone());
    if let Some(severity) = instance.severity {
        labels.insert("severity".to_owned(), severity.name().to_owned());
    }
    labels
}

/// What one group comes to: the decision, and what to write.
struct Plan {
    decision: Decision,
    /// Remove the instance after this step (its series went away, and it is normal).
    remove: bool,
    deadline: Option<i64>,
}

/// Decides one group.
fn decide(
    rule: &Rule,
    stored: Option<&StoredInstance>,
    observation: Option<&Seen>,
    everything: Option<&Observation>,
    now_ms: i64,
) -> Plan {
    let previous = stored.map(|s| s.instance).unwrap_or_default();
    let (decision, gone) = match (observation, everything) {
        (Some(seen), _) => (
            machine::step(rule, &previous, &seen.observation, now_ms),
            false,
        ),
        (None, Some(everything)) => (machine::step(rule, &previous, everything, now_ms), false),
        // Its series went away while others remain: it resolves and goes with them.
        (None, None) => {
            let mut gone = rule.clone();
            gone.no_data = Handling::Normal;
            (
                machine::step(&gone, &previous, &Observation::NoData, now_ms),
                true,
            )
        }
    };
    let mut deadline = decision.deadline_ms;
    // Analytics values move with time too (a funnel's window), and experiments are looked at
    // again now and then whatever they show.
    let window_driven = matches!(
        rule.condition,
        Condition::Below { .. } | Condition::Outside { .. }
    ) || decision.next.state != State::Normal
        || rule.source.is_analytics();
    match (&rule.condition, observation) {
        // Absent: look again when the newest sample will be `after` old.
        (
            Condition::Absent { after_ms, .. },
            Some(Seen {
                last_ts: Some(last),
                ..
            }),
        ) => {
            let at = last + after_ms;
            if at > now_ms {
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
        }
        (Condition::Absent { .. }, _) => {}
        // Values that can change with time alone (the window moves on): looked at again.
        (_, Some(_)) if window_driven => {
            let at = now_ms
                + match rule.source {
                    Source::Experiment { .. } => app::alerts::rule::EXPERIMENT_RECHECK_MS,
                    _ => recheck_ms(rule.source.window_ms()),
                };
            deadline = Some(deadline.map_or(at, |d| d.min(at)));
        }
        _ => {}
    }
    let remove = gone && decision.next.state == State::Normal;
    Plan {
        decision,
        remove,
        deadline,
    }
}

/// Evaluates `compiled` now and writes what changed.
///
/// The instances are read before the window, and every write is a compare-and-set on the
/// version read: a transition is thus always decided from data read after the state it
/// leaves. When another process wrote meanwhile, the whole evaluation is done again.
///
/// # Errors
/// Redis failed.
pub async fn evaluate(context: &Context, compiled: &Compiled) -> Result<(), AlertError> {
    let rule = &compiled.rule;
    for _ in 0..ATTEMPTS {
        let stored = context.store.instances(&rule.id).await?;
        let now_ms = app::clock::now_ms();
        let observed = observe(context, compiled, now_ms).await;
        let mut fields: Vec<&String> = observed.groups.keys().collect();
        fields.extend(stored.keys().filter(|f| !observed.groups.contains_key(*f)));
        let nothing = group_field(&BTreeMap::new());
        // An empty result with nothing stored: the rule's handling may make one instance of
        // no group.
        if fields.is_empty() && observed.everything.is_some() {
            fields.push(&nothing);
        }
        let mut moved = false;
        // Every instance normal with nothing due, and the query answered.
        let mut quiet = observed.everything.is_none();
        for field in fields {
            let current = stored.get(field);
            let observation = observed.groups.get(field);
            let plan = decide(
                rule,
                current,
                observation,
                observed.everything.as_ref(),
                now_ms,
            );
            quiet &= plan.decision.next.state == State::Normal && plan.deadline.is_none();
            if !write(context, rule, field, current, observation, &plan, now_ms).await? {
                moved = true;
            }
        }
        if !moved {
            compiled.found_quiet(quiet, now_ms);
            return Ok(());
        }
    }
    compiled.found_quiet(false, 0);
    tracing::warn!(rule = %rule.id, "alert instances kept changing under this evaluation; left to the next");
    Ok(())
}

/// Writes one group's plan if there is anything to write; false when its version moved.
async fn write(
    context: &Context,
    rule: &Rule,
    field: &str,
    current: Option<&StoredInstance>,
    observation: Option<&Seen>,
    plan: &Plan,
    now_ms: i64,
) -> Result<bool, AlertError> {
    let decision = &plan.decision;
    let stored_deadline = current.and_then(|c| c.deadline_ms);
    // A deadline already due sooner (and not past) stands: it will look again anyway.
    let deadline_changes = match (plan.deadline, stored_deadline) {
        (None, None) => false,
        (Some(new), Some(old)) => !(old > now_ms && old <= new),
        _ => true,
    };
    let exists = current.is_some();
    // Once made, an instance stays (normal or not) until its series go: its version must
    // never start again from nothing while another process may still hold an old read.
    if decision.transition.is_none() && !deadline_changes && !(exists && plan.remove) {
        return Ok(true);
    }
    let labels = current
        .map(|c| c.labels.clone())
        .or_else(|| observation.map(|seen| seen.labels.clone()))
        .unwrap_or_default();
    let version = current.map_or(0, |c| c.version);
    let next = StoredInstance {
        version: version + 1,
        transitions: current.map_or(0, |c| c.transitions)
            + u64::from(decision.transition.is_some()),
        labels: labels.clone(),
        instance: decision.next,
        deadline_ms: if deadline_changes {
            plan.deadline
        } else {
            stored_deadline
        },
    };
    let alert_labels = alert_labels(rule, &labels, &decision.next);
    let history = decision.transition.map(|transition| {
        serde_json::to_string(&HistoryEntry {
            id: String::new(),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            labels: alert_labels.clone(),
            at_ms: transition.at_ms,
            from: transition.from,
            to: transition.to,
            severity: decision
                .next
                .severity
                .or(current.and_then(|c| c.instance.severity)),
            value: decision.next.value,
            query: query_text(rule),
            notified: decision.notice.map(|n| notice_name(n).to_owned()),
        })
        .unwrap_or_default()
    });
    let notifications = match decision.notice {
        Some(notice) => notifications(context, rule, field, &next, current, notice, &alert_labels),
        None => Vec::new(),
    };
    let remove = plan.remove;
    let write = TransitionWrite {
        rule_id: &rule.id,
        group: field,
        expected_version: version,
        next: (!remove).then_some(&next),
        history,
        deadline: if remove {
            Some(None)
        } else if deadline_changes {
            Some(plan.deadline)
        } else {
            None
        },
        notifications,
        history_kept_from_ms: now_ms - context.settings.history_retention_ms,
    };
    let applied = context.store.write_transition(&write).await?;
    if applied && let Some(transition) = decision.transition {
        super::state_series::record(
            &context.writer,
            rule,
            &labels,
            transition.to,
            transition.at_ms,
        )
        .await;
    }
    Ok(applied)
}

fn notice_name(notice: Notice) -> &'static str {
    match notice {
        Notice::Firing => "firing",
        Notice::Resolved => "resolved",
    }
}

/// What receivers are told of `next` (the instance after the transition, `current` before
/// it), for no contact point yet.
#[must_use]
pub fn queued(
    rule: &Rule,
    field: &str,
    next: &StoredInstance,
    current: Option<&StoredInstance>,
    notice: Notice,
    labels: &BTreeMap<String, String>,
) -> Queued {
    let instance = &next.instance;
    // A resolved alert is told with the labels (severity) it fired with.
    let mut labels = labels.clone();
    if notice == Notice::Resolved
        && let Some(severity) = current.and_then(|c| c.instance.severity)
    {
        labels.insert("severity".to_owned(), severity.name().to_owned());
    }
    let severity = labels.get("severity").cloned().unwrap_or_default();
    let template_context = TemplateContext {
        labels: &labels,
        value: instance.value,
        severity: &severity,
        state: instance.state.name(),
    };
    let mut annotations = BTreeMap::new();
    for (name, text) in [
        ("summary", &rule.summary),
        ("description", &rule.description),
    ] {
        if !text.is_empty() {
            annotations.insert(name.to_owned(), template::render(text, &template_context));
        }
    }
    let starts_at_ms = instance
        .active_since_ms
        .or(current.and_then(|c| c.instance.active_since_ms))
        .unwrap_or(instance.since_ms);
    Queued {
        contact: String::new(),
        rule_id: rule.id.clone(),
        rule_name: rule.name.clone(),
        group: field.to_owned(),
        transitions: next.transitions,
        status: notice,
        labels,
        annotations,
        starts_at_ms,
        ends_at_ms: (notice == Notice::Resolved).then_some(instance.since_ms),
        value: instance.value,
        state: instance.state.name().to_owned(),
        dashboard: rule.dashboard.clone(),
        at_ms: instance.since_ms,
    }
}

/// One notification per contact point of the rule (resolved ones only where wanted).
fn notifications(
    context: &Context,
    rule: &Rule,
    field: &str,
    next: &StoredInstance,
    current: Option<&StoredInstance>,
    notice: Notice,
    labels: &BTreeMap<String, String>,
) -> Vec<String> {
    let snapshot = context.rules.snapshot();
    let template = queued(rule, field, next, current, notice, labels);
    rule.contact_points
        .iter()
        .filter(|name| {
            snapshot
                .config
                .contacts
                .get(*name)
                .is_none_or(|contact| notice == Notice::Firing || contact.send_resolved)
        })
        .map(|name| {
            serde_json::to_string(&Queued {
                contact: name.clone(),
                ..template.clone()
            })
            .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recheck_is_a_twentieth_of_the_window_within_bounds() {
        assert_eq!(recheck_ms(5_000), 1_000);
        assert_eq!(recheck_ms(300_000), 15_000);
        assert_eq!(recheck_ms(86_400_000), 60_000);
    }

    #[test]
    fn group_fields_are_stable() {
        let a = BTreeMap::from([
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]);
        assert_eq!(group_field(&a), r#"{"a":"1","b":"2"}"#);
        assert_eq!(group_field(&BTreeMap::new()), "{}");
    }
}
