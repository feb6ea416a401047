//! Range queries: pick the storage tier, read raw points or rollup buckets, combine them per
//! step and per group.
//!
//! The tier is the coarsest whose bucket width fits in the step (raw points below 10 s), and
//! the step is rounded up to a whole number of buckets, so every bucket falls in exactly one
//! step. The still-open bucket is read like any other, so the newest step is live. Quantiles
//! merge the sketches of every bucket in a step (never an average of quantiles); unique counts
//! union the buckets' HyperLogLogs (never a sum).

use std::collections::{BTreeMap, BTreeSet};

use app::model::{MetricKind, SeriesKey};
use app::query::{Aggregation, MatchOp, NAME_LABEL, Query, QueryResult, ResultSeries, Selector};
use regex::Regex;

use super::keys::{
    BUCKET_RECORD, CHUNK_BUCKETS, OPEN_BUCKET_RECORD, RAW_CHUNK_MS, RAW_RECORD, open_bucket_field,
};
pub use super::plan::{DEFAULT_POINTS, MAX_POINTS, Plan};
use super::plan::{Planner, Reading, check_range};
use super::sketch::Sketch;
use super::{SeriesId, StorageError, Store};
use crate::config::TIERS;

/// Most series one query may read.
pub const MAX_QUERY_SERIES: usize = 2_000;

/// Why a query was refused or failed.
#[derive(thiserror::Error, Debug)]
pub enum QueryError {
    /// The selector's regular expression does not compile.
    #[error("label {label:?}: invalid regular expression: {reason}")]
    BadRegex { label: String, reason: String },
    /// The selector cannot be read as it is (it names no metric); the message says why.
    #[error("{0}")]
    BadSelector(String),
    /// The range or step make no sense, or would give too many points.
    #[error("{0}")]
    BadRange(String),
    /// A time, duration or step from outside is out of bounds; named as the HTTP API names it.
    #[error("parameter `{name}`: {reason}")]
    BadParameter { name: &'static str, reason: String },
    /// The query would read or hold more than a configured limit allows; the message names it.
    #[error("{0}")]
    OverLimit(String),
    /// The aggregation does not apply to the series' kind.
    #[error("{aggregation} does not apply to {series}, a {kind}")]
    KindMismatch {
        aggregation: &'static str,
        series: String,
        kind: &'static str,
    },
    /// The selector matches more series than a query may read.
    #[error(
        "the selector matches {matched} series; a query reads at most {MAX_QUERY_SERIES}: narrow it with label matchers"
    )]
    TooManySeries { matched: usize },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A selector with its regular expressions compiled.
pub(crate) struct CompiledSelector {
    conditions: Vec<(String, MatchOp, Condition)>,
}

enum Condition {
    Text(String),
    Pattern(Regex),
}

