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

use std::collections::BTreeMap;

use app::model::SeriesKey;

use super::{label_name_from, metric_name_from_parts};

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

/// One numeric sample taken from a line.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePoint {
    /// `<measurement>_<field>` plus the tags.
    pub series: SeriesKey,
    /// The field's value (booleans as 1 and 0).
    pub value: f64,
    /// Milliseconds since the epoch, if the line had a timestamp.
    pub ts: Option<i64>,
    /// 1-based line number, for error messages further on.
    pub line: usize,
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
    /// Refused lines.
    pub errors: Vec<LineError>,
    /// String fields skipped (they carry no number).
    pub skipped_string_fields: usize,
}

/// A parsed field value.
#[derive(Clone, Debug, PartialEq)]
enum FieldValue {
    Number(f64),
    Text,
}

/// Parses a whole body. Bad lines are reported with their numbers; good lines are kept.
#[must_use]
pub fn parse(body: &str, precision: Precision) -> ParsedLines {
    let mut parsed = ParsedLines::default();
    for (index, raw) in body.split('\n').enumerate() {
        let line_number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line, precision) {
            Ok((points, skipped)) => {
                parsed.skipped_string_fields += skipped;
                parsed
                    .points
                    .extend(points.into_iter().map(|(series, value, ts)| LinePoint {
                        series,
                        value,
                        ts,
                        line: line_number,
                    }));
            }
            Err(error) => parsed.errors.push(LineError {
                line: line_number,
                error: format!("line {line_number}: {error}"),
            }),
        }
    }
    parsed
}

type LineSamples = (Vec<(SeriesKey, f64, Option<i64>)>, usize);

fn parse_line(line: &str, precision: Precision) -> Result<LineSamples, String> {
    let mut cursor = Cursor::new(line);
    let measurement = cursor.take_until(&[',', ' '], Escapes::Measurement)?;
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut labels = BTreeMap::new();
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
        labels.insert(label_name_from(&key), value);
    }
    if !cursor.eat(' ') {
        return Err(format!("measurement {measurement:?} has no fields"));
    }
    let mut fields = Vec::new();
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
        fields.push((key, value));
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

    let mut samples = Vec::with_capacity(fields.len());
    let mut skipped = 0;
    let numbers = fields
        .iter()
        .filter(|(_, value)| matches!(value, FieldValue::Number(_)))
        .count();
    let mut labels = Some(labels);
    for (key, value) in fields {
        match value {
            FieldValue::Number(number) => {
                // The last numeric field takes the labels; the others get copies.
                let labels = if samples.len() + 1 == numbers {
                    labels.take().unwrap_or_default()
                } else {
                    labels.clone().unwrap_or_default()
                };
                let series = SeriesKey {
                    name: metric_name_from_parts(&[&measurement, "_", &key]),
                    labels,
                };
                samples.push((series, number, ts));
            }
            FieldValue::Text => skipped += 1,
        }
    }
    Ok((samples, skipped))
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
    if !value.is_finite() {
        return Err(format!("{token:?} is not finite"));
    }
    Ok(FieldValue::Number(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Vec<LinePoint> {
        let parsed = parse(line, Precision::Nanoseconds);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.points
    }

    fn error(line: &str) -> String {
        let parsed = parse(line, Precision::Nanoseconds);
        assert_eq!(parsed.errors.len(), 1, "{line}: {parsed:?}");
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
        assert_eq!(points[0].ts, Some(1_556_813_561_098));
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
            parse(r#"m s="x",n=1"#, Precision::Nanoseconds).skipped_string_fields,
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
        let parsed = parse(
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
        let at = |precision, ts: &str| parse(&format!("m v=1 {ts}"), precision).points[0].ts;
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
        assert_eq!(one("m v=1")[0].ts, None);
        assert_eq!(Precision::parse("us"), Ok(Precision::Microseconds));
        assert!(Precision::parse("days").unwrap_err().contains("\"days\""));
    }

    /// Comments, blank lines and CRLF are skipped; bad lines are refused with their numbers
    /// while good lines around them are kept.
    #[test]
    fn bad_lines_are_numbered() {
        let body = "# a comment\r\ncpu v=1\r\n\r\ncpu\ncpu v=\ncpu v=1x\ncpu,host v=1\ncpu v=1 notatime\ncpu v=\"open\ncpu v=2 1700000000000000000\n";
        let parsed = parse(body, Precision::Nanoseconds);
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
}
