//! `POST /api/v1/events`: JSON batches of analytics events.
//!
//! The body is an array of `{"event", "user_id", "ts"?, "properties"?}` objects (or one object);
//! property values are strings, numbers or booleans. As with samples, each event is checked on
//! its own: valid ones are kept, invalid ones are reported with their index and the field.

use std::collections::BTreeMap;

use app::events::{Event, InvalidEvent, MAX_EVENTS_PER_BATCH};
use serde::Deserialize;

use super::json::{MalformedBatch, ParsedItems, parse_items};

/// An event as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SentEvent {
    event: String,
    user_id: String,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default)]
    properties: BTreeMap<String, serde_json::Value>,
}

/// Parses and validates a batch of events, stamping those without `ts` with `now_ms`.
///
/// # Errors
/// The body is not JSON, not an array or object, or holds more than
/// [`MAX_EVENTS_PER_BATCH`] events.
pub fn parse_events(body: &[u8], now_ms: i64) -> Result<ParsedItems<Event>, MalformedBatch> {
    parse_items(body, "event", MAX_EVENTS_PER_BATCH, |item| {
        let sent: SentEvent = serde_json::from_value(item).map_err(|error| error.to_string())?;
        let mut properties = BTreeMap::new();
        for (name, value) in sent.properties {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                other => {
                    return Err(InvalidEvent::PropertyNotScalar {
                        name,
                        found: super::json::json_kind(&other),
                    }
                    .to_string());
                }
            };
            properties.insert(name, text);
        }
        let event = Event {
            event: sent.event,
            user_id: sent.user_id,
            ts: sent.ts.unwrap_or(now_ms),
            properties,
        };
        event.validate(now_ms).map_err(|error| error.to_string())?;
        Ok(event)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_700_000_000;

    /// Good events are kept beside bad ones, which name their field.
    #[test]
    fn keeps_good_events_and_names_bad_fields() {
        let body = br#"[
            {"event":"page_view","user_id":"u1","properties":{"path":"/","n":3,"ok":true}},
            {"event":"","user_id":"u2"},
            {"event":"a","user_id":"u3","properties":{"nested":{"x":1}}},
            {"event":"a","user":"u4"}
        ]"#;
        let parsed = parse_events(body, NOW).unwrap();
        assert_eq!(parsed.accepted.len(), 1);
        let (index, event) = &parsed.accepted[0];
        assert_eq!(*index, 0);
        assert_eq!(event.ts, NOW);
        assert_eq!(event.properties["n"], "3");
        assert_eq!(event.properties["ok"], "true");
        let errors: Vec<&str> = parsed.rejected.iter().map(|r| r.error.as_str()).collect();
        assert!(errors[0].contains("item 1") && errors[0].contains("\"event\""));
        assert!(errors[1].contains("property \"nested\"") && errors[1].contains("an object"));
        assert!(errors[2].contains("unknown field `user`"), "{}", errors[2]);
    }

    /// Not a batch at all, or too big a batch, is refused whole.
    #[test]
    fn refuses_malformed_batches() {
        assert!(matches!(
            parse_events(b"{", NOW),
            Err(MalformedBatch::Syntax { .. })
        ));
        let many = format!(
            "[{}]",
            vec![r#"{"event":"a","user_id":"u"}"#; MAX_EVENTS_PER_BATCH + 1].join(",")
        );
        let error = parse_events(many.as_bytes(), NOW).unwrap_err();
        assert!(error.to_string().contains("at most 10000"), "{error}");
    }
}