impl CompiledSelector {
    pub(crate) fn new(selector: &Selector) -> Result<Self, QueryError> {
        let conditions = selector
            .matchers
            .iter()
            .map(|matcher| {
                let condition = match matcher.op {
                    MatchOp::Equal | MatchOp::NotEqual => Condition::Text(matcher.value.clone()),
                    MatchOp::Regex | MatchOp::NotRegex => Condition::Pattern(
                        Regex::new(&format!("^(?:{})$", matcher.value)).map_err(|error| {
                            QueryError::BadRegex {
                                label: matcher.label.clone(),
                                reason: error.to_string(),
                            }
                        })?,
                    ),
                };
                Ok((matcher.label.clone(), matcher.op, condition))
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { conditions })
    }

    /// Whether `series` satisfies every condition; a missing label reads as "", and
    /// `__name__` is the metric name.
    pub(crate) fn matches(&self, series: &SeriesKey) -> bool {
        self.conditions.iter().all(|(label, op, condition)| {
            let value = if label == NAME_LABEL {
                series.name.as_str()
            } else {
                series.labels.get(label).map_or("", String::as_str)
            };
            let hit = match condition {
                Condition::Text(text) => value == text,
                Condition::Pattern(pattern) => pattern.is_match(value),
            };
            match op {
                MatchOp::Equal | MatchOp::Regex => hit,
                MatchOp::NotEqual | MatchOp::NotRegex => !hit,
            }
        })
    }
}

/// What one step of one line accumulates.
#[derive(Clone, Debug, Default)]
struct Accumulator {
    /// The buckets folded together so far (a zero count: none yet).
    summary: Bucket,
    /// Sum over the merged series of each one's latest value (a group's counter total).
    lasts_sum: f64,
    /// What only quantiles and unique counts need, allocated only for them.
    extra: Option<Box<Extra>>,
}

/// The parts of an accumulator that most aggregations never touch.
#[derive(Clone, Debug, Default)]
struct Extra {
    /// Raw values, kept for exact quantiles on the raw tier.
    exact: Vec<f64>,
    sketch: Sketch,
    /// HyperLogLog keys to union (sets).
    hll_keys: Vec<String>,
}

impl Accumulator {
    fn extra(&mut self) -> &mut Extra {
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
    fn add_bucket(&mut self, bucket: &Bucket) {
        if self.summary.merge(bucket) {
            self.lasts_sum = bucket.last;
        }
    }

    /// Adds another series' accumulator of the same step.
    fn merge_series(&mut self, other: &Accumulator) {
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

    fn finish(&self, aggregation: Aggregation, kind: MetricKind, seconds: f64) -> Option<f64> {
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
struct Steps {
    from: i64,
    step_ms: i64,
    slots: Vec<Accumulator>,
}

impl Steps {
    fn new(plan: &Plan) -> Self {
        Self {
            from: plan.from,
            step_ms: plan.step_ms,
            slots: Vec::new(),
        }
    }

    /// The accumulator of the step holding `ts` (which is at or after the plan's start).
    fn at(&mut self, ts: i64) -> &mut Accumulator {
        let index = usize::try_from((ts - self.from).div_euclid(self.step_ms)).unwrap_or(0);
        if index >= self.slots.len() {
            self.slots.resize_with(index + 1, Accumulator::default);
        }
        &mut self.slots[index]
    }

    /// Steps that hold data, with their start.
    fn iter(&self) -> impl Iterator<Item = (i64, &Accumulator)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, accumulator)| accumulator.summary.count > 0 || accumulator.has_sets())
            .map(|(index, accumulator)| (self.from + index as i64 * self.step_ms, accumulator))
    }
}

/// Value rows of a heatmap.
pub const HEATMAP_ROWS: usize = 24;

impl Store {
    /// A heatmap of histogram `selector` over `[from, to)`: per step, how many observations fell
    /// in each of [`HEATMAP_ROWS`] log-spaced value rows. Every step merges its buckets' (and
    /// series') sketches, so a range reads the same whatever tier it comes from.
    ///
    /// # Errors
    /// A bad selector, range or step, a series that is not a histogram, or storage failed.
    pub async fn heatmap(
        &self,
        selector: &Selector,
        (from, to, step_ms): (i64, i64, Option<i64>),
        now_ms: i64,
    ) -> Result<app::events::Heatmap, QueryError> {
        let aggregation = Aggregation::Quantile { q: 0.5 };
        let resolved = self.resolve(selector, aggregation).await?;
        // Sketches live in the rollup tiers; raw points would only give exact values.
        let plan = self.planner(now_ms).plan(
            (from, to, step_ms),
            Reading::RollupSketches,
            resolved.series.len(),
        )?;
        let per_series = futures::future::try_join_all(
            resolved
                .series
                .iter()
                .map(|(id, _)| self.read_series(id, &plan, aggregation, now_ms)),
        )
        .await?;
        let mut columns: BTreeMap<i64, Sketch> = BTreeMap::new();
        for steps in &per_series {
            for (start, accumulator) in steps.iter() {
                if let Some(extra) = &accumulator.extra
                    && extra.sketch.count() > 0
                {
                    columns.entry(start).or_default().merge(&extra.sketch);
                }
            }
        }
        let (mut low, mut high) = (f64::INFINITY, 0.0_f64);
        for sketch in columns.values() {
            for (value, _) in sketch.values().filter(|(value, _)| *value > 0.0) {
                low = low.min(value);
                high = high.max(value);
            }
        }
        if !low.is_finite() {
            (low, high) = (1.0, 10.0);
        }
        if high <= low * 1.01 {
            (low, high) = (low / 1.1, high * 1.1);
        }
        let ratio = (high / low).ln() / HEATMAP_ROWS as f64;
        let bounds: Vec<f64> = (0..=HEATMAP_ROWS)
            .map(|row| low * (ratio * row as f64).exp())
            .collect();
        let row_of = |value: f64| {
            if value <= low {
                0
            } else {
                (((value / low).ln() / ratio) as usize).min(HEATMAP_ROWS - 1)
            }
        };
        Ok(app::events::Heatmap {
            step_ms: plan.step_ms,
            from: plan.from,
            to: plan.to,
            bounds,
            columns: columns
                .into_iter()
                .map(|(start, sketch)| {
                    let mut counts = vec![0_u64; HEATMAP_ROWS];
                    for (value, count) in sketch.values() {
                        counts[row_of(value)] += count;
                    }
                    (start, counts)
                })
                .collect(),
        })
    }
}

/// The lower-rank quantile, `floor(q (n - 1))`, as the sketch uses.
fn exact_quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).floor() as usize]
}

