//! Query planning: which tier a query reads, at which step, over which part of its range, and
//! what that costs, all decided before anything is read.
//!
//! Every path that reads a range (the HTTP API, server functions, share links, live
//! subscriptions, analytics and heatmaps) plans here, so none reads or allocates more than
//! [`QueryLimits`] allow, whatever it is asked:
//! - times and durations from outside are checked against [`MAX_TIMESTAMP_MS`] and
//!   [`MAX_SPAN_MS`] first, so no arithmetic on them can overflow;
//! - the range is cut to what storage can hold: nothing is older than the tier's retention (plus
//!   one bucket) or newer than the clock skew ingest accepts, so a range of a billion years reads
//!   what five years of data would;
//! - the Redis keys the query reads and the points it holds (steps × series) are counted from the
//!   plan, the same way the readers walk it, and the query is refused when either is over its
//!   limit. Without a requested step, a coarser tier is tried first.
//!
//! What a planned query allocates is then bounded by [`Plan::bound`].

use std::ops::RangeInclusive;

use app::model::MAX_FUTURE_SKEW_MS;
use app::query::{Aggregation, TimeRange};
pub use app::query::{MAX_SPAN_MS, MAX_TIMESTAMP_MS};

use super::keys::{CHUNK_BUCKETS, RAW_CHUNK_MS};
use super::query::QueryError;
use crate::config::{Retention, TIERS};

/// Points per line when the query gives no step.
pub const DEFAULT_POINTS: i64 = 300;
/// Most points one line may have.
pub const MAX_POINTS: i64 = 11_000;

pub use crate::config::{DEFAULT_MAX_QUERY_KEYS, DEFAULT_MAX_QUERY_POINTS, QueryLimits};

/// Bytes of one rollup chunk at most: [`CHUNK_BUCKETS`] records of 48 bytes.
const ROLLUP_CHUNK_BYTES: usize = CHUNK_BUCKETS as usize * 48;
/// Bytes one step of one series holds while a query runs (its accumulator), at most; quantiles
/// and unique counts add their sketches and key names, counted per key read.
const STEP_BYTES: usize = 128;
/// Bytes one key read adds at most, besides its value: its name and bookkeeping.
const KEY_BYTES: usize = 160;

/// Checks the times and durations of a query's range, naming the parameter at fault as the
/// HTTP API does (`range`, `from`, `to`).
///
/// # Errors
/// A duration outside 1 ms ..= [`MAX_SPAN_MS`], a time beyond ±[`MAX_TIMESTAMP_MS`], or an
/// empty range.
pub fn check_range(range: TimeRange) -> Result<(), QueryError> {
    match range {
        TimeRange::Last { ms } => check_duration("range", ms),
        TimeRange::Absolute { from, to } => check_times(from, to),
    }
}

/// Checks `[from, to)`: both times within ±[`MAX_TIMESTAMP_MS`], `from` before `to`.
///
/// # Errors
/// The first parameter at fault.
pub fn check_times(from: i64, to: i64) -> Result<(), QueryError> {
    for (name, value) in [("from", from), ("to", to)] {
        if !(-MAX_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(&value) {
            return Err(QueryError::BadParameter {
                name,
                reason: format!(
                    "{value} is not a time livedash can store (ms since the Unix epoch, at most \
                     {MAX_TIMESTAMP_MS} either way)"
                ),
            });
        }
    }
    if to <= from {
        return Err(QueryError::BadParameter {
            name: "to",
            reason: format!("the range [{from}, {to}) is empty: `to` must be after `from`"),
        });
    }
    Ok(())
}

/// Checks a duration named `name`: 1 ms ..= [`MAX_SPAN_MS`].
///
/// # Errors
/// It is not positive or longer than 100 years.
pub fn check_duration(name: &'static str, ms: i64) -> Result<(), QueryError> {
    if (1..=MAX_SPAN_MS).contains(&ms) {
        Ok(())
    } else {
        Err(QueryError::BadParameter {
            name,
            reason: format!("{ms} ms must be positive and at most 100 years ({MAX_SPAN_MS} ms)"),
        })
    }
}

/// The tier and step a query reads at, and the part of its range that storage can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Index into [`TIERS`]; `None` is raw points.
    pub tier: Option<usize>,
    /// Step, ms: a whole number of the tier's buckets.
    pub step_ms: i64,
    /// First step's start (aligned to the step).
    pub from: i64,
    /// Where reading starts: in the first step, where what the tier keeps begins (a step of
    /// years would otherwise start reading decades before anything was kept).
    pub read_from: i64,
    /// End of the range (exclusive); `read_from >= to` when storage holds nothing of it.
    pub to: i64,
}

