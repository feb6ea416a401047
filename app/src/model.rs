//! The shared data model: series identity, samples, current values, and their validation.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest accepted metric name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Longest accepted label name, in bytes.
pub const MAX_LABEL_NAME_LEN: usize = 100;
/// Longest accepted label value, in bytes.
pub const MAX_LABEL_VALUE_LEN: usize = 1024;
/// Most labels one series may carry.
pub const MAX_LABELS: usize = 32;
/// Earliest accepted timestamp (2000-01-01T00:00:00Z, in ms). Anything before it is far more
/// likely a timestamp in seconds than a real measurement, and the error says so.
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;
/// How far ahead of the server's clock a timestamp may be (clock skew between hosts).
pub const MAX_FUTURE_SKEW_MS: i64 = 60 * 60 * 1000;

/// The identity of one series: a metric name plus its labels.
///
/// Labels live in a `BTreeMap`, so the canonical form (labels sorted by key) is the only form:
/// two writes that list the same labels in another order address the same series.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Metric name, Prometheus grammar: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub name: String,
    /// Label names (Prometheus grammar, not starting with `__`) to arbitrary UTF-8 values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl SeriesKey {
    /// A series without labels.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            labels: BTreeMap::new(),
        }
    }

    /// Adds one label.
    #[must_use]
    pub fn with_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// Checks the name and labels against the grammar and limits.
    ///
    /// # Errors
    /// The first rule the series breaks.
    pub fn validate(&self) -> Result<(), InvalidSample> {
        validate_metric_name(&self.name)?;
        if self.labels.len() > MAX_LABELS {
            return Err(InvalidSample::TooManyLabels {
                count: self.labels.len(),
            });
        }
        for (name, value) in &self.labels {
            validate_label_name(name)?;
            if value.len() > MAX_LABEL_VALUE_LEN {
                return Err(InvalidSample::LabelValueTooLong {
                    label: name.clone(),
                    len: value.len(),
                });
            }
        }
        Ok(())
    }
}

/// Prometheus exposition form: `name{a="1",b="x\"y"}`, or just `name` without labels.
impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}=\"")?;
            // Runs without escapes are written whole (series ids hash this text on every write).
            let mut rest = value.as_str();
            while let Some(at) = rest.find(['\\', '"', '\n']) {
                f.write_str(&rest[..at])?;
                f.write_str(match rest.as_bytes()[at] {
                    b'\\' => "\\\\",
                    b'"' => "\\\"",
                    _ => "\\n",
                })?;
                rest = &rest[at + 1..];
            }
            f.write_str(rest)?;
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// Longest accepted set member, in bytes.
pub const MAX_MEMBER_LEN: usize = 1024;

/// What a series measures, which decides how its samples combine.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A sampled value; the latest wins (temperature, queue depth, memory in use).
    #[default]
    Gauge,
    /// A monotonic count, sent as non-negative increments; shown as a running total (which
    /// survives restarts) and as a rate.
    Counter,
    /// A distribution of observations (response times); queried as quantiles.
    Histogram,
    /// Distinct members (visitor ids); queried as a unique count.
    Set,
}

impl MetricKind {
    /// Lower-case name, as in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Histogram => "histogram",
            Self::Set => "set",
        }
    }

    /// The kind named by [`MetricKind::as_str`]'s text.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Gauge, Self::Counter, Self::Histogram, Self::Set]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One sample as sent to `POST /api/v1/ingest`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Kind; absent means gauge.
    #[serde(default)]
    pub kind: MetricKind,
    /// Metric name.
    pub name: String,
    /// Labels; absent means none.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Gauge value, counter increment or histogram observation; must be finite.
    #[serde(default)]
    pub value: Option<f64>,
    /// Set member (sets only).
    #[serde(default)]
    pub member: Option<String>,
    /// Milliseconds since the Unix epoch; absent means "when the server received it".
    #[serde(default)]
    pub ts: Option<i64>,
}

impl Sample {
    /// A gauge sample.
    #[must_use]
    pub fn gauge(series: SeriesKey, value: f64, ts: Option<i64>) -> Self {
        Self {
            kind: MetricKind::Gauge,
            name: series.name,
            labels: series.labels,
            value: Some(value),
            member: None,
            ts,
        }
    }