/// How many buckets a chunk string holds (for storage measurements).
#[must_use]
pub fn chunk_bucket_count(chunk: &[u8]) -> usize {
    chunk
        .chunks_exact(BUCKET_RECORD)
        .filter(|record| Bucket::decode(record).is_some())
        .count()
}

/// One rollup bucket as stored, or several folded together.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub(crate) struct Bucket {
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
    last: f64,
    last_ts: i64,
}

impl Bucket {
    /// Folds `other` in (min of mins, sum of sums, the later last value); returns whether
    /// `other` held the latest value (on a tie it does: it is taken as the newer).
    pub(crate) fn merge(&mut self, other: &Bucket) -> bool {
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.sum += other.sum;
        let latest = self.count == 0 || other.last_ts >= self.last_ts;
        if latest {
            self.last = other.last;
            self.last_ts = other.last_ts;
        }
        self.count += other.count;
        latest
    }

    /// Decodes one 48-byte record; `None` for an empty slot.
    fn decode(record: &[u8]) -> Option<Self> {
        let field = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&record[i * 8..i * 8 + 8]);
            f64::from_le_bytes(bytes)
        };
        let count = field(3);
        (count > 0.0).then(|| Self {
            min: field(0),
            max: field(1),
            sum: field(2),
            count: count as u64,
            last: field(4),
            last_ts: field(5) as i64,
        })
    }

    /// Appends the 48-byte record [`Bucket::decode`] reads.
    pub(crate) fn encode_into(&self, record: &mut Vec<u8>) {
        for field in [
            self.min,
            self.max,
            self.sum,
            self.count as f64,
            self.last,
            self.last_ts as f64,
        ] {
            record.extend_from_slice(&field.to_le_bytes());
        }
    }

    fn point(ts: i64, value: f64) -> Self {
        Self::observed(ts, value, value)
    }

    /// One observation of `value`, whose bucket shows `last` as its latest value (a counter's
    /// running total, else the value itself).
    pub(crate) fn observed(ts: i64, value: f64, last: f64) -> Self {
        Self {
            min: value,
            max: value,
            sum: value,
            count: 1,
            last,
            last_ts: ts,
        }
    }
}

/// The series a selector matches, with their common kind: resolved once, read many times
/// (a live subscription reads the same series every frame).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Matching series, sorted.
    pub series: Vec<(SeriesId, SeriesKey)>,
    /// Their kind (gauge when there are none).
    pub kind: MetricKind,
    /// Whether the selector's name was a `__name__` pattern, so that the series may be of
    /// several metrics: then each line names its metric with a `__name__` label.
    pub by_name: bool,
}

