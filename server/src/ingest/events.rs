//! `POST /api/v1/events`: JSON batches of analytics events.
//!
//! The body is an array of `{"event", "user_id", "ts"?, "properties"?}` objects (or one object;
//! a page event, with a `url` property, may leave out `user_id` to be counted without cookies);
//! property values are strings, numbers or booleans. As with samples, each event is checked on
//! its own: valid ones are kept, invalid ones are reported with their index and the field.

use std::collections::BTreeMap;
use std::fmt;

use app::events::{Event, InvalidEvent};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::json::{BatchError, ItemLimit, ParsedItems, item_error, parse_items};
use super::web::cookieless::ANONYMOUS;
use app::web::URL_PROPERTY;

/// The variable that sets how many events one request may hold.
pub const MAX_EVENTS_VARIABLE: &str = "LIVEDASH_MAX_BATCH_EVENTS";

/// An event as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SentEvent {
    event: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default, deserialize_with = "properties")]
    properties: BTreeMap<String, String>,
}

/// Parses and validates a batch of at most `max` events, stamping those without `ts` with
/// `now_ms`.
///
/// # Errors
/// The body is not JSON, not an array or object, or holds more than `max` events.
pub fn parse_events(
    body: &[u8],
    now_ms: i64,
    max: usize,
) -> Result<ParsedItems<Event>, BatchError> {
    let limit = ItemLimit {
        what: "events",
        max,
        variable: MAX_EVENTS_VARIABLE,
    };
    parse_items(body, "event", limit, |item| {
        let sent: SentEvent = serde_json::from_str(item).map_err(item_error)?;
        // A page event without an id is counted without cookies: ingest gives it the
        // visitor's id of the day.
        let user_id = match sent.user_id {
            Some(id) => id,
            None if sent.properties.contains_key(URL_PROPERTY) => ANONYMOUS.to_owned(),
            None => {
                return Err("missing field `user_id` (only page events, with a `url` \
                            property, may leave it out)"
                    .to_owned());
            }
        };
        let event = Event {
            event: sent.event,
            user_id,
            ts: sent.ts.unwrap_or(now_ms),
            properties: sent.properties,
        };
        event.validate(now_ms).map_err(|error| error.to_string())?;
        Ok(event)
    })
}

/// Deserializes `properties`: each value a string, number or boolean, taken as its text (a
/// number as JSON writes it), each name at most once. A nested value is refused as soon as it
/// starts, without reading it into memory.
fn properties<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct Properties;

    impl<'de> Visitor<'de> for Properties {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an object of properties")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut properties = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                if properties.contains_key(&name) {
                    return Err(de::Error::custom(format_args!(
                        "field `properties`: property {name:?} appears twice"
                    )));
                }
                let text = map.next_value_seed(PropertyValue { name: &name })?;
                properties.insert(name, text);
            }
            Ok(properties)
        }
    }

    deserializer.deserialize_map(Properties)
}

/// One property's value as text; `name` names it in a refusal.
struct PropertyValue<'a> {
    name: &'a str,
}

impl PropertyValue<'_> {
    fn not_scalar<E: de::Error>(&self, found: &'static str) -> E {
        E::custom(InvalidEvent::PropertyNotScalar {
            name: self.name.to_owned(),
            found,
        })
    }
}

impl<'de> DeserializeSeed<'de> for PropertyValue<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertyValue<'_> {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string, number or boolean")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        Ok(text)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<String, E> {
        Ok(flag.to_string())
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<String, E> {
        Ok(number.to_string())
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<String, E> {
        Ok(number.to_string())
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<String, E> {
        // As serde_json writes a float (`1.0`, `1e300`), the text a property always had.
        serde_json::Number::from_f64(number)
            .map(|number| number.to_string())
            .ok_or_else(|| self.not_scalar("a number that is not finite"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.not_scalar("null"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.not_scalar("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.not_scalar("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_700_000_000;
    const MAX: usize = 10;

    /// Good events are kept beside bad ones, which name their field.
    #[test]
    fn keeps_good_events_and_names_bad_fields() {
        let body = br#"[
            {"event":"page_view","user_id":"u1","properties":{"path":"/","n":3,"ok":true}},
            {"event":"","user_id":"u2"},
            {"event":"a","user_id":"u3","properties":{"nested":{"x":1}}},
            {"event":"a","user":"u4"}
        ]"#;
        let parsed = parse_events(body, NOW, MAX).unwrap();
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

    /// Only a page event may come without a user id: it is marked for a cookieless id.
    #[test]
    fn page_events_may_leave_out_the_user_id() {
        let body = br#"[
            {"event":"page_view","properties":{"url":"https://a.test/","path":"/"}},
            {"event":"signup"}
        ]"#;
        let parsed = parse_events(body, NOW, MAX).unwrap();
        assert_eq!(parsed.accepted.len(), 1);
        assert_eq!(parsed.accepted[0].1.user_id, ANONYMOUS);
        assert!(
            parsed.rejected[0].error.contains("item 1")
                && parsed.rejected[0].error.contains("`user_id`"),
            "{}",
            parsed.rejected[0].error
        );
    }

    /// Not a batch at all, or too big a batch, is refused whole.
    #[test]
    fn refuses_malformed_batches() {
        assert!(matches!(
            parse_events(b"{", NOW, MAX),
            Err(BatchError::Malformed(_))
        ));
        let many = format!(
            "[{}]",
            [r#"{"event":"a","user_id":"u"}"#; MAX + 1].join(",")
        );
        let error = parse_events(many.as_bytes(), NOW, MAX).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a request holds at most 10 events (the limit LIVEDASH_MAX_BATCH_EVENTS sets), got \
             11; send several smaller batches"
        );
    }

    /// A property named twice refuses its event, as does a field given twice; numbers keep
    /// the text JSON gives them.
    #[test]
    fn duplicate_keys_refuse_their_event() {
        let body = br#"[
            {"event":"a","user_id":"u","properties":{"path":"/a","path":"/b"}},
            {"event":"a","event":"b","user_id":"u"},
            {"event":"a","user_id":"u","properties":{"x":1.0,"y":1e300,"z":2}}
        ]"#;
        let parsed = parse_events(body, NOW, MAX).unwrap();
        let errors: Vec<&str> = parsed.rejected.iter().map(|r| r.error.as_str()).collect();
        assert_eq!(
            errors,
            [
                "item 0: field `properties`: property \"path\" appears twice",
                "item 1: duplicate field `event`"
            ]
        );
        let properties = &parsed.accepted[0].1.properties;
        assert_eq!(
            (
                &properties["x"][..],
                &properties["y"][..],
                &properties["z"][..]
            ),
            ("1.0", "1e+300", "2")
        );
    }
}
