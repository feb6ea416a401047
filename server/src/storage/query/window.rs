//! One value per group over a window `[from, to)`: what an alert rule evaluates; and the same
//! at every step of a past span, which its preview replays.
//!
//! The window is read at a fine step (raw points up to about an hour, then the finest rollup
//! whose buckets keep the window to a few thousand steps), each series' steps are folded into
//! one, and the series are combined per group as a query combines them per step. The window's
//! start is therefore rounded down to that step: one second for windows up to an hour. A
//! rule's window reads raw points from the end of their chunks only (see [`LATE_MS`]).

use std::collections::BTreeMap;

use app::query::{Aggregation, NAME_LABEL};

use super::accumulate::{Accumulator, Steps};
use super::error::QueryError;
use super::resolve::Resolved;
use crate::storage::Store;

/// Most steps a window is read in.
const WINDOW_STEPS: i64 = 3_600;
/// How late (behind newer points of the same series) a point may arrive and still be seen by
/// the evaluation of a window: raw points are read from their chunk's end back until one older
/// than the window's start by this, or by the window's length if longer.
const LATE_MS: i64 = 10_000;

/// The value of one group over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupValue {
    pub labels: BTreeMap<String, String>,
    /// `None` when its series hold no data in the window.
    pub value: Option<f64>,
    /// When its newest sample in the window was taken.
    pub last_ts: Option<i64>,
}

/// The labels of the group `key` falls in.
pub fn group_labels(key: &app::model::SeriesKey, group_by: &[String]) -> BTreeMap<String, String> {
    group_by
        .iter()
        .map(|label| {
            let value = if label == NAME_LABEL {
                key.name.clone()
            } else {
                key.labels.get(label).cloned().unwrap_or_default()
            };
            (label.clone(), value)
        })
        .collect()
}

/// One group's values at each evaluation time of a sliding window.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSeries {
    pub labels: BTreeMap<String, String>,
    /// `(time, value, newest sample's time)` at each evaluation time, `None` without data.
    pub values: Vec<(i64, Option<f64>, Option<i64>)>,
}

impl Store {
    /// Every series of `resolved` over `[from, to)` at `step_ms`, with the plan read by;
    /// raw points from the end of their chunks when `late_ms` is given.
    async fn read_all(
        &self,
        resolved: &Resolved,
        aggregation: Aggregation,
        (from, to, step_ms): (i64, i64, i64),
        now_ms: i64,
        late_ms: Option<i64>,
    ) -> Result<(crate::storage::plan::Plan, Vec<Steps>), QueryError> {
        let plan = self.planner(now_ms).plan(
            (from, to, Some(step_ms)),
            crate::storage::plan::Reading::of(aggregation),
            resolved.series.len(),
        )?;
        let per_series =
            futures::future::try_join_all(resolved.series.iter().map(|(id, _)| async {
                match late_ms {
                    Some(late_ms) => {
                        self.read_recent_series(id, &plan, aggregation, now_ms, late_ms)
                            .await
                    }
                    None => self.read_series(id, &plan, aggregation, now_ms).await,
                }
            }))
            .await?;
        Ok((plan, per_series))
    }