/// What a query costs at most, from its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Redis keys read, over every series.
    pub keys: usize,
    /// Steps × series held.
    pub points: usize,
    /// Bytes allocated at most, besides raw points (whose chunks hold what was written in ten
    /// minutes, however much that was).
    pub bytes: usize,
}

/// What a query reads per series, which decides the keys it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Buckets (or raw points) only.
    Buckets,
    /// Buckets and each bucket's sketch (quantiles; on the raw tier, the exact values).
    Sketches,
    /// Each bucket's sketch, from the rollups even for short steps (heatmaps).
    RollupSketches,
    /// Each bucket's HyperLogLog (unique counts).
    Sets,
}

impl Reading {
    /// What `aggregation` reads.
    #[must_use]
    pub fn of(aggregation: Aggregation) -> Self {
        match aggregation {
            Aggregation::Quantile { .. } => Self::Sketches,
            Aggregation::Unique => Self::Sets,
            _ => Self::Buckets,
        }
    }

    /// Whether only rollups hold what is read (raw points have no sketches or sets).
    fn needs_rollups(self) -> bool {
        matches!(self, Self::Sets | Self::RollupSketches)
    }
}

impl Plan {
    /// Whether nothing is read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read_from >= self.to
    }

    /// Steps of a line.
    #[must_use]
    pub fn steps(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            (self.to - self.from + self.step_ms - 1) / self.step_ms
        }
    }

    /// The tier's bucket indexes read (rollup tiers only; empty for raw points or an empty plan).
    #[must_use]
    pub fn buckets(&self) -> RangeInclusive<i64> {
        match self.tier {
            Some(index) if !self.is_empty() => {
                let width = TIERS[index].1;
                self.read_from.div_euclid(width)..=(self.to - 1).div_euclid(width)
            }
            _ => nothing(),
        }
    }

    /// The rollup chunks read.
    #[must_use]
    pub fn rollup_chunks(&self) -> RangeInclusive<i64> {
        let buckets = self.buckets();
        if buckets.is_empty() {
            return nothing();
        }
        buckets.start().div_euclid(CHUNK_BUCKETS)..=buckets.end().div_euclid(CHUNK_BUCKETS)
    }

    /// The raw chunks read (raw plans only).
    #[must_use]
    pub fn raw_chunks(&self) -> RangeInclusive<i64> {
        if self.tier.is_some() || self.is_empty() {
            return nothing();
        }
        self.read_from.div_euclid(RAW_CHUNK_MS)..=(self.to - 1).div_euclid(RAW_CHUNK_MS)
    }

    /// Keys read for one series, exactly as the readers walk the plan (an upper bound for
    /// sketches, of which only buckets with data are read).
    #[must_use]
    pub fn keys_per_series(&self, reading: Reading) -> usize {
        let count = |range: RangeInclusive<i64>| {
            if range.is_empty() {
                0
            } else {
                usize::try_from(range.end() - range.start() + 1).unwrap_or(usize::MAX)
            }
        };
        if self.is_empty() {
            return 0;
        }
        if self.tier.is_none() {
            return count(self.raw_chunks());
        }
        let buckets = count(self.buckets());
        match reading {
            Reading::Sets => buckets,
            // The chunks and the open bucket (one field of the series' meta hash).
            Reading::Buckets => count(self.rollup_chunks()) + 1,
            Reading::Sketches | Reading::RollupSketches => {
                count(self.rollup_chunks()) + 1 + buckets
            }
        }
    }

    /// What the plan costs over `series` series.
    #[must_use]
    pub fn bound(&self, reading: Reading, series: usize) -> Bound {
        let keys = self.keys_per_series(reading).saturating_mul(series);
        let points = usize::try_from(self.steps())
            .unwrap_or(usize::MAX)
            .saturating_mul(series);
        let value_bytes = match (self.tier, reading) {
            (None, _) => 0,
            (Some(_), Reading::Sets) => 0,
            (Some(_), Reading::Buckets) => ROLLUP_CHUNK_BYTES,
            // A sketch holds at most `sketch::MAX_BINS` bins of a name and a count.
            (Some(_), Reading::Sketches | Reading::RollupSketches) => super::sketch::MAX_BINS * 48,
        };
        Bound {
            keys,
            points,
            bytes: keys
                .saturating_mul(KEY_BYTES + value_bytes)
                .saturating_add(points.saturating_mul(STEP_BYTES)),
        }
    }
}

