//! Reading one person back: their summary and timeline, in one round trip (their keys share a
//! slot).

use std::collections::BTreeMap;

use app::events::Event;
use app::people::Person;

use crate::storage::{StorageError, Store};

impl Store {
    /// Everything kept of `user_id` as a person; `None` when nothing is.
    ///
    /// # Errors
    /// Redis failed, or what it holds cannot be read.
    pub async fn person(&self, user_id: &str) -> Result<Option<Person>, StorageError> {
        let base = self.keys.person_base(user_id);
        let (summary, timeline): (BTreeMap<String, String>, Vec<String>) = redis::pipe()
            .cmd("HGETALL")
            .arg(format!("{base}s"))
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
        let number = |field: &str, value: &str| {
            value
                .parse::<i64>()
                .map_err(|_| corrupt("s", format!("{field} {value:?}")))
        };
        let mut person = Person {
            user_id: user_id.to_owned(),
            ..Person::default()
        };
        for (field, value) in &summary {
            match field.as_str() {
                "visits" => person.visits = number(field, value)?,
                "first" => person.first_seen = number(field, value)?,
                "last" => person.last_seen = number(field, value)?,
                "src" => {
                    person.first_source = serde_json::from_str(value)
                        .map_err(|error| corrupt("s", error.to_string()))?;
                }
                _ => {
                    if let Some(event) = field.strip_prefix("e:") {
                        let count = number(field, value)?;
                        person
                            .events
                            .insert(event.to_owned(), u64::try_from(count).unwrap_or_default());
                    }
                }
            }
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
