//! Queries and their results: what a chart asks for and what it gets back.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The label that names the metric, as in PromQL: `{__name__="cpu"}` is the selector `cpu`,
/// and `{__name__=~"http_.*"}` reads every metric whose name starts with `http_`.
pub const NAME_LABEL: &str = "__name__";

/// What a selector without a metric name is missing.
const MISSING_NAME: &str = "expected a metric name, or a __name__ matcher in braces such as \
                            {__name__=~\"http_.*\"}";

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

/// Which series a query reads: a metric name and label conditions.
///
/// The name may instead be given by conditions on [`NAME_LABEL`] (`__name__`), as Prometheus
/// users write it: then `name` is empty, and the `__name__` matchers choose among the catalog's
/// metric names. Both may be given (`http{__name__!~".*_bucket"}`): every condition holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Metric name; empty when `__name__` matchers give it.
    pub name: String,
    /// Label conditions, all of which must hold; `__name__` ones are about the metric name.
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
    /// The name may be given as a `__name__` matcher instead, or besides:
    /// `{__name__=~"http_.*", route="/api"}`. An exact `__name__="x"` is read as the name `x`
    /// (so `{__name__="x"}` and `x` are the same selector).
    ///
    /// # Errors
    /// The text is not a selector, or names no metric; the error says where and why.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let fail = |position: usize, problem: &str| SelectorError {
            text: text.to_owned(),
            position,
            problem: problem.to_owned(),
        };
        let trimmed = text.trim();
        let name_end = trimmed.find(['{', ' ']).unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        if trimmed.is_empty() {
            return Err(fail(0, MISSING_NAME));
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
            if label == NAME_LABEL && op == MatchOp::Equal && value.is_empty() {
                return Err(fail(
                    offset + start,
                    "__name__=\"\" names no metric: a metric name cannot be empty",
                ));
            }
            matchers.push(Matcher { label, op, value });
        }
        // An exact `__name__` is the name itself: the first one when no name was written, and
        // any that repeats the name is dropped. So equal selectors compare equal, and
        // `to_string` reads back as the same selector.
        let mut name = name.to_owned();
        if name.is_empty()
            && let Some(exact) = matchers.iter().find(|m| m.is_exact_name())
        {
            name = exact.value.clone();
        }
        if name.is_empty() {
            if !matchers.iter().any(|m| m.label == NAME_LABEL) {
                return Err(fail(0, MISSING_NAME));
            }
        } else {
            matchers.retain(|m| !(m.is_exact_name() && m.value == name));
        }
        Ok(Self { name, matchers })
    }

    /// The conditions on the metric name (`__name__` matchers), besides the name itself.
    pub fn name_matchers(&self) -> impl Iterator<Item = &Matcher> {
        self.matchers.iter().filter(|m| m.label == NAME_LABEL)
    }

    /// The one metric the selector can read, when it names one: its name, or an exact
    /// `__name__` matcher's value. `None` when `__name__` patterns choose among the metrics.
    #[must_use]
    pub fn fixed_name(&self) -> Option<&str> {
        if self.name.is_empty() {
            self.name_matchers()
                .find(|m| m.is_exact_name())
                .map(|m| m.value.as_str())
        } else {
            Some(self.name.as_str())
        }
    }

    /// Checks that the selector says which metrics it reads: a name, or a `__name__`
    /// matcher. [`Selector::parse`] ensures it; a selector that arrived as JSON is checked here.
    ///
    /// # Errors
    /// Neither is given; the error says what is missing.
    pub fn check(&self) -> Result<(), SelectorError> {
        if self.name.is_empty() && self.name_matchers().next().is_none() {
            return Err(SelectorError {
                text: self.to_string(),
                position: 0,
                problem: MISSING_NAME.to_owned(),
            });
        }
        Ok(())
    }
}

impl Matcher {
    /// Whether this is `__name__="…"` with a name: the metric name, written as a matcher.
    fn is_exact_name(&self) -> bool {
        self.label == NAME_LABEL && self.op == MatchOp::Equal && !self.value.is_empty()
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        })
    }
}