    /// Validates the sample, stamping `now_ms` when it carries no timestamp.
    ///
    /// # Errors
    /// The first rule the sample breaks.
    pub fn validate(self, now_ms: i64) -> Result<Observation, InvalidSample> {
        let series = SeriesKey {
            name: self.name,
            labels: self.labels,
        };
        series.validate()?;
        let value = match (self.kind, self.value, self.member) {
            (MetricKind::Set, None, Some(member)) => {
                if member.is_empty() || member.len() > MAX_MEMBER_LEN {
                    return Err(InvalidSample::BadMember { len: member.len() });
                }
                Observed::Member(member)
            }
            (MetricKind::Set, _, _) => return Err(InvalidSample::SetNeedsMember),
            (kind, Some(value), None) => {
                if !value.is_finite() {
                    return Err(InvalidSample::NonFiniteValue);
                }
                if kind == MetricKind::Counter && value < 0.0 {
                    return Err(InvalidSample::NegativeIncrement);
                }
                Observed::Number(value)
            }
            (kind, None, _) => return Err(InvalidSample::MissingValue { kind }),
            (kind, Some(_), Some(_)) => return Err(InvalidSample::MemberNotSet { kind }),
        };
        let ts = self.ts.unwrap_or(now_ms);
        if ts < MIN_TIMESTAMP_MS {
            return Err(InvalidSample::TimestampTooOld { ts });
        }
        if ts > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(InvalidSample::TimestampInFuture { ts });
        }
        Ok(Observation {
            series,
            kind: self.kind,
            ts,
            value,
        })
    }
}

/// A validated sample, ready to store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Observation {
    /// Which series.
    pub series: SeriesKey,
    /// Its kind.
    pub kind: MetricKind,
    /// When, in ms since the epoch.
    pub ts: i64,
    /// What was observed.
    pub value: Observed,
}

/// The payload of an observation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// Gauge value, counter increment, histogram observation.
    Number(f64),
    /// A change to a gauge's current value (StatsD's `+N|g` and `-N|g`).
    Change(f64),
    /// Set member.
    Member(String),
}

/// Minutes a set's distinct members are counted over in the current values' listing (its
/// 1-minute HyperLogLogs: this minute's and those before it).
pub const SET_LISTING_MINUTES: i64 = 5;

/// The latest value of one series.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CurrentValue {
    /// Which series.
    pub series: SeriesKey,
    /// Its latest value.
    pub value: f64,
    /// When that value was measured, in ms since the Unix epoch.
    pub ts: i64,
    /// The series' kind, which says what the value is (a gauge's value, a counter's running
    /// total, a histogram's last observation, a set's recent distinct count); absent in live
    /// updates, which keep the kind the listing gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MetricKind>,
}

impl CurrentValue {
    /// Whether `self` should replace `other` as the current value of the same series: a later
    /// measurement wins, so points that arrive out of order never roll the value back.
    #[must_use]
    pub fn supersedes(&self, other: &CurrentValue) -> bool {
        self.ts >= other.ts
    }
}