impl Store {
    /// Plans queries at `now_ms` against this store's retention and query limits.
    pub(crate) fn planner(&self, now_ms: i64) -> Planner {
        Planner {
            now_ms,
            retention: self.retention(),
            limits: self.query_limits(),
        }
    }

    /// Runs `query` at time `now_ms`.
    ///
    /// # Errors
    /// See [`QueryError`].
    pub async fn query(&self, query: &Query, now_ms: i64) -> Result<QueryResult, QueryError> {
        let started = std::time::Instant::now();
        let result = self.run_query(query, now_ms).await;
        let refused = matches!(&result, Err(error) if !matches!(error, QueryError::Storage(_)));
        crate::telemetry::metrics().queried(started.elapsed(), refused);
        result
    }

    async fn run_query(&self, query: &Query, now_ms: i64) -> Result<QueryResult, QueryError> {
        // Checked before anything is resolved, so the parameter at fault is named as given.
        check_range(query.range)?;
        let (from, to) = query.range.resolve(now_ms);
        let resolved = self.resolve(&query.selector, query.aggregation).await?;
        self.compute(
            &resolved,
            query.aggregation,
            query.group_by.as_deref(),
            (from, to, query.step_ms),
            now_ms,
        )
        .await
    }

    /// The series `selector` matches, checked against `aggregation`.
    ///
    /// # Errors
    /// A bad regular expression, too many series, a kind the aggregation does not apply to,
    /// or storage failed.
    pub async fn resolve(
        &self,
        selector: &Selector,
        aggregation: Aggregation,
    ) -> Result<Resolved, QueryError> {
        let compiled = CompiledSelector::new(selector)?;
        let (ids, by_name) = self.ids_of_selector(selector).await?;
        let mut series: Vec<(SeriesId, SeriesKey)> = self
            .series_of(&ids)
            .await?
            .into_iter()
            .filter(|(_, key)| compiled.matches(key))
            .collect();
        if series.len() > MAX_QUERY_SERIES {
            return Err(QueryError::TooManySeries {
                matched: series.len(),
            });
        }
        series.sort_by(|a, b| a.1.cmp(&b.1));
        let kinds = self.kinds(&series).await?;
        let kind = check_kinds(aggregation, &series, &kinds)?;
        // The latest value of a line is read by its kind (a counter's is its running total),
        // and one query has one kind: a `__name__` pattern asking for it must not mix kinds.
        if by_name
            && matches!(aggregation, Aggregation::Last)
            && let Some(((_, other), other_kind)) = series
                .iter()
                .zip(&kinds)
                .find(|(_, other_kind)| **other_kind != kind)
        {
            return Err(QueryError::BadSelector(format!(
                "the selector matches metrics of different kinds: {} is a {}, {other} a {}; \
                 the latest value needs one kind: narrow the __name__ matcher",
                series[0].1,
                kind.as_str(),
                other_kind.as_str()
            )));
        }
        Ok(Resolved {
            series,
            kind,
            by_name,
        })
    }

    /// Reads `resolved` over `[from, to)` at `step_ms` (or the default) and combines it into
    /// lines, one per distinct `group_by` label set.
    ///
    /// # Errors
    /// A bad range or step, or storage failed.
    pub async fn compute(
        &self,
        resolved: &Resolved,
        aggregation: Aggregation,
        group_by: Option<&[String]>,
        (from, to, step_ms): (i64, i64, Option<i64>),
        now_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        let Resolved {
            series,
            kind,
            by_name,
        } = resolved;
        let kind = *kind;
        let plan = self.planner(now_ms).plan(
            (from, to, step_ms),
            Reading::of(aggregation),
            series.len(),
        )?;

        // All series at once: the multiplexed connection pipelines the requests.
        let per_series = futures::future::try_join_all(
            series
                .iter()
                .map(|(id, _)| self.read_series(id, &plan, aggregation, now_ms)),
        )
        .await?;

        // Combine series into lines.
        let mut lines: BTreeMap<BTreeMap<String, String>, Steps> = BTreeMap::new();
        for ((_, key), steps) in series.iter().zip(per_series) {
            let labels = match group_by {
                None if *by_name => {
                    let mut labels = key.labels.clone();
                    labels.insert(NAME_LABEL.to_owned(), key.name.clone());
                    labels
                }
                None => key.labels.clone(),
                Some(group) => group
                    .iter()
                    .map(|label| {
                        let value = if label == NAME_LABEL {
                            key.name.clone()
                        } else {
                            key.labels.get(label).cloned().unwrap_or_default()
                        };
                        (label.clone(), value)
                    })
                    .collect(),
            };
            match lines.entry(labels) {
                // The line's first series: its steps are the line's (no copy).
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(steps);
                }
                std::collections::btree_map::Entry::Occupied(mut line) => {
                    for (start, accumulator) in steps.iter() {
                        line.get_mut().at(start).merge_series(accumulator);
                    }
                }
            }
        }

