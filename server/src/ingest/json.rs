//! `POST /api/v1/ingest`: JSON batches of samples of every kind.
//!
//! The body is an array of `{"kind"?, "name", "labels"?, "value" | "member", "ts"?}` objects (a
//! single object is taken as a batch of one); `kind` is `gauge` (the default), `counter`,
//! `histogram` or `set`. Each item is checked on its own: valid items are kept, and every
//! invalid one is reported with its index and the field at fault, so that one bad item neither
//! hides the others' problems nor silently drops the good ones.

use app::model::{Observation, Sample};
use serde::Serialize;

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
    /// More items than one batch may hold.
    #[error("a batch holds at most {max} items, got {got}; send several batches")]
    TooMany { max: usize, got: usize },
}

/// Parses and validates a batch, stamping items without `ts` with `now_ms`.
///
/// # Errors
/// The body is not JSON, or not an array or object.
pub fn parse_batch(body: &[u8], now_ms: i64) -> Result<ParsedBatch, MalformedBatch> {
    parse_items(body, "sample", usize::MAX, |item| {
        serde_json::from_value::<Sample>(item)
            .map_err(|error| error.to_string())
            .and_then(|sample| sample.validate(now_ms).map_err(|e| e.to_string()))
    })
}

/// Reads a JSON array (or a single object) of at most `max` items (each a `what`) and checks
/// each with `check`, which names what is wrong with a bad one.
///
/// # Errors
/// The body is not JSON, not an array or object, or holds more than `max` items.
pub fn parse_items<T>(
    body: &[u8],
    what: &'static str,
    max: usize,
    check: impl Fn(serde_json::Value) -> Result<T, String>,
) -> Result<ParsedItems<T>, MalformedBatch> {
    let document: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| MalformedBatch::Syntax {
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        })?;
    let items = match document {
        serde_json::Value::Array(items) => items,
        object @ serde_json::Value::Object(_) => vec![object],
        other => {
            return Err(MalformedBatch::NotABatch {
                what,
                found: json_kind(&other),
            });
        }
    };
    if items.len() > max {
        return Err(MalformedBatch::TooMany {
            max,
            got: items.len(),
        });
    }
    let mut batch = ParsedItems {
        accepted: Vec::new(),
        rejected: Vec::new(),
    };
    for (index, item) in items.into_iter().enumerate() {
        match check(item) {
            Ok(value) => batch.accepted.push((index, value)),
            Err(error) => batch.rejected.push(RejectedItem {
                index,
                error: format!("item {index}: {error}"),
            }),
        }
    }
    Ok(batch)
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

    /// The example from the README parses into one stamped value.
    #[test]
    fn accepts_the_documented_example() {
        let body =
            br#"[{"name":"cpu_usage","labels":{"host":"a"},"value":42.5,"ts":1763700000000}]"#;
        let batch = parse_batch(body, NOW).unwrap();
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
        let batch = parse_batch(body, NOW).unwrap();
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
            parse_batch(b"[{\"name\":\"x\",\"value\":NaN}]", NOW).unwrap_err(),
            MalformedBatch::Syntax {
                line: 1,
                column: 22,
                message: "expected value".into()
            }
        );
        assert!(matches!(
            parse_batch(b"[{\"name\":\"x\",\"value\":1e999}]", NOW).unwrap_err(),
            MalformedBatch::Syntax { .. }
        ));
        assert_eq!(
            parse_batch(b"42", NOW).unwrap_err().to_string(),
            "expected a JSON array of samples (or one sample object), found a number"
        );
        let single = parse_batch(br#"{"name":"x","value":3}"#, NOW).unwrap();
        assert_eq!(single.accepted.len(), 1);
    }
}