/// An empty range of indexes (nothing to read).
fn nothing() -> RangeInclusive<i64> {
    RangeInclusive::new(1, 0)
}

/// Plans queries at one moment, against what storage keeps and what a query may cost.
#[derive(Clone, Copy, Debug)]
pub struct Planner {
    /// The time the query runs at.
    pub now_ms: i64,
    /// How long each tier keeps data.
    pub retention: Retention,
    /// Most keys and points per query.
    pub limits: QueryLimits,
}

impl Planner {
    /// Picks the tier and step for `[from, to)` with a requested step (or the default), cuts
    /// the range to what the tier keeps, and checks the cost of reading `series` series.
    ///
    /// # Errors
    /// A time or step out of bounds, an empty range, more than [`MAX_POINTS`] points per line,
    /// or more keys or points than [`QueryLimits`] allow.
    pub fn plan(
        &self,
        (from, to, step_ms): (i64, i64, Option<i64>),
        reading: Reading,
        series: usize,
    ) -> Result<Plan, QueryError> {
        check_times(from, to)?;
        if let Some(step) = step_ms {
            check_duration("step", step)?;
        }
        // Both within ±MAX_TIMESTAMP_MS, so the difference fits.
        let requested = step_ms.unwrap_or_else(|| ((to - from) / DEFAULT_POINTS).max(1));
        let mut tier = TIERS.iter().rposition(|(_, width)| *width <= requested);
        if tier.is_none() && reading.needs_rollups() {
            tier = Some(0);
        }
        loop {
            let plan = self.cut(from, to, requested, tier);
            let steps = plan.steps();
            if steps > MAX_POINTS {
                return Err(QueryError::BadRange(format!(
                    "{steps} points; a line has at most {MAX_POINTS}: use a larger step or a \
                     shorter range"
                )));
            }
            let bound = plan.bound(reading, series);
            if bound.keys <= self.limits.max_keys && bound.points <= self.limits.max_points {
                return Ok(plan);
            }
            // Without a requested step, a coarser tier reads fewer keys for the same picture.
            let coarser = tier.map_or(0, |index| index + 1);
            if step_ms.is_none() && coarser < TIERS.len() {
                tier = Some(coarser);
                continue;
            }
            return Err(if bound.keys > self.limits.max_keys {
                QueryError::OverLimit(format!(
                    "the query would read {} Redis keys ({series} series × {}); a query reads at \
                     most {} (LIVEDASH_QUERY_MAX_KEYS): use a larger step, a shorter range or \
                     fewer series",
                    bound.keys,
                    plan.keys_per_series(reading),
                    self.limits.max_keys
                ))
            } else {
                QueryError::OverLimit(format!(
                    "the query would hold {} points ({series} series × {steps} steps); a query \
                     holds at most {} (LIVEDASH_QUERY_MAX_POINTS): use a larger step, a shorter \
                     range or fewer series",
                    bound.points, self.limits.max_points
                ))
            });
        }
    }

