//! A query (which series, which span, how finely, combined how), what it returns, and durations
//! as written (`15m`, `24h`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::query::selector::Selector;

/// The longest duration a query or dashboard may name (range, window, step): 100 years.
/// Storage keeps far less (see the retention settings); longer would only mean "everything".
pub const MAX_SPAN_MS: i64 = 100 * 365 * 86_400_000;
/// The latest time a query may name, the end of the year 9999 (and its negative the
/// earliest), so that differences of two times always fit in an `i64`.
pub const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

/// The time span a query covers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimeRange {
    /// The last `ms` milliseconds up to now.
    Last { ms: i64 },
    /// From `from` (inclusive) to `to` (exclusive), ms since the epoch.
    Absolute { from: i64, to: i64 },
}

impl TimeRange {
    /// `[from, to)` in ms, given the current time (saturating: the server refuses spans that
    /// would overflow before it resolves them).
    #[must_use]
    pub fn resolve(self, now_ms: i64) -> (i64, i64) {
        match self {
            Self::Last { ms } => (now_ms.saturating_sub(ms), now_ms.saturating_add(1)),
            Self::Absolute { from, to } => (from, to),
        }
    }
}

/// How the values of one step (and of the series of one group) are combined.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case", tag = "fn")]
pub enum Aggregation {
    /// Mean of the values.
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum of the values (for counters: of the increments).
    Sum,
    /// Number of values.
    Count,
    /// The latest value (for counters: the running total).
    Last,
    /// Counters: increments per second.
    Rate,
    /// Histograms: the `q` quantile (0 to 1) of the observations, from merged sketches.
    Quantile { q: f64 },
    /// Sets: distinct members, from merged HyperLogLogs.
    Unique,
}

/// A query: which series, which span, how finely, combined how.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Query {
    /// Which series.
    pub selector: Selector,
    /// Which span.
    pub range: TimeRange,
    /// Step between points, ms; absent means about 300 points over the range.
    #[serde(default)]
    pub step_ms: Option<i64>,
    /// How values are combined.
    pub aggregation: Aggregation,
    /// Labels to group by; series that agree on them are combined. Empty means one line per
    /// series.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
}

/// The points of one result line.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ResultSeries {
    /// The labels that identify the line (all labels, or the group-by labels).
    pub labels: BTreeMap<String, String>,
    /// `(step start ms, value)`, ascending; steps without data are absent.
    pub points: Vec<(i64, f64)>,
}

/// What a query returns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// One entry per line.
    pub series: Vec<ResultSeries>,
    /// The step used, ms.
    pub step_ms: i64,
    /// The storage tier read: `raw`, `10s`, `1m`, `1h` or `1d`.
    pub tier: String,
    /// The span read, `[from, to)`.
    pub from: i64,
    /// End of the span (exclusive).
    pub to: i64,
}

/// Parses `500ms`, `30s`, `15m`, `24h`, `2d`, `1w`, `1y` (365 days) into milliseconds.
///
/// # Errors
/// Anything else, or a value that is not positive.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (ms, s, m, h, d, w or y)"))?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "y" => 365 * 86_400_000,
        other => {
            return Err(format!(
                "unknown unit {other:?}; use ms, s, m, h, d, w or y"
            ));
        }
    };
    match number.checked_mul(unit_ms) {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(format!(
            "{text:?} must be positive and below 290 million years"
        )),
    }
}

impl Aggregation {
    /// The short names used in URLs and forms, with what they stand for.
    pub const NAMES: [(&'static str, Aggregation); 12] = [
        ("avg", Aggregation::Avg),
        ("min", Aggregation::Min),
        ("max", Aggregation::Max),
        ("sum", Aggregation::Sum),
        ("count", Aggregation::Count),
        ("last", Aggregation::Last),
        ("rate", Aggregation::Rate),
        ("unique", Aggregation::Unique),
        ("p50", Aggregation::Quantile { q: 0.5 }),
        ("p90", Aggregation::Quantile { q: 0.9 }),
        ("p95", Aggregation::Quantile { q: 0.95 }),
        ("p99", Aggregation::Quantile { q: 0.99 }),
    ];

    /// The aggregation a short name stands for (`avg`, `p99`, …).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, aggregation)| *aggregation)
    }
}