        let mut result = Vec::with_capacity(lines.len());
        for (labels, steps) in lines {
            let points = if matches!(aggregation, Aggregation::Unique) {
                self.unique_counts(&steps).await?
            } else {
                steps
                    .iter()
                    .filter_map(|(start, accumulator)| {
                        let elapsed = (start + plan.step_ms).min(now_ms) - start;
                        accumulator
                            .finish(aggregation, kind, elapsed as f64 / 1000.0)
                            .map(|value| (start, value))
                    })
                    .collect()
            };
            if !points.is_empty() {
                result.push(ResultSeries { labels, points });
            }
        }
        Ok(QueryResult {
            series: result,
            step_ms: plan.step_ms,
            tier: plan.tier.map_or("raw", |index| TIERS[index].0).to_owned(),
            from: plan.from,
            to: plan.to,
        })
    }

    async fn kinds(
        &self,
        series: &[(SeriesId, SeriesKey)],
    ) -> Result<Vec<MetricKind>, StorageError> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (id, _) in series {
            pipe.cmd("HGET").arg(self.keys.meta(id)).arg("kind");
        }
        let names: Vec<Option<String>> = pipe.query_async(&mut self.connection()).await?;
        Ok(names
            .into_iter()
            .map(|name| match name.as_deref() {
                Some("counter") => MetricKind::Counter,
                Some("histogram") => MetricKind::Histogram,
                Some("set") => MetricKind::Set,
                _ => MetricKind::Gauge,
            })
            .collect())
    }

    async fn read_series(
        &self,
        id: &SeriesId,
        plan: &Plan,
        aggregation: Aggregation,
        now_ms: i64,
    ) -> Result<Steps, StorageError> {
        let mut steps = Steps::new(plan);
        if plan.is_empty() {
            return Ok(steps);
        }
        let Some(tier_index) = plan.tier else {
            for (ts, value) in self.read_raw(id, plan, now_ms).await? {
                let accumulator = steps.at(ts);
                accumulator.add_bucket(&Bucket::point(ts, value));
                if matches!(aggregation, Aggregation::Quantile { .. }) {
                    accumulator.extra().exact.push(value);
                }
            }
            return Ok(steps);
        };
        let (tier, width) = TIERS[tier_index];
        let buckets = plan.buckets();
        if matches!(aggregation, Aggregation::Unique) {
            for index in buckets {
                let start = index * width;
                let accumulator = steps.at(start);
                accumulator
                    .extra()
                    .hll_keys
                    .push(self.keys.set_bucket(id, tier, start));
            }
            return Ok(steps);
        }
        let (first, last) = (*buckets.start(), *buckets.end());
        let chunks = plan.rollup_chunks();
        let mut pipe = redis::pipe();
        for chunk in chunks.clone() {
            pipe.cmd("GET").arg(self.keys.rollup_chunk(id, tier, chunk));
        }
        pipe.cmd("HGET")
            .arg(self.keys.meta(id))
            .arg(open_bucket_field(tier));
        let mut strings: Vec<Option<Vec<u8>>> = pipe.query_async(&mut self.connection()).await?;
        let open = strings.pop().flatten();
        let mut buckets: Vec<(i64, Bucket)> = Vec::new();
        for (chunk, bytes) in chunks.zip(strings) {
            let Some(bytes) = bytes else { continue };
            for (slot, record) in bytes.chunks_exact(BUCKET_RECORD).enumerate() {
                let index = chunk * CHUNK_BUCKETS + slot as i64;
                if index < first || index > last {
                    continue;
                }
                if let Some(bucket) = Bucket::decode(record) {
                    buckets.push((index * width, bucket));
                }
            }
        }
        // The open bucket lives in the meta hash until a newer one replaces it; chunks expire
        // with the tier's retention, so it is checked against the retention here.
        if let Some(record) = open.filter(|record| record.len() == OPEN_BUCKET_RECORD) {
            let start = f64::from_le_bytes(record[..8].try_into().unwrap_or_default()) as i64;
            let kept = start + width + self.retention().tiers_ms[tier_index] > now_ms;
            let index = start.div_euclid(width);
            if kept
                && (first..=last).contains(&index)
                && let Some(bucket) = Bucket::decode(&record[8..])
            {
                match buckets.iter_mut().find(|(at, _)| *at == start) {
                    Some((_, stored)) => {
                        stored.merge(&bucket);
                    }
                    None => buckets.push((start, bucket)),
                }
            }
        }
        buckets.sort_by_key(|(start, _)| *start);
        for (start, bucket) in &buckets {
            steps.at(*start).add_bucket(bucket);
        }
        if matches!(aggregation, Aggregation::Quantile { .. }) && !buckets.is_empty() {
            let mut pipe = redis::pipe();
            for (start, _) in &buckets {
                pipe.cmd("HGETALL")
                    .arg(self.keys.histogram_bucket(id, tier, *start));
            }
            let sketches: Vec<Vec<(String, u64)>> =
                pipe.query_async(&mut self.connection()).await?;
            for ((start, _), bins) in buckets.iter().zip(sketches) {
                let accumulator = steps.at(*start);
                for (bin, count) in bins {
                    accumulator
                        .extra()
                        .sketch
                        .add_bin(&bin, count)
                        .map_err(|reason| StorageError::Corrupt {
                            key: self.keys.histogram_bucket(id, tier, *start),
                            reason,
                        })?;
                }
            }
        }
        Ok(steps)
    }

    /// Raw points with `from <= ts < to`, in time order (points of the same time in arrival
    /// order).
    async fn read_raw(
        &self,
        id: &SeriesId,
        plan: &Plan,
        now_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        // Chunks expire whole, after their newest point's retention, so the retention is
        // applied to each point here; the plan's chunks already lie within it.
        let (from, to) = (
            plan.read_from.max(now_ms - self.retention().raw_ms),
            plan.to,
        );
        let chunks = plan.raw_chunks();
        let mut pipe = redis::pipe();
        for chunk in chunks.clone() {
            pipe.cmd("GET").arg(self.keys.raw_chunk(id, chunk));
        }
        let strings: Vec<Option<Vec<u8>>> = pipe.query_async(&mut self.connection()).await?;
        let mut points = Vec::new();
        for (chunk, bytes) in chunks.zip(strings) {
            let Some(bytes) = bytes else { continue };
            if bytes.len() % RAW_RECORD != 0 {
                return Err(StorageError::Corrupt {
                    key: self.keys.raw_chunk(id, chunk),
                    reason: format!("{} bytes is not a whole number of points", bytes.len()),
                });
            }
            let chunk_start = chunk * RAW_CHUNK_MS;
            for record in bytes.chunks_exact(RAW_RECORD) {
                let (offset, value) = record.split_at(4);
                let offset = u32::from_le_bytes(offset.try_into().unwrap_or_default());
                let ts = chunk_start + i64::from(offset);
                if (from..to).contains(&ts) {
                    points.push((ts, f64::from_le_bytes(value.try_into().unwrap_or_default())));
                }
            }
        }
        // Stable: points of the same time keep their arrival order.
        points.sort_by_key(|(ts, _)| *ts);
        Ok(points)
    }

    async fn unique_counts(&self, steps: &Steps) -> Result<Vec<(i64, f64)>, StorageError> {
        let mut pipe = redis::pipe();
        let mut starts = Vec::new();
        for (start, accumulator) in steps.iter() {
            let keys: BTreeSet<&String> = accumulator
                .extra
                .iter()
                .flat_map(|extra| extra.hll_keys.iter())
                .collect();
            if keys.is_empty() {
                continue;
            }
            let command = pipe.cmd("PFCOUNT");
            for key in keys {
                command.arg(key);
            }
            starts.push(start);
        }
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        let counts: Vec<u64> = pipe.query_async(&mut self.connection()).await?;
        Ok(starts
            .into_iter()
            .zip(counts)
            .filter(|(_, count)| *count > 0)
            .map(|(start, count)| (start, count as f64))
            .collect())
    }
}

