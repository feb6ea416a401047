//! A batch's events added to each person: their timeline, event counts, first and last event
//! and first source, by one script call per slot and part of the batch ([`RECORD_LUA`]), beside
//! the batch's other writes; then the changes in their visits, once those are known; and the
//! sites registered.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use app::events::Event;
use app::people::{SOURCE_PROPERTIES, TIMELINE_LEN};
use app::web::URL_PROPERTY;
use futures::future::try_join_all;

use super::script::RECORD_LUA;
use crate::storage::keys::slot_of;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

static RECORD: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RECORD_LUA));

/// People per script call, so that one call stays brief.
const PEOPLE_PER_CALL: usize = 500;

impl Store {
    /// Adds `events` to their people (but their visits: [`Store::add_person_visits`]).
    ///
    /// # Errors
    /// Redis failed.
    pub(crate) async fn record_people(
        &self,
        events: &[Event],
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
        // On a cluster each person's keys are a slot of their own: one call per slot.
        let cluster = self.is_cluster();
        let mut groups: HashMap<u16, Vec<(&str, Vec<&Event>)>> = HashMap::new();
        for (user, events) in people {
            let slot = if cluster {
                slot_of(&self.keys.person_base(user))
            } else {
                0
            };
            groups.entry(slot).or_default().push((user, events));
        }
        let calls = groups.values().flat_map(|people| {
            people
                .chunks(PEOPLE_PER_CALL)
                .map(|chunk| self.record_some(chunk, expire_at))
        });
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        let sites = self.note_sites(events, &mut batch);
        let registered = async {
            if !batch.is_empty() {
                let () = batch.query(&connection).await?;
            }
            Ok::<_, StorageError>(())
        };
        futures::try_join!(try_join_all(calls), registered)?;
        self.events.sites.learn(sites);
        Ok(())
    }

    /// Adds each user's change in their number of visits (from `record_web`) to their person;
    /// most events extend a visit, so this is usually nothing.
    ///
    /// # Errors
    /// Redis failed.
    pub(crate) async fn add_person_visits(
        &self,
        visits: &HashMap<&str, i64>,
    ) -> Result<(), StorageError> {
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for (user, change) in visits {
            if *change != 0 {
                let summary = format!("{}s", self.keys.person_base(user));
                batch
                    .ignored("HINCRBY", &summary)
                    .arg("visits")
                    .arg(*change);
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        batch.query(&connection).await
    }

    /// One call of [`RECORD_LUA`] for `people`, whose keys share a slot.
    async fn record_some(
        &self,
        people: &[(&str, Vec<&Event>)],
        expire_at: i64,
    ) -> Result<(), StorageError> {
        let mut invocation = RECORD.prepare_invoke();
        invocation.arg(expire_at).arg(TIMELINE_LEN);
        for (user, events) in people {
            let mut events = events.clone();
            events.sort_by_key(|event| event.ts);
            let base = self.keys.person_base(user);
            invocation.key(format!("{base}t")).key(format!("{base}s"));
            // Pushed oldest first, so the newest ends at the head.
            let newest = &events[events.len().saturating_sub(TIMELINE_LEN)..];
            invocation.arg(*user).arg(newest.len());
            for event in newest {
                invocation.arg(serde_json::to_string(event).unwrap_or_default());
            }
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for event in &events {
                *counts.entry(event.event.as_str()).or_default() += 1;
            }
            invocation.arg(counts.len());
            for (event, count) in counts {
                invocation.arg(event).arg(count);
            }
            let first = events.first().map_or(0, |event| event.ts);
            let last = events.last().map_or(0, |event| event.ts);
            invocation.arg(first).arg(last);
            match events
                .iter()
                .find(|event| event.properties.contains_key(URL_PROPERTY))
            {
                Some(page) => invocation.arg(page.ts).arg(source_of(page)),
                None => invocation.arg("").arg(""),
            };
        }
        let _: i64 = invocation.invoke_async(&mut self.connection()).await?;
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