/// Why a sample was refused. Each message names the field at fault.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum InvalidSample {
    #[error("field `name`: must not be empty")]
    EmptyName,
    #[error("field `name`: `{name}` is reserved: {why}")]
    ReservedName { name: String, why: &'static str },
    #[error("field `name`: {len} bytes is longer than the limit of {MAX_NAME_LEN}")]
    NameTooLong { len: usize },
    #[error(
        "field `name`: {name:?} has {found:?} at position {position}; a metric name is \
         [a-zA-Z_:][a-zA-Z0-9_:]*"
    )]
    NameInvalidChar {
        name: String,
        found: char,
        position: usize,
    },
    #[error("field `labels`: {count} labels is more than the limit of {MAX_LABELS}")]
    TooManyLabels { count: usize },
    #[error("field `labels`: a label name must not be empty")]
    EmptyLabelName,
    #[error(
        "field `labels`: label name {label:?} is longer than the limit of {MAX_LABEL_NAME_LEN} bytes"
    )]
    LabelNameTooLong { label: String },
    #[error(
        "field `labels`: label name {label:?} is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with the \
         reserved `__`)"
    )]
    LabelNameInvalid { label: String },
    #[error(
        "field `labels`: the value of label {label:?} is {len} bytes, longer than the limit of \
         {MAX_LABEL_VALUE_LEN}"
    )]
    LabelValueTooLong { label: String, len: usize },
    #[error("field `value`: must be a finite number (not NaN or infinity)")]
    NonFiniteValue,
    #[error("field `value`: missing; a {} sample needs a number", kind.as_str())]
    MissingValue { kind: MetricKind },
    #[error("field `value`: a counter increment must not be negative")]
    NegativeIncrement,
    #[error("field `member`: a set sample needs a `member` string and no `value`")]
    SetNeedsMember,
    #[error("field `member`: only set samples have members, not {} samples", kind.as_str())]
    MemberNotSet { kind: MetricKind },
    #[error("field `member`: {len} bytes; a member is 1 to {MAX_MEMBER_LEN} bytes")]
    BadMember { len: usize },
    #[error(
        "field `ts`: {ts} is before the year 2000; `ts` is in milliseconds since the Unix epoch"
    )]
    TimestampTooOld { ts: i64 },
    #[error(
        "field `ts`: {ts} is more than an hour ahead of the server's clock; `ts` is in \
         milliseconds since the Unix epoch"
    )]
    TimestampInFuture { ts: i64 },
}

/// The counter of analytics events, labelled `event` (written only by `POST /api/v1/events`).
pub const EVENT_COUNT_METRIC: &str = "events";
/// The set of users who sent an analytics event, labelled `event` (a HyperLogLog per bucket).
pub const EVENT_USERS_METRIC: &str = "event_users";

/// Why `name` is livedash's own and not written from outside, if it is: its own metrics (the
/// Overview dashboard) and the event counts only `POST /api/v1/events` writes (funnels and
/// experiments read the same events from its log, so counts written apart would disagree).
#[must_use]
pub fn reserved_name(name: &str) -> Option<&'static str> {
    if name.starts_with("livedash_") {
        Some("names starting with `livedash_` are livedash's own metrics")
    } else if name == EVENT_COUNT_METRIC || name == EVENT_USERS_METRIC {
        Some("livedash counts analytics events there; send events to POST /api/v1/events")
    } else {
        None
    }
}

fn validate_metric_name(name: &str) -> Result<(), InvalidSample> {
    if name.is_empty() {
        return Err(InvalidSample::EmptyName);
    }
    if let Some(why) = reserved_name(name) {
        return Err(InvalidSample::ReservedName {
            name: name.to_owned(),
            why,
        });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(InvalidSample::NameTooLong { len: name.len() });
    }
    for (position, c) in name.chars().enumerate() {
        let ok =
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (position > 0 && c.is_ascii_digit());
        if !ok {
            return Err(InvalidSample::NameInvalidChar {
                name: name.to_owned(),
                found: c,
                position,
            });
        }
    }
    Ok(())
}

/// Checks a label name: letters, digits and `_`, not starting with a digit or `__`, not too long.
///
/// # Errors
/// What is wrong with it.
pub fn validate_label_name(label: &str) -> Result<(), InvalidSample> {
    if label.is_empty() {
        return Err(InvalidSample::EmptyLabelName);
    }
    if label.len() > MAX_LABEL_NAME_LEN {
        return Err(InvalidSample::LabelNameTooLong {
            label: label.to_owned(),
        });
    }
    let well_formed = label.chars().enumerate().all(|(position, c)| {
        c.is_ascii_alphabetic() || c == '_' || (position > 0 && c.is_ascii_digit())
    });
    if !well_formed || label.starts_with("__") {
        return Err(InvalidSample::LabelNameInvalid {
            label: label.to_owned(),
        });
    }
    Ok(())
}

