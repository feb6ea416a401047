//! A rule's preview before it is saved: its query evaluated at every step of the last hours
//! (read from the rollups once), and its state machine replayed over those values, per
//! instance: when it would have fired and resolved, and how many notifications it would have
//! sent. A funnel rule is replayed over its conversion by minute; an experiment rule, whose
//! p-values are not kept over time, is shown on its values now.

use app::alerts::api::{Preview, PreviewInstance, PreviewRequest};
use app::alerts::replay::replay;
use app::alerts::{Condition, Measure, Source};

use crate::storage::Store;
use crate::storage::alerts::AlertError;
use crate::storage::query::GroupSeries;

/// Evaluations in a preview, about.
const EVALUATIONS: i64 = 720;
/// Hours a preview covers unless asked otherwise, and at most.
const DEFAULT_HOURS: u32 = 6;
const MAX_HOURS: u32 = 168;

/// A group's values at each evaluation time (`None`: no data then).
type Timeline = Vec<(i64, Option<f64>)>;

/// Replays `request.rule` over the hours before `now_ms`.
///
/// # Errors
/// The rule is invalid, its query cannot run, or storage failed.
pub async fn preview(
    store: &Store,
    request: &PreviewRequest,
    now_ms: i64,
) -> Result<Preview, AlertError> {
    let rule = &request.rule;
    rule.validate()?;
    let hours = request.hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(app::alerts::RuleError {
            field: "hours".into(),
            reason: format!("{hours} must be between 1 and {MAX_HOURS}"),
        }
        .into());
    }
    let span = i64::from(hours) * 3_600_000;
    let every = (span / EVALUATIONS).max(1_000);
    let to = now_ms;
    let from = to - span;
    if rule.source.is_analytics() {
        return analytics_preview(store, rule, (from, to, every)).await;
    }
    let selector = rule.source.selector()?;
    let Source::Metric {
        aggregation,
        window_ms,
        group_by,
        measure,
        ..
    } = &rule.source
    else {
        return Err(AlertError::Invalid(app::alerts::RuleError {
            field: "source.kind".into(),
            reason: "not a metric rule".into(),
        }));
    };
    let resolved = store.resolve(&selector, *aggregation).await?;
    let series: Vec<(GroupSeries, Timeline)> = match rule.condition {
        Condition::Absent { after_ms, .. } => store
            .window_series(
                &resolved,
                app::query::Aggregation::Count,
                group_by,
                (from, to, every),
                after_ms,
                now_ms,
            )
            .await?
            .into_iter()
            .map(|group| {
                let values = group
                    .values
                    .iter()
                    .map(|(t, _, last)| {
                        let silent = last.map_or(after_ms, |last| (t - last).max(0));
                        (*t, Some(silent as f64 / 1000.0))
                    })
                    .collect();
                (group, values)
            })
            .collect(),
        _ => {
            let now = store
                .window_series(
                    &resolved,
                    *aggregation,
                    group_by,
                    (from, to, every),
                    *window_ms,
                    now_ms,
                )
                .await?;
            let before = if *measure == Measure::Change {
                Some(
                    store
                        .window_series(
                            &resolved,
                            *aggregation,
                            group_by,
                            (from - window_ms, to - window_ms, every),
                            *window_ms,
                            now_ms,
                        )
                        .await?,
                )
            } else {
                None
            };
            now.into_iter()
                .map(|group| {
                    let earlier = before
                        .as_ref()
                        .and_then(|before| before.iter().find(|b| b.labels == group.labels));
                    let values = group
                        .values
                        .iter()
                        .enumerate()
                        .map(|(index, (t, value, _))| {
                            let value = match earlier {
                                None => *value,
                                Some(earlier) => match (value, earlier.values.get(index)) {
                                    (Some(now), Some((_, Some(then), _))) => Some(now - then),
                                    _ => None,
                                },
                            };
                            (*t, value)
                        })
                        .collect();
                    (group, values)
                })
                .collect()
        }
    };
    let instances = series
        .into_iter()
        .map(|(group, values)| (group.labels, values))
        .collect();
    Ok(summed(rule, (from, to, every), instances, None))
}

/// A funnel rule replayed over its conversion at every step of the span (from its flow by
/// minute); an experiment rule, whose p-values are not kept over time, shown as it is now.
async fn analytics_preview(
    store: &Store,
    rule: &app::alerts::Rule,
    (from, to, every): (i64, i64, i64),
) -> Result<Preview, AlertError> {
    let refuse = |reason: String| {
        AlertError::Invalid(app::alerts::RuleError {
            field: "source".into(),
            reason,
        })
    };
    let times: Vec<i64> = (0..)
        .map(|index| from + index * every)
        .take_while(|at| *at <= to)
        .collect();
    if let Some(timeline) = super::analytics::funnel_timeline(store, rule, &times)
        .await
        .map_err(refuse)?
    {
        let labels = match &rule.source {
            Source::Funnel { funnel, .. } => {
                std::collections::BTreeMap::from([("funnel".to_owned(), funnel.clone())])
            }
            _ => std::collections::BTreeMap::new(),
        };
        return Ok(summed(
            rule,
            (from, to, every),
            vec![(labels, timeline)],
            None,
        ));
    }
    let now = super::analytics::values(store, rule, to)
        .await
        .map_err(refuse)?;
    let instances = now
        .into_iter()
        .map(|(labels, value)| (labels, vec![(to, value)]))
        .collect();
    let note = "An experiment's p-values are not kept over time: this is the rule on its \
                values now.";
    Ok(summed(
        rule,
        (from, to, every),
        instances,
        Some(note.to_owned()),
    ))
}

/// The preview of `rule` over the timelines of its groups.
fn summed(
    rule: &app::alerts::Rule,
    (from, to, every): (i64, i64, i64),
    timelines: Vec<(std::collections::BTreeMap<String, String>, Timeline)>,
    note: Option<String>,
) -> Preview {
    let mut instances: Vec<PreviewInstance> = timelines
        .into_iter()
        .map(|(labels, values)| PreviewInstance {
            points: values
                .iter()
                .filter_map(|(t, v)| v.map(|v| (*t, v)))
                .collect(),
            replayed: replay(rule, &values),
            labels,
        })
        .collect();
    // Those that would have fired first.
    instances.sort_by(|a, b| {
        b.replayed
            .notifications
            .cmp(&a.replayed.notifications)
            .then(a.labels.cmp(&b.labels))
    });
    Preview {
        from,
        to,
        step_ms: every,
        notifications: instances.iter().map(|i| i.replayed.notifications).sum(),
        instances,
        note,
    }
}
