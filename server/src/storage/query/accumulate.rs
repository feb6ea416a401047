//! What one step of one line accumulates while series are read, and the value it gives.

use app::model::MetricKind;
use app::query::Aggregation;

use super::codec::Bucket;
use crate::storage::plan::Plan;
use crate::storage::sketch::Sketch;

/// What one step of one line accumulates.
#[derive(Clone, Debug, Default)]
pub(super) struct Accumulator {
    /// The buckets folded together so far (a zero count: none yet).
    summary: Bucket,
    /// Sum over the merged series of each one's latest value (a group's counter total).
    lasts_sum: f64,
    /// What only quantiles and unique counts need, allocated only for them.
    pub(super) extra: Option<Box<Extra>>,
}

/// The parts of an accumulator that most aggregations never touch.
#[derive(Clone, Debug, Default)]
pub(super) struct Extra {
    /// Raw values, kept for exact quantiles on the raw tier.
    pub(super) exact: Vec<f64>,
    pub(super) sketch: Sketch,
    /// HyperLogLog keys to union (sets).
    pub(super) hll_keys: Vec<String>,
}

impl Accumulator {
    pub(super) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    fn has_sets(&self) -> bool {
        self.extra
            .as_ref()
            .is_some_and(|extra| !extra.hll_keys.is_empty())
    }
}

impl Accumulator {
    /// Adds a bucket of the same series.
    pub(super) fn add_bucket(&mut self, bucket: &Bucket) {
        if self.summary.merge(bucket) {
            self.lasts_sum = bucket.last;
        }
    }

    /// Adds another series' accumulator of the same step.
    pub(super) fn merge_series(&mut self, other: &Accumulator) {
        let had = self.summary.count > 0 || self.has_sets();
        if other.summary.count > 0 {
            self.summary.merge(&other.summary);
        }
        self.lasts_sum = if had {
            self.lasts_sum + other.lasts_sum
        } else {
            other.lasts_sum
        };
        if let Some(theirs) = &other.extra {
            let mine = self.extra();
            mine.exact.extend_from_slice(&theirs.exact);
            mine.sketch.merge(&theirs.sketch);
            mine.hll_keys.extend(theirs.hll_keys.iter().cloned());
        }
    }

    /// Adds a later (or earlier) step of the same series: as one bucket over both.
    pub(super) fn merge_time(&mut self, other: &Accumulator) {
        if other.summary.count > 0 && self.summary.merge(&other.summary) {
            self.lasts_sum = other.lasts_sum;
        }
        if let Some(theirs) = &other.extra {
            let mine = self.extra();
            mine.exact.extend_from_slice(&theirs.exact);
            mine.sketch.merge(&theirs.sketch);
            mine.hll_keys.extend(theirs.hll_keys.iter().cloned());
        }
    }

    /// When the newest value folded in was taken, if any.
    pub(super) fn last_ts(&self) -> Option<i64> {
        (self.summary.count > 0).then_some(self.summary.last_ts)
    }

    pub(super) fn finish(
        &self,
        aggregation: Aggregation,
        kind: MetricKind,
        seconds: f64,
    ) -> Option<f64> {
        let summary = &self.summary;
        if summary.count == 0 {
            return None;
        }
        Some(match aggregation {
            Aggregation::Avg => summary.sum / summary.count as f64,
            Aggregation::Min => summary.min,
            Aggregation::Max => summary.max,
            Aggregation::Sum => summary.sum,
            Aggregation::Count => summary.count as f64,
            Aggregation::Last if kind == MetricKind::Counter => self.lasts_sum,
            Aggregation::Last => summary.last,
            Aggregation::Rate => summary.sum / seconds.max(0.001),
            Aggregation::Quantile { q } => match &self.extra {
                Some(extra) if !extra.exact.is_empty() => exact_quantile(&extra.exact, q),
                Some(extra) => extra.sketch.quantile(q)?,
                None => return None,
            },
            Aggregation::Unique => return None,
        })
    }
}

/// The accumulators of one line, one slot per step from the plan's first step.
#[derive(Debug)]
pub(super) struct Steps {
    from: i64,
    step_ms: i64,
    slots: Vec<Accumulator>,
}

impl Steps {
    pub(super) fn new(plan: &Plan) -> Self {
        Self {
            from: plan.from,
            step_ms: plan.step_ms,
            slots: Vec::new(),
        }
    }

    /// The accumulator of the step holding `ts` (which is at or after the plan's start).
    pub(super) fn at(&mut self, ts: i64) -> &mut Accumulator {
        let index = usize::try_from((ts - self.from).div_euclid(self.step_ms)).unwrap_or(0);
        if index >= self.slots.len() {
            self.slots.resize_with(index + 1, Accumulator::default);
        }
        &mut self.slots[index]
    }

    /// One step `[from, from + step_ms)` holding `accumulator`.
    pub(super) fn single(from: i64, step_ms: i64, accumulator: Accumulator) -> Self {
        Self {
            from,
            step_ms,
            slots: vec![accumulator],
        }
    }

    /// Steps of `step_ms` from `from`, one per accumulator.
    pub(super) fn from_slots(from: i64, step_ms: i64, slots: Vec<Accumulator>) -> Self {
        Self {
            from,
            step_ms,
            slots,
        }
    }

    /// The steps that start in `[from, to)` folded into one accumulator.
    pub(super) fn fold_range(&self, from: i64, to: i64) -> Accumulator {
        let mut folded = Accumulator::default();
        let first =
            usize::try_from((from - self.from).div_euclid(self.step_ms).max(0)).unwrap_or(0);
        for (index, accumulator) in self.slots.iter().enumerate().skip(first) {
            let start = self.from + index as i64 * self.step_ms;
            if start >= to {
                break;
            }
            if start >= from {
                folded.merge_time(accumulator);
            }
        }
        folded
    }

    /// All its steps folded into one accumulator.
    pub(super) fn fold(&self) -> Accumulator {
        let mut folded = Accumulator::default();
        for (_, accumulator) in self.iter() {
            folded.merge_time(accumulator);
        }
        folded
    }

    /// Steps that hold data, with their start.
    pub(super) fn iter(&self) -> impl Iterator<Item = (i64, &Accumulator)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, accumulator)| accumulator.summary.count > 0 || accumulator.has_sets())
            .map(|(index, accumulator)| (self.from + index as i64 * self.step_ms, accumulator))
    }
}

/// The lower-rank quantile, `floor(q (n - 1))`, as the sketch uses.
fn exact_quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).floor() as usize]
}