    /// Every group's value over the window `(t - window_ms, t]` at each `t` from `from` to
    /// `to` every `every_ms`: a rule's evaluations replayed over the past. Series are read
    /// once, at the finest step that keeps the read within the query limits.
    ///
    /// # Errors
    /// A bad range, a query over the limits, or storage failed.
    pub async fn window_series(
        &self,
        resolved: &Resolved,
        aggregation: Aggregation,
        group_by: &[String],
        (from, to, every_ms): (i64, i64, i64),
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<GroupSeries>, QueryError> {
        let read_from = from - window_ms;
        let span = to + 1 - read_from;
        let fine = (window_ms / 10)
            .max(span / 10_000)
            .max(1_000)
            .min(every_ms.max(1_000));
        let (plan, per_series) = self
            .read_all(
                resolved,
                aggregation,
                (read_from, to + 1, fine),
                now_ms,
                None,
            )
            .await?;
        let times: Vec<i64> = (0..)
            .map(|k| from + k * every_ms)
            .take_while(|t| *t <= to)
            .collect();
        let mut groups: BTreeMap<BTreeMap<String, String>, Vec<Accumulator>> = BTreeMap::new();
        for ((_, key), steps) in resolved.series.iter().zip(&per_series) {
            let group = groups
                .entry(group_labels(key, group_by))
                .or_insert_with(|| vec![Accumulator::default(); times.len()]);
            for (slot, t) in group.iter_mut().zip(&times) {
                // The steps that overlap the window (its start rounded down to a step).
                let folded = steps.fold_range(t - window_ms - plan.step_ms + 1, t + 1);
                slot.merge_series(&folded);
            }
        }
        let seconds = (window_ms as f64 / 1000.0).max(0.001);
        let mut out = Vec::with_capacity(groups.len());
        for (labels, slots) in groups {
            let last_ts: Vec<Option<i64>> = slots.iter().map(Accumulator::last_ts).collect();
            let values: Vec<Option<f64>> = if matches!(aggregation, Aggregation::Unique) {
                let counts: BTreeMap<i64, f64> = self
                    .unique_counts(&Steps::from_slots(from, every_ms, slots))
                    .await?
                    .into_iter()
                    .collect();
                times.iter().map(|t| counts.get(t).copied()).collect()
            } else {
                slots
                    .iter()
                    .map(|slot| slot.finish(aggregation, resolved.kind, seconds))
                    .collect()
            };
            out.push(GroupSeries {
                labels,
                values: times
                    .iter()
                    .zip(values)
                    .zip(last_ts)
                    .map(|((t, value), last)| (*t, value, last))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Every group of `resolved` (by `group_by`; every series is in one) with its value over
    /// `[from, to)`, groups without data in the window included with no value.
    ///
    /// # Errors
    /// A bad range, a query over the limits, or storage failed.
    pub async fn window_values(
        &self,
        resolved: &Resolved,
        aggregation: Aggregation,
        group_by: &[String],
        (from, to): (i64, i64),
        now_ms: i64,
    ) -> Result<Vec<GroupValue>, QueryError> {
        let step = ((to - from) / WINDOW_STEPS).max(1_000);
        let late_ms = (to - from).max(LATE_MS);
        let (plan, per_series) = self
            .read_all(
                resolved,
                aggregation,
                (from, to, step),
                now_ms,
                Some(late_ms),
            )
            .await?;
        let mut groups: BTreeMap<BTreeMap<String, String>, Option<Accumulator>> = BTreeMap::new();
        for ((_, key), steps) in resolved.series.iter().zip(per_series) {
            let folded = steps.fold();
            let group = groups.entry(group_labels(key, group_by)).or_insert(None);
            let has_data = folded.last_ts().is_some()
                || folded
                    .extra
                    .as_ref()
                    .is_some_and(|e| !e.hll_keys.is_empty());
            if !has_data {
                continue;
            }
            match group {
                Some(accumulator) => accumulator.merge_series(&folded),
                None => *group = Some(folded),
            }
        }
        let seconds = ((to.min(now_ms) - from) as f64 / 1000.0).max(0.001);
        let mut values = Vec::with_capacity(groups.len());
        for (labels, accumulator) in groups {
            let Some(accumulator) = accumulator else {
                values.push(GroupValue {
                    labels,
                    value: None,
                    last_ts: None,
                });
                continue;
            };
            let last_ts = accumulator.last_ts();
            let value = if matches!(aggregation, Aggregation::Unique) {
                let single = Steps::single(plan.from, to - plan.from, accumulator);
                self.unique_counts(&single)
                    .await?
                    .first()
                    .map(|(_, count)| *count)
            } else {
                accumulator.finish(aggregation, resolved.kind, seconds)
            };
            values.push(GroupValue {
                labels,
                value,
                last_ts,
            });
        }
        Ok(values)
    }
}
