//! InfluxDB line protocol, as Telegraf and the InfluxDB client libraries send it to
//! `/api/v2/write` and `/write`.
//!
//! `measurement[,tag=value…] field=value[,field=value…] [timestamp]`, one point per line, with the
//! specification's escaping: `\,` and `\ ` in measurements; `\,`, `\=` and `\ ` in tag keys,
//! tag values and field keys; `\"` and `\\` in string field values. Field values are floats
//! (`1`, `-1.5e3`), integers (`1i`), unsigned integers (`1u`), booleans (`t`, `true`, `F`, …) or
//! strings (`"…"`). Lines starting with `#` and blank lines are skipped.
//!
//! Each numeric or boolean field becomes one sample of the metric `<measurement>_<field>`
//! (characters outside the metric-name grammar become `_`), with the tags as labels. String
//! fields carry no number to chart; they are counted and skipped, not refused.
//!
//! As in InfluxDB, a field named twice in one line keeps its last value, and a tag named twice
//! refuses the line; so do two different tags (or fields) that become the same label (or
//! metric) name here. Each line is checked on its own, its bytes too: a line that is not UTF-8
//! is refused like any other bad line, and the lines around it are kept.

use std::collections::{BTreeMap, HashMap};

use app::model::{Observation, Sample, SeriesKey};

use super::{TooLarge, label_name_from, metric_name_from_parts};

/// Refused lines whose messages are kept (the answer lists fewer); the others are counted.
pub const MAX_KEPT_LINE_ERRORS: usize = 100;

/// Timestamp precision of a write (`precision` query parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// Nanoseconds (the default of both APIs).
    #[default]
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Minutes (1.x only).
    Minutes,
    /// Hours (1.x only).
    Hours,
}

impl Precision {
    /// Parses the `precision` parameter: `ns`/`n`, `us`/`u`, `ms`, `s`, `m`, `h`.
    ///
    /// # Errors
    /// Any other value; the message lists the accepted ones.
    pub fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "ns" | "n" => Self::Nanoseconds,
            "us" | "u" | "µs" => Self::Microseconds,
            "ms" => Self::Milliseconds,
            "s" => Self::Seconds,
            "m" => Self::Minutes,
            "h" => Self::Hours,
            other => {
                return Err(format!(
                    "precision {other:?} is not one of ns, us, ms, s (or n, u, m, h for /write)"
                ));
            }
        })
    }

    /// Converts a timestamp in this precision to milliseconds (truncating below a millisecond).
    fn to_millis(self, timestamp: i64) -> Option<i64> {
        match self {
            Self::Nanoseconds => Some(timestamp.div_euclid(1_000_000)),
            Self::Microseconds => Some(timestamp.div_euclid(1_000)),
            Self::Milliseconds => Some(timestamp),
            Self::Seconds => timestamp.checked_mul(1_000),
            Self::Minutes => timestamp.checked_mul(60_000),
            Self::Hours => timestamp.checked_mul(3_600_000),
        }
    }
}

/// What one body may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineLimits {
    /// Most samples (numeric fields) in all (`LIVEDASH_MAX_BATCH_SAMPLES`).
    pub max_samples: usize,
    /// Most bytes of series (each sample's metric name and labels) in all: the body limit,
    /// `LIVEDASH_MAX_BODY_BYTES`, so that a line of many fields and long tags, each field a
    /// series with a copy of the tags, takes no more than a body could.
    pub max_series_bytes: usize,
}

/// One sample taken from a valid line, validated as a gauge sample (stamped with the time of
/// receipt when the line had no timestamp).
#[derive(Clone, Debug, PartialEq)]
pub struct LinePoint {
    /// 1-based line number; the samples of one line are adjacent.
    pub line: usize,
    /// `<measurement>_<field>` plus the tags, its value (booleans as 1 and 0) and time.
    pub observation: Observation,
}

/// A refused line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub error: String,
}

/// The outcome of parsing a body.
#[derive(Debug, Default, PartialEq)]
pub struct ParsedLines {
    /// Samples from the valid lines.
    pub points: Vec<LinePoint>,
    /// The first [`MAX_KEPT_LINE_ERRORS`] refused lines, in order.
    pub errors: Vec<LineError>,
    /// How many lines were refused in all.
    pub refused_lines: usize,
    /// String fields skipped (they carry no number).
    pub skipped_string_fields: usize,
}