    /// The plan at `tier` for a requested step: the step rounded up to whole buckets, the range
    /// cut to what the tier keeps (from its retention to the accepted clock skew).
    fn cut(&self, from: i64, to: i64, requested: i64, tier: Option<usize>) -> Plan {
        let (width, kept_ms) = match tier {
            Some(index) => (TIERS[index].1, self.retention.tiers_ms[index]),
            None => (1, self.retention.raw_ms),
        };
        // requested <= MAX_SPAN_MS and width <= a day: no overflow.
        let step_ms = (requested + width - 1) / width * width;
        let oldest = self.now_ms - kept_ms - width;
        let newest = self.now_ms + MAX_FUTURE_SKEW_MS + 1;
        let to = to.min(newest);
        let from = from.max(oldest);
        if from >= to {
            return Plan {
                tier,
                step_ms,
                from: to,
                read_from: to,
                to,
            };
        }
        let first_step = from - from.rem_euclid(step_ms);
        Plan {
            tier,
            step_ms,
            from: first_step,
            // Never before what the tier keeps, in whole buckets.
            read_from: first_step.max(oldest - oldest.rem_euclid(width)),
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// A fixed "now" (2026-12-06), so the plans are reproducible.
    const NOW: i64 = 1_796_515_200_000;

    fn planner() -> Planner {
        Planner {
            now_ms: NOW,
            retention: Retention::default(),
            limits: QueryLimits::default(),
        }
    }

    fn plan(from: i64, to: i64, step: Option<i64>, reading: Reading) -> Result<Plan, QueryError> {
        planner().plan((from, to, step), reading, 1)
    }

    /// The tier is the coarsest that fits the step, and the step becomes whole buckets.
    #[test]
    fn plans() {
        let start = NOW - 24 * HOUR;
        let p = plan(start, NOW, Some(60_000), Reading::Buckets).unwrap();
        assert_eq!((p.tier, p.step_ms), (Some(1), 60_000));
        let p = plan(start, NOW, None, Reading::Buckets).unwrap();
        assert_eq!((p.tier, p.step_ms), (Some(1), 300_000));
        let p = plan(NOW - 5 * 60_000, NOW, Some(1000), Reading::Buckets).unwrap();
        assert_eq!((p.tier, p.step_ms), (None, 1000));
        let p = plan(NOW - 5 * 60_000, NOW, Some(1000), Reading::Sets).unwrap();
        assert_eq!((p.tier, p.step_ms), (Some(0), 10_000));
        let p = plan(NOW - 400 * DAY, NOW, Some(2 * DAY + 1), Reading::Buckets).unwrap();
        assert_eq!((p.tier, p.step_ms), (Some(3), 3 * DAY));
        assert_eq!(p.from % (3 * DAY), 0);
        let p = plan(NOW - HOUR, NOW, Some(25_000), Reading::Buckets).unwrap();
        assert_eq!((p.tier, p.step_ms), (Some(0), 30_000));
        assert!(matches!(
            plan(NOW, NOW, None, Reading::Buckets),
            Err(QueryError::BadParameter { name: "to", .. })
        ));
        assert!(matches!(
            plan(NOW - 30 * DAY, NOW, Some(1), Reading::Buckets),
            Err(QueryError::BadRange(_))
        ));
    }

    /// A range reaching past what storage keeps reads only what it keeps: the extreme ranges
    /// that once took the server down plan to a few keys.
    #[test]
    fn ranges_are_cut_to_what_storage_keeps() {
        let p = plan(-MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS, None, Reading::Buckets).unwrap();
        assert!(p.read_from >= NOW - 1826 * DAY - 2 * DAY, "{p:?}");
        assert!(p.from <= p.read_from, "{p:?}");
        assert!(p.to <= NOW + MAX_FUTURE_SKEW_MS + 1);
        assert!(p.bound(Reading::Sets, 1).keys < 2_000, "{p:?}");
        // Entirely before anything kept: nothing read.
        let p = plan(0, 1_000_000, None, Reading::Buckets).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.keys_per_series(Reading::Sketches), 0);
        // Unique counts from 1970 to the year 9999 read at most a tier's retention of buckets.
        let p = plan(0, MAX_TIMESTAMP_MS, None, Reading::Sets).unwrap();
        assert!(p.keys_per_series(Reading::Sets) <= 1_828, "{p:?}");
    }

    /// Times and durations out of bounds are refused naming the parameter.
    #[test]
    fn out_of_bounds_parameters_are_named() {
        let name = |result: Result<Plan, QueryError>| match result {
            Err(QueryError::BadParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            name(plan(i64::MIN, i64::MAX, None, Reading::Buckets)),
            "from"
        );
        assert_eq!(name(plan(0, i64::MAX, None, Reading::Buckets)), "to");
        assert_eq!(
            name(plan(NOW - HOUR, NOW, Some(i64::MAX), Reading::Buckets)),
            "step"
        );
        assert_eq!(
            name(plan(NOW - HOUR, NOW, Some(-5), Reading::Buckets)),
            "step"
        );
        assert!(matches!(
            check_range(TimeRange::Last { ms: i64::MAX }),
            Err(QueryError::BadParameter { name: "range", .. })
        ));
        assert!(check_range(TimeRange::Last { ms: 7 * DAY }).is_ok());
    }

    /// Too many keys is refused with the limit's variable; without a requested step a coarser
    /// tier is taken instead.
    #[test]
    fn costly_queries_are_refused_or_coarsened() {
        let tight = Planner {
            limits: QueryLimits {
                max_keys: 1_000,
                max_points: 1_000_000,
            },
            ..planner()
        };
        let week = (NOW - 7 * DAY, NOW, None);
        let p = tight.plan(week, Reading::Sketches, 1).unwrap();
        assert_eq!(
            p.tier,
            Some(2),
            "a week of sketches at 1m would read 10 080+ keys"
        );
        let error = tight
            .plan((NOW - 7 * DAY, NOW, Some(60_000)), Reading::Sketches, 1)
            .unwrap_err();
        assert!(
            error.to_string().contains("LIVEDASH_QUERY_MAX_KEYS"),
            "{error}"
        );
        let few_points = Planner {
            limits: QueryLimits {
                max_keys: 1_000_000,
                max_points: 100,
            },
            ..planner()
        };
        let error = few_points
            .plan((NOW - DAY, NOW, Some(60_000)), Reading::Buckets, 2)
            .unwrap_err();
        assert!(
            error.to_string().contains("LIVEDASH_QUERY_MAX_POINTS"),
            "{error}"
        );
    }

    fn reading() -> impl Strategy<Value = Reading> {
        prop_oneof![
            Just(Reading::Buckets),
            Just(Reading::Sketches),
            Just(Reading::RollupSketches),
            Just(Reading::Sets)
        ]
    }

    /// Times anywhere in i64, weighted towards the edges and the present.
    fn time() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            (-400 * DAY..HOUR).prop_map(|offset| NOW + offset),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            (-MAX_TIMESTAMP_MS..=MAX_TIMESTAMP_MS),
        ]
    }