/// Formats a timestamp (ms since the Unix epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
///
/// Pure integer arithmetic, so the server's first render and the browser agree to the letter.
#[must_use]
pub fn format_utc(ts_ms: i64) -> String {
    let secs = ts_ms.div_euclid(1000);
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Formats a timestamp (ms since the Unix epoch) as RFC 3339 with milliseconds,
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as Alertmanager and webhook receivers read times.
#[must_use]
pub fn format_rfc3339(ts_ms: i64) -> String {
    let secs = ts_ms.div_euclid(1000);
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        ts_ms.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_700_000_000;

    fn sample(name: &str) -> Sample {
        Sample::gauge(SeriesKey::new(name), 1.0, None)
    }

    /// Labels given in any order produce one canonical display form.
    #[test]
    fn display_is_canonical_and_escaped() {
        let a = SeriesKey::new("http_requests")
            .with_label("route", "/api")
            .with_label("method", "GET");
        let b = SeriesKey::new("http_requests")
            .with_label("method", "GET")
            .with_label("route", "/api");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), r#"http_requests{method="GET",route="/api"}"#);
        let odd = SeriesKey::new("m").with_label("q", "a\"b\\c\nd");
        assert_eq!(odd.to_string(), r#"m{q="a\"b\\c\nd"}"#);
    }

    /// Every refusal names the field at fault.
    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(Sample, &str)> = vec![
            (sample(""), "field `name`: must not be empty"),
            (
                sample(&"a".repeat(MAX_NAME_LEN + 1)),
                "longer than the limit",
            ),
            (sample("9lives"), "'9' at position 0"),
            (sample("cpu usage"), "' ' at position 3"),
            (
                sample("livedash_memory_bytes"),
                "`livedash_memory_bytes` is reserved: names starting with `livedash_`",
            ),
            (sample("events"), "send events to POST /api/v1/events"),
            (sample("event_users"), "`event_users` is reserved"),
            (
                Sample {
                    value: Some(f64::NAN),
                    ..sample("ok")
                },
                "field `value`",
            ),
            (
                Sample {
                    value: Some(f64::INFINITY),
                    ..sample("ok")
                },
                "finite",
            ),
            (
                Sample {
                    ts: Some(1_763_700_000),
                    ..sample("ok")
                },
                "before the year 2000",
            ),
            (
                Sample {
                    ts: Some(NOW * 1000),
                    ..sample("ok")
                },
                "ahead of the server's clock",
            ),
            (
                Sample {
                    labels: [("__name".to_owned(), "x".to_owned())].into(),
                    ..sample("ok")
                },
                "reserved",
            ),
            (
                Sample {
                    labels: [("host".to_owned(), "x".repeat(MAX_LABEL_VALUE_LEN + 1))].into(),
                    ..sample("ok")
                },
                "the value of label \"host\"",
            ),
            (
                Sample {
                    kind: MetricKind::Counter,
                    value: Some(-1.0),
                    ..sample("ok")
                },
                "must not be negative",
            ),
            (
                Sample {
                    kind: MetricKind::Set,
                    ..sample("ok")
                },
                "needs a `member`",
            ),
            (
                Sample {
                    value: None,
                    ..sample("ok")
                },
                "a gauge sample needs a number",
            ),
            (
                Sample {
                    member: Some("x".into()),
                    ..sample("ok")
                },
                "only set samples have members",
            ),
        ];
        for (sample, expected) in cases {
            let message = sample.clone().validate(NOW).unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{sample:?}: {message:?} lacks {expected:?}"
            );
        }
    }

    /// A valid sample keeps its timestamp, or gets the server's when it has none.
    #[test]
    fn valid_samples_are_stamped() {
        let stamped = sample("node:cpu_usage").validate(NOW).unwrap();
        assert_eq!(stamped.ts, NOW);
        let own = Sample {
            ts: Some(NOW - 5),
            ..sample("x")
        }
        .validate(NOW)
        .unwrap();
        assert_eq!(own.ts, NOW - 5);
    }

    /// Dates come out right across epochs, leap days and centuries.
    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_763_700_000_000), "2025-11-21 04:40:00 UTC");
        assert_eq!(format_utc(-1000), "1969-12-31 23:59:59 UTC");
    }
}
