//! Queries and their results: what a chart asks for and what it gets back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a label is compared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`: equal.
    #[serde(rename = "=")]
    Equal,
    /// `!=`: not equal (a missing label counts as empty).
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~`: the whole value matches the regular expression.
    #[serde(rename = "=~")]
    Regex,
    /// `!~`: the whole value does not match the regular expression.
    #[serde(rename = "!~")]
    NotRegex,
}

/// One label condition of a selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regular expression.
    pub value: String,
}

/// Which series a query reads: one metric name and label conditions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Metric name.
    pub name: String,
    /// Label conditions, all of which must hold.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
}

/// Why a selector's text could not be read.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("selector {text:?}, at byte {position}: {problem}")]
pub struct SelectorError {
    /// The text.
    pub text: String,
    /// Where reading stopped.
    pub position: usize,
    /// What was expected.
    pub problem: String,
}

impl Selector {
    /// Parses PromQL-style text: `http_requests{route="/api",method!="GET",host=~"web-.*"}`.
    ///
    /// # Errors
    /// The text is not a selector; the error says where and why.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let fail = |position: usize, problem: &str| SelectorError {
            text: text.to_owned(),
            position,
            problem: problem.to_owned(),
        };
        let trimmed = text.trim();
        let name_end = trimmed.find(['{', ' ']).unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        if name.is_empty() {
            return Err(fail(0, "expected a metric name"));
        }
        let mut matchers = Vec::new();
        let rest = trimmed[name_end..].trim_start();
        if rest.is_empty() {
            return Ok(Self {
                name: name.to_owned(),
                matchers,
            });
        }
        let body = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| fail(name_end, "expected {label=\"value\", …}"))?;
        let mut chars = body.char_indices().peekable();
        let offset = trimmed.len() - rest.len() + 1;
        loop {
            while chars
                .next_if(|(_, c)| c.is_whitespace() || *c == ',')
                .is_some()
            {}
            let Some(&(start, _)) = chars.peek() else {
                break;
            };
            let mut label = String::new();
            while let Some((_, c)) = chars.next_if(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
            {
                label.push(c);
            }
            if label.is_empty() {
                return Err(fail(offset + start, "expected a label name"));
            }
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            let op = match (chars.next().map(|(_, c)| c), chars.peek().map(|(_, c)| *c)) {
                (Some('='), Some('~')) => {
                    chars.next();
                    MatchOp::Regex
                }
                (Some('='), _) => MatchOp::Equal,
                (Some('!'), Some('=')) => {
                    chars.next();
                    MatchOp::NotEqual
                }
                (Some('!'), Some('~')) => {
                    chars.next();
                    MatchOp::NotRegex
                }
                _ => {
                    return Err(fail(
                        offset + start,
                        "expected =, !=, =~ or !~ after the label",
                    ));
                }
            };
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            let Some((quote_at, '"')) = chars.next() else {
                return Err(fail(offset + start, "expected a quoted value"));
            };
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    // `\\`, `\"` and `\n` are escapes; any other backslash is kept, so a regex
                    // such as `web-\d+` needs no doubling.
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, escaped @ ('\\' | '"'))) => value.push(escaped),
                        Some((_, other)) => {
                            value.push('\\');
                            value.push(other);
                        }
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(fail(offset + quote_at, "unterminated quoted value"));
            }
            matchers.push(Matcher { label, op, value });
        }
        Ok(Self {
            name: name.to_owned(),
            matchers,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// All four operators, escapes and spacing.
    #[test]
    fn aggregation_names() {
        assert_eq!(
            Aggregation::from_name("p99"),
            Some(Aggregation::Quantile { q: 0.99 })
        );
        assert_eq!(Aggregation::from_name("rate"), Some(Aggregation::Rate));
        assert_eq!(Aggregation::from_name("median"), None);
    }

    #[test]
    fn parses_selectors() {
        let selector = Selector::parse(
            r#"http_requests{route="/api", method!="GET",host=~"web-.*" ,x!~"a\"b"}"#,
        )
        .unwrap();
        assert_eq!(selector.name, "http_requests");
        let ops: Vec<_> = selector
            .matchers
            .iter()
            .map(|m| (m.label.as_str(), m.op, m.value.as_str()))
            .collect();
        assert_eq!(
            ops,
            [
                ("route", MatchOp::Equal, "/api"),
                ("method", MatchOp::NotEqual, "GET"),
                ("host", MatchOp::Regex, "web-.*"),
                ("x", MatchOp::NotRegex, "a\"b"),
            ]
        );
        assert_eq!(Selector::parse("cpu").unwrap().matchers, vec![]);
        assert_eq!(Selector::parse("cpu{}").unwrap().matchers, vec![]);
    }

    /// Bad selectors say where.
    #[test]
    fn refuses_bad_selectors() {
        for (text, problem) in [
            ("", "expected a metric name"),
            ("cpu{host}", "expected =, !=, =~ or !~"),
            ("cpu{host=a}", "expected a quoted value"),
            ("cpu{host=\"a}", "unterminated"),
            ("cpu{host=\"a\"", "expected {label"),
        ] {
            let error = Selector::parse(text).unwrap_err();
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
    }
}
