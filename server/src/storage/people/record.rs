//! A batch's events added to each person: their timeline, event counts, visits, first and last
//! event and first source, and the sites registered; one pipeline (on a cluster, one per slot).

use std::collections::{BTreeMap, HashMap};

use app::events::Event;
use app::people::{SOURCE_PROPERTIES, TIMELINE_LEN};
use app::web::URL_PROPERTY;

use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

impl Store {
    /// Adds `events` to their people; `visits` is each user's change in their number of
    /// visits (from `record_web`).
    ///
    /// # Errors
    /// Redis failed.
    pub(crate) async fn record_people(
        &self,
        events: &[Event],
        visits: &HashMap<&str, i64>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut people: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
        for event in events {
            people
                .entry(event.user_id.as_str())
                .or_default()
                .push(event);
        }
        let expire_at = now_ms + self.events.settings.person_retention_ms;
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for (user, mut events) in people {
            events.sort_by_key(|event| event.ts);
            let base = self.keys.person_base(user);
            let timeline = format!("{base}t");
            let summary = format!("{base}s");
            let seen = format!("{base}z");
            // Pushed oldest first, so the newest ends at the head.
            let entries: Vec<String> = events
                .iter()
                .rev()
                .take(TIMELINE_LEN)
                .rev()
                .map(|event| serde_json::to_string(event).unwrap_or_default())
                .collect();
            batch.ignored("LPUSH", &timeline).arg(entries);
            batch
                .ignored("LTRIM", &timeline)
                .arg(0)
                .arg(TIMELINE_LEN - 1);
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for event in &events {
                *counts.entry(event.event.as_str()).or_default() += 1;
            }
            batch.ignored("HSET", &summary).arg("id").arg(user);
            for (event, count) in counts {
                batch
                    .ignored("HINCRBY", &summary)
                    .arg(format!("e:{event}"))
                    .arg(count);
            }
            if let Some(change) = visits.get(user).filter(|change| **change != 0) {
                batch
                    .ignored("HINCRBY", &summary)
                    .arg("visits")
                    .arg(*change);
            }
            let first = events.first().map_or(now_ms, |event| event.ts);
            let last = events.last().map_or(now_ms, |event| event.ts);
            batch
                .ignored("ZADD", &seen)
                .arg("LT")
                .arg(first)
                .arg("first");
            batch.ignored("ZADD", &seen).arg("GT").arg(last).arg("last");
            let mut keys = vec![timeline, summary, seen];
            if let Some(page) = events
                .iter()
                .find(|event| event.properties.contains_key(URL_PROPERTY))
            {
                let source = format!("{base}src");
                // Only the earliest stays: the first visit's.
                batch
                    .ignored("ZADD", &source)
                    .arg("LT")
                    .arg(page.ts)
                    .arg(source_of(page));
                batch.ignored("ZREMRANGEBYRANK", &source).arg(1).arg(-1);
                keys.push(source);
            }
            for key in keys {
                batch.ignored("PEXPIREAT", &key).arg(expire_at);
            }
        }
        let sites = self.note_sites(events, &mut batch);
        let () = batch.query(&connection).await?;
        self.events.sites.learn(sites);
        Ok(())
    }
}

/// The source properties `event` has, as a JSON object.
fn source_of(event: &Event) -> String {
    let source: BTreeMap<&str, &str> = SOURCE_PROPERTIES
        .iter()
        .filter_map(|name| {
            event
                .properties
                .get(*name)
                .filter(|value| !value.is_empty())
                .map(|value| (*name, value.as_str()))
        })
        .collect();
    serde_json::to_string(&source).unwrap_or_default()
}