impl ParsedLines {
    fn refuse(&mut self, line: usize, error: &str) {
        self.refused_lines += 1;
        if self.errors.len() < MAX_KEPT_LINE_ERRORS {
            self.errors.push(LineError {
                line,
                error: format!("line {line}: {error}"),
            });
        }
    }
}

/// A parsed field value.
#[derive(Clone, Debug, PartialEq)]
enum FieldValue {
    Number(f64),
    Text,
}

/// Parses a whole body, stamping lines without a timestamp with `now_ms`. Bad lines are
/// reported with their numbers; good lines are kept, each whole or not at all.
///
/// # Errors
/// The good lines hold more than `limits` allow; nothing of the body may then be stored.
pub fn parse(
    body: &[u8],
    precision: Precision,
    now_ms: i64,
    limits: LineLimits,
) -> Result<ParsedLines, TooLarge> {
    let mut parsed = ParsedLines::default();
    let mut series_bytes = 0_usize;
    for (index, raw) in body.split(|byte| *byte == b'\n').enumerate() {
        let line_number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line.trim_start(),
            Err(error) => {
                parsed.refuse(
                    line_number,
                    &format!(
                        "not UTF-8 (an invalid byte at column {})",
                        error.valid_up_to() + 1
                    ),
                );
                continue;
            }
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = match parse_line(line, precision) {
            Ok(line) => line,
            Err(error) => {
                parsed.refuse(line_number, &error);
                continue;
            }
        };
        // Both limits are checked before the line's samples are made.
        let numbers = line.numbers();
        if parsed.points.len() + numbers > limits.max_samples {
            return Err(TooLarge::Items {
                what: "samples",
                max: limits.max_samples,
                variable: super::json::MAX_SAMPLES_VARIABLE,
                got: None,
            });
        }
        series_bytes = series_bytes.saturating_add(line.series_bytes());
        if series_bytes > limits.max_series_bytes {
            return Err(TooLarge::Expanded {
                max: limits.max_series_bytes,
            });
        }
        match line.into_samples(now_ms) {
            Ok((samples, skipped)) => {
                parsed.skipped_string_fields += skipped;
                parsed
                    .points
                    .extend(samples.into_iter().map(|observation| LinePoint {
                        line: line_number,
                        observation,
                    }));
            }
            Err(error) => parsed.refuse(line_number, &error),
        }
    }
    Ok(parsed)
}

/// A line taken apart, its field names as sent.
struct Line {
    measurement: String,
    labels: BTreeMap<String, String>,
    /// Each field once, with its last value (as InfluxDB keeps it), in the order of first
    /// appearance.
    fields: Vec<(String, FieldValue)>,
    ts: Option<i64>,
}

impl Line {
    fn numbers(&self) -> usize {
        self.fields
            .iter()
            .filter(|(_, value)| matches!(value, FieldValue::Number(_)))
            .count()
    }

    /// The bytes of the series its samples name: each numeric field's metric name and a copy
    /// of the labels.
    fn series_bytes(&self) -> usize {
        let labels: usize = self.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.fields
            .iter()
            .filter(|(_, value)| matches!(value, FieldValue::Number(_)))
            .map(|(key, _)| self.measurement.len() + 1 + key.len() + labels)
            .fold(0, usize::saturating_add)
    }

    /// The line's samples, validated, and how many string fields were skipped.
    fn into_samples(self, now_ms: i64) -> Result<(Vec<Observation>, usize), String> {
        let numbers = self.numbers();
        let mut samples = Vec::with_capacity(numbers);
        let mut skipped = 0;
        // Two different fields must not become one metric: one would silently hide the other.
        let mut names: HashMap<String, &str> = HashMap::with_capacity(numbers);
        let mut labels = Some(self.labels);
        for (key, value) in &self.fields {
            let FieldValue::Number(number) = value else {
                skipped += 1;
                continue;
            };
            let name = metric_name_from_parts(&[&self.measurement, "_", key]);
            if let Some(other) = names.insert(name.clone(), key) {
                return Err(format!(
                    "fields {other:?} and {key:?} both become metric {name:?}; rename one"
                ));
            }
            // The last numeric field takes the labels; the others get copies.
            let labels = if samples.len() + 1 == numbers {
                labels.take().unwrap_or_default()
            } else {
                labels.clone().unwrap_or_default()
            };
            let observation = Sample::gauge(SeriesKey { name, labels }, *number, self.ts)
                .validate(now_ms)
                .map_err(|error| error.to_string())?;
            samples.push(observation);
        }
        Ok((samples, skipped))
    }
}