/// Checks the aggregation fits every series' kind; returns the kind (the first series', or
/// gauge when there are none).
fn check_kinds(
    aggregation: Aggregation,
    series: &[(SeriesId, SeriesKey)],
    kinds: &[MetricKind],
) -> Result<MetricKind, QueryError> {
    let (name, allowed): (&'static str, &[MetricKind]) = match aggregation {
        Aggregation::Rate => ("rate", &[MetricKind::Counter]),
        Aggregation::Quantile { .. } => ("a quantile", &[MetricKind::Histogram]),
        Aggregation::Unique => ("a unique count", &[MetricKind::Set]),
        _ => (
            "this aggregation",
            &[
                MetricKind::Gauge,
                MetricKind::Counter,
                MetricKind::Histogram,
            ],
        ),
    };
    for ((_, key), kind) in series.iter().zip(kinds) {
        if !allowed.contains(kind) {
            return Err(QueryError::KindMismatch {
                aggregation: name,
                series: key.to_string(),
                kind: kind.as_str(),
            });
        }
    }
    Ok(kinds.first().copied().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selectors match as PromQL does: missing labels read as empty, regexes are anchored.
    #[test]
    fn selector_matching() {
        let selector = CompiledSelector::new(
            &Selector::parse(r#"m{host=~"web-\d+",env!="prod",zone!~"eu-.*"}"#).unwrap(),
        )
        .unwrap();
        let key = |host: &str, env: &str| {
            SeriesKey::new("m")
                .with_label("host", host)
                .with_label("env", env)
        };
        assert!(selector.matches(&key("web-1", "dev")));
        assert!(!selector.matches(&key("web-1x", "dev")));
        assert!(!selector.matches(&key("web-1", "prod")));
        assert!(!selector.matches(&key("web-1", "dev").with_label("zone", "eu-west")));
        assert!(selector.matches(&SeriesKey::new("m").with_label("host", "web-2")));
        assert!(matches!(
            CompiledSelector::new(&Selector::parse(r#"m{a=~"("}"#).unwrap()),
            Err(QueryError::BadRegex { .. })
        ));
    }

    /// `__name__` conditions are about the metric name, as in PromQL.
    #[test]
    fn name_matchers_match_the_metric_name() {
        let selector = CompiledSelector::new(
            &Selector::parse(r#"{__name__=~"http_.*", __name__!="http_x", job="a"}"#).unwrap(),
        )
        .unwrap();
        let key = |name: &str| SeriesKey::new(name).with_label("job", "a");
        assert!(selector.matches(&key("http_requests_total")));
        assert!(!selector.matches(&key("http_x")));
        assert!(!selector.matches(&key("go_gc_total")));
        assert!(!selector.matches(&SeriesKey::new("http_y")));
        let negative =
            CompiledSelector::new(&Selector::parse(r#"{__name__!~"go_.*"}"#).unwrap()).unwrap();
        assert!(negative.matches(&SeriesKey::new("cpu")));
        assert!(!negative.matches(&SeriesKey::new("go_gc_total")));
        assert!(matches!(
            CompiledSelector::new(&Selector::parse(r#"{__name__=~"("}"#).unwrap()),
            Err(QueryError::BadRegex { .. })
        ));
    }
}
