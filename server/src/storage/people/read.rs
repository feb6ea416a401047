//! Reading one person back: their summary and timeline, in one round trip (their keys share a
//! slot).

use std::collections::BTreeMap;

use app::events::Event;
use app::people::Person;

use crate::storage::{StorageError, Store};

/// A person's keys as read: the summary hash, first and last event with their times, the first
/// source, the timeline.
type Stored = (
    BTreeMap<String, String>,
    Vec<(String, f64)>,
    Vec<String>,
    Vec<String>,
);

impl Store {
    /// Everything kept of `user_id` as a person; `None` when nothing is.
    ///
    /// # Errors
    /// Redis failed, or what it holds cannot be read.
    pub async fn person(&self, user_id: &str) -> Result<Option<Person>, StorageError> {
        let base = self.keys.person_base(user_id);
        let (summary, seen, source, timeline): Stored = redis::pipe()
            .cmd("HGETALL")
            .arg(format!("{base}s"))
            .cmd("ZRANGE")
            .arg(format!("{base}z"))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .cmd("ZRANGE")
            .arg(format!("{base}src"))
            .arg(0)
            .arg(0)
            .cmd("LRANGE")
            .arg(format!("{base}t"))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.connection())
            .await?;
        // Another id with the same hash is not this person.
        if summary.get("id").is_none_or(|id| id != user_id) {
            return Ok(None);
        }
        let corrupt = |key: &str, reason: String| StorageError::Corrupt {
            key: format!("{base}{key}"),
            reason,
        };
        let mut person = Person {
            user_id: user_id.to_owned(),
            ..Person::default()
        };
        for (field, value) in &summary {
            if field == "visits" {
                person.visits = value
                    .parse()
                    .map_err(|_| corrupt("s", format!("visits {value:?}")))?;
            } else if let Some(event) = field.strip_prefix("e:") {
                let count = value
                    .parse()
                    .map_err(|_| corrupt("s", format!("{field} {value:?}")))?;
                person.events.insert(event.to_owned(), count);
            }
        }
        for (member, ts) in seen {
            // Scores are doubles; these are whole milliseconds.
            let ts = ts as i64;
            match member.as_str() {
                "first" => person.first_seen = ts,
                "last" => person.last_seen = ts,
                _ => {}
            }
        }
        if let Some(source) = source.first() {
            person.first_source =
                serde_json::from_str(source).map_err(|error| corrupt("src", error.to_string()))?;
        }
        person.timeline = timeline
            .iter()
            .map(|entry| serde_json::from_str::<Event>(entry))
            .collect::<Result<_, _>>()
            .map_err(|error| corrupt("t", error.to_string()))?;
        // Pushed by arrival; shown by time.
        person
            .timeline
            .sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| a.event.cmp(&b.event)));
        Ok(Some(person))
    }
}