fn parse_line(line: &str, precision: Precision) -> Result<Line, String> {
    let mut cursor = Cursor::new(line);
    let measurement = cursor.take_until(&[',', ' '], Escapes::Measurement)?;
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut labels = BTreeMap::new();
    // Each label's tag as sent, to name both tags when two become one label.
    let mut sent_as: HashMap<String, String> = HashMap::new();
    while cursor.eat(',') {
        let key = cursor.take_until(&['=', ',', ' '], Escapes::Key)?;
        if !cursor.eat('=') {
            return Err(format!("tag {key:?} has no '=value'"));
        }
        let value = cursor.take_until(&[',', ' '], Escapes::Key)?;
        if key.is_empty() || value.is_empty() {
            return Err(format!(
                "tag {key:?}={value:?}: keys and values must not be empty"
            ));
        }
        let label = label_name_from(&key);
        if let Some(other) = sent_as.get(&label) {
            return Err(if *other == key {
                format!("tag {key:?} appears twice (InfluxDB refuses such a line too)")
            } else {
                format!("tags {other:?} and {key:?} both become label {label:?}; rename one")
            });
        }
        sent_as.insert(label.clone(), key);
        labels.insert(label, value);
    }
    if !cursor.eat(' ') {
        return Err(format!("measurement {measurement:?} has no fields"));
    }
    let mut fields: Vec<(String, FieldValue)> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    loop {
        let key = cursor.take_until(&['=', ',', ' '], Escapes::Key)?;
        if key.is_empty() {
            return Err("empty field key".into());
        }
        if !cursor.eat('=') {
            return Err(format!("field {key:?} has no '=value'"));
        }
        let value = cursor
            .field_value()
            .map_err(|e| format!("field {key:?}: {e}"))?;
        // A field named twice keeps its last value, as InfluxDB does.
        match position.get(&key) {
            Some(&at) => fields[at].1 = value,
            None => {
                position.insert(key.clone(), fields.len());
                fields.push((key, value));
            }
        }
        if !cursor.eat(',') {
            break;
        }
    }
    let ts = if cursor.eat(' ') {
        let text = cursor.rest().trim();
        if text.is_empty() {
            None
        } else {
            let raw: i64 = text
                .parse()
                .map_err(|_| format!("timestamp {text:?} is not an integer"))?;
            Some(
                precision
                    .to_millis(raw)
                    .ok_or_else(|| format!("timestamp {raw} overflows"))?,
            )
        }
    } else if cursor.rest().is_empty() {
        None
    } else {
        return Err(format!("unexpected {:?} after the fields", cursor.rest()));
    };
    Ok(Line {
        measurement,
        labels,
        fields,
        ts,
    })
}

#[derive(Clone, Copy)]
enum Escapes {
    /// Measurement: `\,` and `\ `.
    Measurement,
    /// Tag keys and values, field keys: `\,`, `\=` and `\ `.
    Key,
}

struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, position: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.position += expected.len_utf8();
            true
        } else {
            false
        }
    }

    /// Reads up to (not including) an unescaped stop character or the end.
    fn take_until(&mut self, stops: &[char], escapes: Escapes) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices().peekable();
        let start = self.position;
        while let Some((offset, c)) = chars.next() {
            if c == '\\' {
                if let Some(&(_, next)) = chars.peek() {
                    let escapable = match escapes {
                        Escapes::Measurement => matches!(next, ',' | ' '),
                        Escapes::Key => matches!(next, ',' | '=' | ' '),
                    };
                    if escapable {
                        out.push(next);
                        chars.next();
                        continue;
                    }
                }
                out.push('\\');
                continue;
            }
            if stops.contains(&c) {
                self.position = start + offset;
                return Ok(out);
            }
            if c == '\n' {
                return Err("unexpected newline".into());
            }
            out.push(c);
        }
        self.position = self.text.len();
        Ok(out)
    }

    fn field_value(&mut self) -> Result<FieldValue, String> {
        if self.eat('"') {
            let mut escaped = false;
            for (offset, c) in self.rest().char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    self.position += offset + 1;
                    return Ok(FieldValue::Text);
                }
            }
            return Err("unterminated string".into());
        }
        let rest = self.rest();
        let end = rest.find([',', ' ']).unwrap_or(rest.len());
        let token = &rest[..end];
        self.position += end;
        parse_scalar(token)
    }
}

