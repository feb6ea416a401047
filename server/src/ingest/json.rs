//! `POST /api/v1/ingest`: JSON batches of samples of every kind.
//!
//! The body is an array of `{"kind"?, "name", "labels"?, "value" | "member", "ts"?}` objects (a
//! single object is taken as a batch of one); `kind` is `gauge` (the default), `counter`,
//! `histogram` or `set`. Each item is checked on its own: valid items are kept, and every
//! invalid one is reported with its index and the field at fault, so that one bad item neither
//! hides the others' problems nor silently drops the good ones.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use app::model::{MetricKind, Observation, Sample};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::TooLarge;

/// The variable that sets how many samples one request may hold.
pub const MAX_SAMPLES_VARIABLE: &str = "LIVEDASH_MAX_BATCH_SAMPLES";

/// The outcome of parsing a batch of `T`s.
#[derive(Debug, PartialEq)]
pub struct ParsedItems<T> {
    /// Valid items with their index in the batch, in batch order.
    pub accepted: Vec<(usize, T)>,
    /// Invalid items, in batch order.
    pub rejected: Vec<RejectedItem>,
}

/// A parsed batch of samples.
pub type ParsedBatch = ParsedItems<Observation>;

/// One refused item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedItem {
    /// Its 0-based position in the batch.
    pub index: usize,
    /// What is wrong with it, naming the field.
    pub error: String,
}

/// The body is not a JSON batch at all; nothing in it can be taken.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum MalformedBatch {
    /// Not JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but neither an array nor an object.
    #[error("expected a JSON array of {what}s (or one {what} object), found {found}")]
    NotABatch {
        what: &'static str,
        found: &'static str,
    },
    /// The body could not be read.
    #[error("could not read the request body: {0}")]
    Unreadable(String),
}

/// Why a batch was refused whole.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Not a batch (`400`).
    #[error(transparent)]
    Malformed(#[from] MalformedBatch),
    /// Too many items (`413`).
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// A sample as sent: [`Sample`], read straight from its JSON text with every key at most once.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SentSample {
    #[serde(default)]
    kind: MetricKind,
    name: String,
    #[serde(default, deserialize_with = "unique_labels")]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    ts: Option<i64>,
}

/// Parses and validates a batch of at most `max` samples, stamping items without `ts` with
/// `now_ms`.
///
/// # Errors
/// The body is not JSON, not an array or object, or holds more than `max` items.
pub fn parse_batch(body: &[u8], now_ms: i64, max: usize) -> Result<ParsedBatch, BatchError> {
    let limit = ItemLimit {
        what: "samples",
        max,
        variable: MAX_SAMPLES_VARIABLE,
    };
    parse_items(body, "sample", limit, |item| {
        let sent: SentSample = serde_json::from_str(item).map_err(item_error)?;
        if let Some(value) = sent.value {
            super::storable(value).map_err(|reason| format!("field `value`: {reason}"))?;
        }
        let sample = Sample {
            kind: sent.kind,
            name: sent.name,
            labels: sent.labels,
            value: sent.value,
            member: sent.member,
            ts: sent.ts,
        };
        sample.validate(now_ms).map_err(|e| e.to_string())
    })
}

/// How many items one request may hold, and what to call them in a refusal.
#[derive(Clone, Copy, Debug)]
pub struct ItemLimit {
    /// The items, plural (`samples`).
    pub what: &'static str,
    /// The most one request may hold.
    pub max: usize,
    /// The variable that sets `max`.
    pub variable: &'static str,
}

/// Reads a JSON array (or a single object) of at most `limit.max` items (each a `what`) and
/// checks each with `check`, given the item's JSON text, which names what is wrong with a bad
/// one.
///
/// The array is split into its items' texts, borrowed from `body`, and counted before any item
/// is parsed; each item is then parsed straight into its type. What this holds besides the
/// body is one reference per item and the parsed items, never a tree of the whole document.
///
/// # Errors
/// The body is not JSON, not an array or object, or holds more than `limit.max` items.
pub fn parse_items<T>(
    body: &[u8],
    what: &'static str,
    limit: ItemLimit,
    check: impl Fn(&str) -> Result<T, String>,
) -> Result<ParsedItems<T>, BatchError> {
    let items = split_items(body, what, limit)?;
    let mut batch = ParsedItems {
        accepted: Vec::new(),
        rejected: Vec::new(),
    };
    for (index, item) in items.into_iter().enumerate() {
        match check(item.get()) {
            Ok(value) => batch.accepted.push((index, value)),
            Err(error) => batch.rejected.push(RejectedItem {
                index,
                error: format!("item {index}: {error}"),
            }),
        }
    }
    Ok(batch)
}