    fn step() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            Just(None),
            any::<i64>().prop_map(Some),
            (1..10 * DAY).prop_map(Some),
            Just(Some(i64::MAX)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        /// For any range, step, reading and number of series, the planner either refuses or
        /// plans a query that reads at most the configured keys, holds at most the configured
        /// points, and allocates within the bound it states.
        #[test]
        fn plans_are_refused_or_bounded(
            from in time(),
            to in time(),
            step in step(),
            reading in reading(),
            series in 0_usize..=2_000,
            max_keys in 1_usize..=500_000,
            max_points in 1_usize..=2_000_000,
        ) {
            let limits = QueryLimits { max_keys, max_points };
            let planner = Planner { limits, ..planner() };
            if let Ok(plan) = planner.plan((from, to, step), reading, series) {
                let bound = plan.bound(reading, series);
                prop_assert!(bound.keys <= max_keys, "{plan:?} {bound:?}");
                prop_assert!(bound.points <= max_points, "{plan:?} {bound:?}");
                prop_assert!(plan.steps() <= MAX_POINTS);
                prop_assert!(plan.step_ms > 0);
                // The stated byte bound follows from the two limits.
                let per_key = KEY_BYTES + ROLLUP_CHUNK_BYTES.max(super::super::sketch::MAX_BINS * 48);
                prop_assert!(bound.bytes <= max_keys * per_key + max_points * STEP_BYTES);
                // What is read lies within what storage keeps.
                if !plan.is_empty() {
                    prop_assert!(plan.to <= NOW + MAX_FUTURE_SKEW_MS + 1);
                    prop_assert!(plan.read_from >= NOW - 1_826 * DAY - 2 * DAY, "{plan:?}");
                    prop_assert!(plan.from <= plan.read_from && plan.read_from < plan.from + plan.step_ms);
                    prop_assert!(plan.from > from.saturating_sub(plan.step_ms));
                }
            }
        }
    }
}