/// `label="value"`, escaped so that [`Selector::parse`] reads back the same value.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.label, self.op)?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// The selector as text that [`Selector::parse`] reads back as the same selector:
/// `name{label="value", …}`, or `{__name__=~"…", …}` without a name.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.matchers.is_empty() && !self.name.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, matcher) in self.matchers.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{matcher}")?;
        }
        f.write_str("}")
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
            // Without a name, a `__name__` matcher must say which metrics.
            ("{}", "expected a metric name, or a __name__ matcher"),
            (
                r#"{job="a"}"#,
                "expected a metric name, or a __name__ matcher",
            ),
            (r#"{__name__="", job="a"}"#, "a metric name cannot be empty"),
        ] {
            let error = Selector::parse(text).unwrap_err();
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
        assert_eq!(
            Selector::parse(r#"{__name__="", job="a"}"#)
                .unwrap_err()
                .position,
            1
        );
    }

    fn matcher(label: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            label: label.into(),
            op,
            value: value.into(),
        }
    }

    /// The metric name may be given as a `__name__` matcher, as in PromQL; an exact one is the
    /// name itself.
    #[test]
    fn parses_name_matchers() {
        let plain = Selector::parse("http_requests_total").unwrap();
        for text in [
            r#"{__name__="http_requests_total"}"#,
            r#" { __name__ = "http_requests_total" } "#,
            r#"http_requests_total{__name__="http_requests_total"}"#,
        ] {
            assert_eq!(Selector::parse(text).unwrap(), plain, "{text}");
        }
        let exact = Selector::parse(r#"{job="a", __name__="up"}"#).unwrap();
        assert_eq!(exact.name, "up");
        assert_eq!(exact.matchers, [matcher("job", MatchOp::Equal, "a")]);
        assert_eq!(exact.fixed_name(), Some("up"));

        let pattern = Selector::parse(r#"{__name__=~"http_.*"}"#).unwrap();
        assert_eq!(pattern.name, "");
        assert_eq!(
            pattern.matchers,
            [matcher(NAME_LABEL, MatchOp::Regex, "http_.*")]
        );
        assert_eq!(pattern.fixed_name(), None);
        assert_eq!(pattern.check(), Ok(()));

        let negative = Selector::parse(r#"{__name__!="x", job="a"}"#).unwrap();
        assert_eq!(negative.name, "");
        assert_eq!(
            negative.matchers,
            [
                matcher(NAME_LABEL, MatchOp::NotEqual, "x"),
                matcher("job", MatchOp::Equal, "a")
            ]
        );
        assert_eq!(
            Selector::parse(r#"{__name__!~"go_.*"}"#).unwrap().matchers,
            [matcher(NAME_LABEL, MatchOp::NotRegex, "go_.*")]
        );

        // Name and pattern together: both hold.
        let both = Selector::parse(r#"http_requests{__name__=~"http_.*", route="/"}"#).unwrap();
        assert_eq!(both.name, "http_requests");
        assert_eq!(both.name_matchers().count(), 1);
        assert_eq!(both.fixed_name(), Some("http_requests"));
    }

    /// A selector that arrived as JSON is checked for a name as parsing checks text.
    #[test]
    fn checks_built_selectors() {
        let unnamed = Selector {
            name: String::new(),
            matchers: vec![matcher("job", MatchOp::Equal, "a")],
        };
        let error = unnamed.check().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected a metric name, or a __name__ matcher"),
            "{error}"
        );
        let exact = Selector {
            name: String::new(),
            matchers: vec![matcher(NAME_LABEL, MatchOp::Equal, "cpu")],
        };
        assert_eq!(exact.check(), Ok(()));
        assert_eq!(exact.fixed_name(), Some("cpu"));
        assert_eq!(Selector::parse(&exact.to_string()), Selector::parse("cpu"));
    }

    /// `to_string` reads back as the same selector, whatever the values hold.
    #[test]
    fn selectors_round_trip() {
        let texts = [
            "cpu",
            "cpu{}",
            r#"http_requests{route="/api", method!="GET",host=~"web-.*" ,x!~"a\"b"}"#,
            r#"m{path="C:\\dir\\", re=~"web-\d+", nl="a\nb", empty=""}"#,
            r#"{__name__=~"http_.*"}"#,
            r#"{__name__!="x", job="a"}"#,
            r#"{__name__!~"go_.*", __name__=~".*_total"}"#,
            r#"{__name__="up", job="a"}"#,
            r#"up{__name__="down"}"#,
            r#"name{__name__=~"na.*", __name__="name", __name__="name"}"#,
            r#"{job="a", __name__="x", __name__="y"}"#,
        ];
        for text in texts {
            let selector = Selector::parse(text).unwrap();
            let printed = selector.to_string();
            assert_eq!(
                Selector::parse(&printed).as_ref(),
                Ok(&selector),
                "{text} printed as {printed}"
            );
            assert_eq!(printed, Selector::parse(&printed).unwrap().to_string());
        }
        // Every value built from awkward characters survives.
        let pieces = [
            "", "a", "\\", "\"", "\n", "\\n", "{", "}", ",", " ", "=~", "é",
        ];
        for first in pieces {
            for second in pieces {
                let value = format!("{first}{second}");
                for op in [
                    MatchOp::Equal,
                    MatchOp::NotEqual,
                    MatchOp::Regex,
                    MatchOp::NotRegex,
                ] {
                    let selector = Selector {
                        name: "m".into(),
                        matchers: vec![matcher("l", op, &value), matcher("k_2", op, &value)],
                    };
                    assert_eq!(
                        Selector::parse(&selector.to_string()).as_ref(),
                        Ok(&selector),
                        "{value:?} {op:?}"
                    );
                    if !value.is_empty() || op != MatchOp::Equal {
                        let unnamed = Selector {
                            name: String::new(),
                            matchers: vec![matcher(NAME_LABEL, MatchOp::Regex, &value)],
                        };
                        assert_eq!(
                            Selector::parse(&unnamed.to_string()).as_ref(),
                            Ok(&unnamed),
                            "{value:?}"
                        );
                    }
                }
            }
        }
    }
}