/// The items' JSON texts, borrowed from `body`.
fn split_items<'a>(
    body: &'a [u8],
    what: &'static str,
    limit: ItemLimit,
) -> Result<Vec<&'a RawValue>, BatchError> {
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'[') => {
            let mut deserializer = serde_json::Deserializer::from_slice(body);
            let items = deserializer
                .deserialize_seq(BoundedItems { max: limit.max })
                .map_err(syntax)?;
            deserializer.end().map_err(syntax)?;
            items.map_err(|got| {
                TooLarge::Items {
                    what: limit.what,
                    max: limit.max,
                    variable: limit.variable,
                    got: Some(got),
                }
                .into()
            })
        }
        Some(b'{') => Ok(vec![serde_json::from_slice(body).map_err(syntax)?]),
        _ => {
            let value: serde_json::Value = serde_json::from_slice(body).map_err(syntax)?;
            Err(MalformedBatch::NotABatch {
                what,
                found: json_kind(&value),
            }
            .into())
        }
    }
}

fn syntax(error: serde_json::Error) -> MalformedBatch {
    MalformedBatch::Syntax {
        line: error.line(),
        column: error.column(),
        message: strip_position(&error.to_string()),
    }
}

/// An item's error, without the position within the item's own text (which would read as a
/// position in the body).
pub(crate) fn item_error(error: serde_json::Error) -> String {
    strip_position(&error.to_string())
}

/// The elements of a JSON array as borrowed texts, or, past `max` of them, how many there are
/// (the rest are only scanned, not kept).
struct BoundedItems {
    max: usize,
}

impl<'de> Visitor<'de> for BoundedItems {
    type Value = Result<Vec<&'de RawValue>, usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if items.len() == self.max {
                let mut count = items.len() + 1;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Ok(Err(count));
            }
            items.push(item);
        }
        Ok(Ok(items))
    }
}

/// Deserializes `labels`, refusing a label named twice (a JSON object may repeat a key, and
/// which of the two values would win is up to the reader).
fn unique_labels<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    deserializer.deserialize_map(UniqueKeys::<String> {
        field: "labels",
        entries: PhantomData,
    })
}

/// A JSON object as a map, refusing a key that comes twice; `field` names the object in the
/// refusal.
pub(crate) struct UniqueKeys<V> {
    pub(crate) field: &'static str,
    pub(crate) entries: PhantomData<V>,
}

impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueKeys<V> {
    type Value = BTreeMap<String, V>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "an object (`{}`)", self.field)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "field `{}`: key {key:?} appears twice",
                    self.field
                )));
            }
            let value = map.next_value()?;
            entries.insert(key, value);
        }
        Ok(entries)
    }
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_700_000_000;
    const MAX: usize = 100;

    /// The example in docs/http-api.md parses into one stamped value.
    #[test]
    fn accepts_the_documented_example() {
        let body =
            br#"[{"name":"cpu_usage","labels":{"host":"a"},"value":42.5,"ts":1763700000000}]"#;
        let batch = parse_batch(body, NOW, MAX).unwrap();
        assert!(batch.rejected.is_empty());
        assert_eq!(batch.accepted.len(), 1);
        let (index, observation) = &batch.accepted[0];
        assert_eq!(*index, 0);
        assert_eq!(observation.value, app::model::Observed::Number(42.5));
        assert_eq!(observation.series.labels["host"], "a");
    }

    /// Good items survive next to bad ones, and each bad one names its index and field.
    #[test]
    fn reports_each_bad_item() {
        let body = br#"[
            {"name":"ok","value":1},
            {"name":"no_value"},
            {"name":"","value":1},
            {"name":"nan","value":"NaN"},
            {"name":"typo","valeu":1},
            {"name":"ok2","value":2, "ts": 1763700000}
        ]"#;
        let batch = parse_batch(body, NOW, MAX).unwrap();
        assert_eq!(batch.accepted.len(), 1);
        assert_eq!(batch.accepted[0].1.series.name, "ok");
        let errors: Vec<_> = batch.rejected.iter().map(|r| r.error.as_str()).collect();
        assert_eq!(
            batch.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(
            errors[0].starts_with("item 1: field `value`: missing"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("field `name`: must not be empty"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("invalid type: string \"NaN\""),
            "{errors:?}"
        );
        assert!(errors[3].contains("unknown field `valeu`"), "{errors:?}");
        assert!(errors[4].contains("field `ts`"), "{errors:?}");
    }

    /// Unparseable bodies say where parsing stopped; non-batches say what they were.
    #[test]
    fn malformed_bodies() {
        assert_eq!(
            parse_batch(b"[{\"name\":\"x\",\"value\":NaN}]", NOW, MAX).unwrap_err(),
            BatchError::Malformed(MalformedBatch::Syntax {
                line: 1,
                column: 22,
                message: "expected value".into()
            })
        );
        assert!(matches!(
            parse_batch(b"[{\"name\":\"x\",\"value\":1}", NOW, MAX).unwrap_err(),
            BatchError::Malformed(MalformedBatch::Syntax { .. })
        ));
        assert!(matches!(
            parse_batch(b"[{\"name\":\"x\",\"value\":1}] x", NOW, MAX).unwrap_err(),
            BatchError::Malformed(MalformedBatch::Syntax { .. })
        ));
        assert_eq!(
            parse_batch(b"42", NOW, MAX).unwrap_err().to_string(),
            "expected a JSON array of samples (or one sample object), found a number"
        );
        let single = parse_batch(br#" {"name":"x","value":3}"#, NOW, MAX).unwrap();
        assert_eq!(single.accepted.len(), 1);
        assert!(parse_batch(b" [ ] ", NOW, MAX).unwrap().accepted.is_empty());
    }

    /// A number too large for a double refuses its item, not the batch.
    #[test]
    fn out_of_range_numbers_refuse_their_item() {
        let batch = parse_batch(
            br#"[{"name":"x","value":1e999},{"name":"y","value":1}]"#,
            NOW,
            MAX,
        )
        .unwrap();
        assert_eq!(batch.accepted.len(), 1);
        assert!(
            batch.rejected[0].error.contains("number out of range"),
            "{:?}",
            batch.rejected
        );
    }

    /// Past the limit, the batch is refused whole, counted, naming the limit and its variable.
    #[test]
    fn refuses_more_items_than_the_limit() {
        let body = format!("[{}]", [r#"{"name":"x","value":1}"#; 4].join(","));
        assert_eq!(
            parse_batch(body.as_bytes(), NOW, 4).unwrap().accepted.len(),
            4
        );
        let error = parse_batch(body.as_bytes(), NOW, 3).unwrap_err();
        assert_eq!(
            error,
            BatchError::TooLarge(TooLarge::Items {
                what: "samples",
                max: 3,
                variable: "LIVEDASH_MAX_BATCH_SAMPLES",
                got: Some(4)
            })
        );
        assert_eq!(
            error.to_string(),
            "a request holds at most 3 samples (the limit LIVEDASH_MAX_BATCH_SAMPLES sets), got \
             4; send several smaller batches"
        );
    }

    /// A key given twice refuses its item, naming the key, at the top level and in `labels`.
    #[test]
    fn duplicate_keys_refuse_their_item() {
        let body = br#"[
            {"name":"a","value":1,"value":2},
            {"name":"b","labels":{"host":"x","host":"y"},"value":1},
            {"name":"c","labels":{"host":"x","zone":"y"},"value":1}
        ]"#;
        let batch = parse_batch(body, NOW, MAX).unwrap();
        assert_eq!(batch.accepted.len(), 1);
        assert_eq!(batch.accepted[0].0, 2);
        let errors: Vec<&str> = batch.rejected.iter().map(|r| r.error.as_str()).collect();
        assert_eq!(errors[0], "item 0: duplicate field `value`");
        assert_eq!(
            errors[1],
            "item 1: field `labels`: key \"host\" appears twice"
        );
    }

    /// A value whose sums could overflow to infinity is refused, saying why.
    #[test]
    fn refuses_values_beyond_the_largest_magnitude() {
        let body = br#"[{"name":"a","value":1e100},{"name":"b","value":-1.5e100},
            {"kind":"counter","name":"c","value":1e308}]"#;
        let batch = parse_batch(body, NOW, MAX).unwrap();
        assert_eq!(batch.accepted.len(), 1);
        assert_eq!(
            batch.rejected[0].error,
            "item 1: field `value`: -1.5e100 is beyond ±1e100, the largest magnitude livedash \
             stores (so that totals and sums of values stay finite)"
        );
        assert!(batch.rejected[1].error.contains("1e308 is beyond"));
    }
}