fn parse_scalar(token: &str) -> Result<FieldValue, String> {
    if token.is_empty() {
        return Err("missing value".into());
    }
    match token {
        "t" | "T" | "true" | "True" | "TRUE" => return Ok(FieldValue::Number(1.0)),
        "f" | "F" | "false" | "False" | "FALSE" => return Ok(FieldValue::Number(0.0)),
        _ => {}
    }
    if let Some(integer) = token.strip_suffix('i') {
        let value: i64 = integer
            .parse()
            .map_err(|_| format!("{token:?} is not a valid integer"))?;
        return Ok(FieldValue::Number(value as f64));
    }
    if let Some(unsigned) = token.strip_suffix('u') {
        let value: u64 = unsigned
            .parse()
            .map_err(|_| format!("{token:?} is not a valid unsigned integer"))?;
        return Ok(FieldValue::Number(value as f64));
    }
    let looks_numeric = token
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    let value: f64 = token
        .parse()
        .ok()
        .filter(|_| looks_numeric)
        .ok_or_else(|| format!("{token:?} is not a number, boolean or quoted string"))?;
    super::storable(value).map(FieldValue::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_700_000_000;
    const LIMITS: LineLimits = LineLimits {
        max_samples: 1_000,
        max_series_bytes: 1 << 20,
    };

    /// A sample as the tests look at it.
    #[derive(Debug)]
    struct Point {
        series: SeriesKey,
        value: f64,
        ts: i64,
        line: usize,
    }

    #[derive(Debug)]
    struct Parsed {
        points: Vec<Point>,
        errors: Vec<LineError>,
        skipped_string_fields: usize,
    }

    fn parse_text(body: &str, precision: Precision) -> Parsed {
        let parsed = parse(body.as_bytes(), precision, NOW, LIMITS).unwrap();
        assert_eq!(parsed.refused_lines, parsed.errors.len());
        Parsed {
            points: parsed
                .points
                .into_iter()
                .map(|point| Point {
                    value: match point.observation.value {
                        app::model::Observed::Number(value) => value,
                        other => panic!("a line sample of {other:?}"),
                    },
                    series: point.observation.series,
                    ts: point.observation.ts,
                    line: point.line,
                })
                .collect(),
            errors: parsed.errors,
            skipped_string_fields: parsed.skipped_string_fields,
        }
    }

    fn one(line: &str) -> Vec<Point> {
        let parsed = parse_text(line, Precision::Nanoseconds);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.points
    }

    fn error(line: &str) -> String {
        let parsed = parse_text(line, Precision::Nanoseconds);
        assert_eq!(parsed.errors.len(), 1, "{line}: {:?}", parsed.errors);
        parsed.errors[0].error.clone()
    }

    /// The specification's basic example: tags, several fields, a nanosecond timestamp.
    #[test]
    fn basic_line() {
        let points = one(
            "myMeasurement,tag1=value1,tag2=value2 fieldKey=\"fieldValue\",f2=1.5 1556813561098000000",
        );
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].series.name, "myMeasurement_f2");
        assert_eq!(points[0].series.labels["tag1"], "value1");
        assert_eq!(points[0].series.labels["tag2"], "value2");
        assert_eq!(points[0].value, 1.5);
        assert_eq!(points[0].ts, 1_556_813_561_098);
    }

    /// Every field type of the specification.
    #[test]
    fn field_types() {
        let points = one(
            r#"m float=1.5,exp=-1.2e3,plain=42,int=7i,neg=-3i,uint=9u,t=t,tt=True,f=FALSE,s="x""#,
        );
        let values: Vec<(String, f64)> = points
            .iter()
            .map(|p| (p.series.name.clone(), p.value))
            .collect();
        assert_eq!(
            values,
            [
                ("m_float".to_owned(), 1.5),
                ("m_exp".to_owned(), -1200.0),
                ("m_plain".to_owned(), 42.0),
                ("m_int".to_owned(), 7.0),
                ("m_neg".to_owned(), -3.0),
                ("m_uint".to_owned(), 9.0),
                ("m_t".to_owned(), 1.0),
                ("m_tt".to_owned(), 1.0),
                ("m_f".to_owned(), 0.0),
            ]
        );
        assert_eq!(
            parse_text(r#"m s="x",n=1"#, Precision::Nanoseconds).skipped_string_fields,
            1
        );
    }

    /// The specification's escaping examples.
    #[test]
    fn escapes() {
        let points = one(r#"my\ Measurement fieldKey=1"#);
        assert_eq!(points[0].series.name, "my_Measurement_fieldKey");
        let points =
            one(r#"my\,Measurement,tag\ Key1=tag\ Value1,tag\,Key2=tag\=Value2 field\=Key=1"#);
        assert_eq!(points[0].series.name, "my_Measurement_field_Key");
        assert_eq!(points[0].series.labels["tag_Key1"], "tag Value1");
        assert_eq!(points[0].series.labels["tag_Key2"], "tag=Value2");
        let parsed = parse_text(
            r#"m s="string with \"quotes\" and , = spaces and \\",n=2"#,
            Precision::Nanoseconds,
        );
        assert!(parsed.errors.is_empty(), "{parsed:?}");
        assert_eq!(parsed.points[0].value, 2.0);
        assert_eq!(parsed.skipped_string_fields, 1);
        // A backslash before anything else is literal.
        assert_eq!(
            one(r"m,path=C:\dir v=1")[0].series.labels["path"],
            r"C:\dir"
        );
    }

    /// Timestamps in every precision become milliseconds.
    #[test]
    fn precisions() {
        let at =
            |precision, ts: &str| Some(parse_text(&format!("m v=1 {ts}"), precision).points[0].ts);
        assert_eq!(
            at(Precision::Nanoseconds, "1700000000123456789"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            at(Precision::Microseconds, "1700000000123456"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            at(Precision::Milliseconds, "1700000000123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            at(Precision::Seconds, "1700000000"),
            Some(1_700_000_000_000)
        );
        assert_eq!(at(Precision::Minutes, "28333333"), Some(1_699_999_980_000));
        assert_eq!(at(Precision::Hours, "472222"), Some(1_699_999_200_000));
        assert_eq!(one("m v=1")[0].ts, NOW);
        assert_eq!(Precision::parse("us"), Ok(Precision::Microseconds));
        assert!(Precision::parse("days").unwrap_err().contains("\"days\""));
    }

    /// Comments, blank lines and CRLF are skipped; bad lines are refused with their numbers
    /// while good lines around them are kept.
    #[test]
    fn bad_lines_are_numbered() {
        let body = "# a comment\r\ncpu v=1\r\n\r\ncpu\ncpu v=\ncpu v=1x\ncpu,host v=1\ncpu v=1 notatime\ncpu v=\"open\ncpu v=2 1700000000000000000\n";
        let parsed = parse_text(body, Precision::Nanoseconds);
        assert_eq!(parsed.points.len(), 2);
        assert_eq!(parsed.points[0].line, 2);
        assert_eq!(parsed.points[1].line, 10);
        let errors: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.error.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (4, "line 4: measurement \"cpu\" has no fields"),
                (5, "line 5: field \"v\": missing value"),
                (
                    6,
                    "line 6: field \"v\": \"1x\" is not a number, boolean or quoted string"
                ),
                (7, "line 7: tag \"host\" has no '=value'"),
                (8, "line 8: timestamp \"notatime\" is not an integer"),
                (9, "line 9: field \"v\": unterminated string"),
            ]
        );
    }

    /// Names that break the metric grammar are mapped onto it.
    #[test]
    fn names_are_sanitized() {
        let points = one("disk.io,dev-name=sda read-bytes=5");
        assert_eq!(points[0].series.name, "disk_io_read_bytes");
        assert_eq!(points[0].series.labels["dev_name"], "sda");
        assert_eq!(one("9lives v=1")[0].series.name, "_9lives_v");
        assert_eq!(
            error("m v=NaN"),
            "line 1: field \"v\": \"NaN\" is not a number, boolean or quoted string"
        );
    }

    /// A field named twice keeps its last value (as InfluxDB does); a tag named twice, or two
    /// tags or fields that become one name here, refuse the line.
    #[test]
    fn duplicate_names() {
        let points = one("m v=1,w=5,v=2");
        let values: Vec<(&str, f64)> = points
            .iter()
            .map(|p| (p.series.name.as_str(), p.value))
            .collect();
        assert_eq!(values, [("m_v", 2.0), ("m_w", 5.0)]);
        assert_eq!(one(r#"m v=1,v="text""#).len(), 0);
        assert_eq!(
            error("m,host=a,host=b v=1"),
            "line 1: tag \"host\" appears twice (InfluxDB refuses such a line too)"
        );
        assert_eq!(
            error("m,dev-name=a,dev_name=b v=1"),
            "line 1: tags \"dev-name\" and \"dev_name\" both become label \"dev_name\"; rename one"
        );
        assert_eq!(
            error("m read-bytes=1,read_bytes=2"),
            "line 1: fields \"read-bytes\" and \"read_bytes\" both become metric \"m_read_bytes\"; \
             rename one"
        );
    }

    /// A line that is not UTF-8 is refused alone; the lines around it are kept.
    #[test]
    fn invalid_utf8_refuses_its_line_only() {
        let body = b"a v=1\nb,host=x\xff v=2\nc v=3\n";
        let parsed = parse(body, Precision::Nanoseconds, NOW, LIMITS).unwrap();
        let names: Vec<&str> = parsed
            .points
            .iter()
            .map(|p| p.observation.series.name.as_str())
            .collect();
        assert_eq!(names, ["a_v", "c_v"]);
        assert_eq!(
            parsed.errors,
            [LineError {
                line: 2,
                error: "line 2: not UTF-8 (an invalid byte at column 9)".into()
            }]
        );
    }

    /// A line with a field that cannot be stored is refused whole, not in part.
    #[test]
    fn a_line_is_taken_whole() {
        let long = "f".repeat(250);
        let parsed = parse_text(
            &format!("m ok=1,{long}=2\nm,x=1 v=1e300"),
            Precision::Nanoseconds,
        );
        assert!(parsed.points.is_empty(), "{parsed:?}");
        assert!(
            parsed.errors[0].error.contains("longer than the limit"),
            "{parsed:?}"
        );
        assert_eq!(
            parsed.errors[1].error,
            "line 2: field \"v\": 1e300 is beyond ±1e100, the largest magnitude livedash \
             stores (so that totals and sums of values stay finite)"
        );
    }

    /// Past either limit, the body is refused whole.
    #[test]
    fn limits() {
        let body = b"m a=1,b=2\nm c=3\n";
        let limits = |max_samples, max_series_bytes| LineLimits {
            max_samples,
            max_series_bytes,
        };
        let parse_with = |limits| parse(body, Precision::Nanoseconds, NOW, limits);
        assert_eq!(parse_with(limits(3, 100)).unwrap().points.len(), 3);
        assert_eq!(
            parse_with(limits(2, 100)).unwrap_err(),
            TooLarge::Items {
                what: "samples",
                max: 2,
                variable: "LIVEDASH_MAX_BATCH_SAMPLES",
                got: None
            }
        );
        // Three series of "m_x": 3 bytes each.
        assert_eq!(parse_with(limits(3, 9)).unwrap().points.len(), 3);
        assert_eq!(
            parse_with(limits(3, 8)).unwrap_err(),
            TooLarge::Expanded { max: 8 }
        );
        // Each field carries a copy of the tags: 100 fields of 1 000 bytes of tags.
        let tags = "x".repeat(998);
        let fields: Vec<String> = (0..100).map(|i| format!("f{i}=1")).collect();
        let line = format!("m,t={tags} {}", fields.join(","));
        assert!(line.len() < 2_000);
        assert!(matches!(
            parse(
                line.as_bytes(),
                Precision::Nanoseconds,
                NOW,
                limits(1_000, 100_000)
            ),
            Err(TooLarge::Expanded { max: 100_000 })
        ));
    }

    /// Only the first refused lines keep their messages; all are counted.
    #[test]
    fn refused_lines_are_counted_beyond_the_kept_messages() {
        let body = "bad\n".repeat(MAX_KEPT_LINE_ERRORS + 5);
        let parsed = parse(body.as_bytes(), Precision::Nanoseconds, NOW, LIMITS).unwrap();
        assert_eq!(parsed.refused_lines, MAX_KEPT_LINE_ERRORS + 5);
        assert_eq!(parsed.errors.len(), MAX_KEPT_LINE_ERRORS);
    }
}
