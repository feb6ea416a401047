//! What rules over product analytics see: a funnel's conversion over its window (or its
//! change against the same window a week earlier), from the funnel's flow by minute; an
//! experiment's always-valid p-values per variant, or the p-value of its sample ratio, from its
//! report. And, for a preview, a funnel's conversion at every step of the past hours.

use std::collections::BTreeMap;

use app::alerts::{Compare, ExperimentSignal, Rule, Source};
use app::analytics::sample_ratio_p_value;

use crate::storage::Store;
use crate::storage::events::{AnalyticsError, conversion};

/// A week, ms: what a funnel rule compares with.
pub const WEEK_MS: i64 = 7 * 86_400_000;

/// Label names to values.
type Labels = BTreeMap<String, String>;

/// Why a funnel or experiment rule cannot be evaluated, as its error state says.
fn reason(error: AnalyticsError) -> String {
    error.to_string()
}

/// The funnel a rule watches, checked against the rule's step.
///
/// # Errors
/// It does not exist (any more), or has no such step: the rule's field at fault, and why.
pub async fn funnel_of(
    store: &Store,
    id: &str,
    step: Option<usize>,
) -> Result<app::events::Funnel, (&'static str, String)> {
    let funnel = store
        .funnel(id)
        .await
        .map_err(|error| ("source.funnel", reason(error)))?;
    if let Some(step) = step
        && step >= funnel.steps.len()
    {
        return Err((
            "source.step",
            format!(
                "the funnel {:?} has steps 1 to {} after its first: step {step} is not one",
                funnel.name,
                funnel.steps.len() - 1
            ),
        ));
    }
    Ok(funnel)
}

/// The value of each group of `rule` (a funnel or experiment rule) at `now_ms`.
///
/// # Errors
/// Its funnel or experiment is gone, or storage failed; the message says which.
pub async fn values(
    store: &Store,
    rule: &Rule,
    now_ms: i64,
) -> Result<Vec<(Labels, Option<f64>)>, String> {
    match &rule.source {
        Source::Metric { .. } => Ok(Vec::new()),
        Source::Funnel {
            funnel,
            step,
            window_ms,
            compare,
        } => {
            let definition = funnel_of(store, funnel, *step)
                .await
                .map_err(|(_, why)| why)?;
            let steps = definition.steps.len();
            let window = |end: i64| (end - window_ms, end + 1);
            let flow = store
                .funnel_flow(funnel, steps, window(now_ms))
                .await
                .map_err(|e| e.to_string())?;
            let now = conversion(&flow.reached(window(now_ms)), *step);
            let value = match compare {
                Compare::Value => now,
                Compare::WeekEarlier => {
                    let then_window = window(now_ms - WEEK_MS);
                    let then = store
                        .funnel_flow(funnel, steps, then_window)
                        .await
                        .map_err(|e| e.to_string())?;
                    change(now, conversion(&then.reached(then_window), *step))
                }
            };
            Ok(vec![(
                BTreeMap::from([("funnel".to_owned(), funnel.clone())]),
                value,
            )])
        }
        Source::Experiment { experiment, signal } => {
            let definition = store.experiment(experiment).await.map_err(reason)?;
            let weights = definition.weights();
            let report = store
                .experiment_report(definition)
                .await
                .map_err(|e| e.to_string())?;
            let labels = |variant: Option<&str>| {
                let mut labels = BTreeMap::from([("experiment".to_owned(), experiment.clone())]);
                if let Some(variant) = variant {
                    labels.insert("variant".to_owned(), variant.to_owned());
                }
                labels
            };
            Ok(match signal {
                ExperimentSignal::Significance => report
                    .rows
                    .iter()
                    .skip(1)
                    .map(|row| (labels(Some(&row.name)), row.always_valid_p_value))
                    .collect(),
                ExperimentSignal::SampleRatio => {
                    let users: Vec<u64> = report.rows.iter().map(|row| row.users).collect();
                    vec![(labels(None), sample_ratio_p_value(&users, &weights))]
                }
            })
        }
    }
}

/// A value's change against an earlier one, as a share of that; `None` without both, or when
/// the earlier one was 0.
#[must_use]
pub fn change(now: Option<f64>, then: Option<f64>) -> Option<f64> {
    let (now, then) = (now?, then?);
    (then != 0.0).then(|| now / then - 1.0)
}

/// A funnel rule's value at each of `times` (ms), read at once: its conversion over the window
/// ending then (or its change against a week before). `None` for other rules.
///
/// # Errors
/// Its funnel is gone, or storage failed.
pub async fn funnel_timeline(
    store: &Store,
    rule: &Rule,
    times: &[i64],
) -> Result<Option<Vec<(i64, Option<f64>)>>, String> {
    let Source::Funnel {
        funnel,
        step,
        window_ms,
        compare,
    } = &rule.source
    else {
        return Ok(None);
    };
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return Ok(Some(Vec::new()));
    };
    let steps = funnel_of(store, funnel, *step)
        .await
        .map_err(|(_, why)| why)?
        .steps
        .len();
    let read = |(from, to): (i64, i64)| store.funnel_flow(funnel, steps, (from, to));
    let span = (first - window_ms, last + 1);
    let flow = read(span).await.map_err(|e| e.to_string())?;
    let before = if *compare == Compare::WeekEarlier {
        Some(
            read((span.0 - WEEK_MS, span.1 - WEEK_MS))
                .await
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    Ok(Some(
        times
            .iter()
            .map(|&at| {
                let window = |end: i64| (end - window_ms, end + 1);
                let now = conversion(&flow.reached(window(at)), *step);
                let value = match &before {
                    None => now,
                    Some(before) => change(
                        now,
                        conversion(&before.reached(window(at - WEEK_MS)), *step),
                    ),
                };
                (at, value)
            })
            .collect(),
    ))
}
