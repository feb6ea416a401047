//! Deleting a person on request: their own keys, their data in every site's web analytics, in
//! funnels and experiments, their events in the raw log, and what every process remembers of
//! them. Counts they were part of stay: they hold no one's id. Each step can be repeated, so a
//! deletion that failed half-way is finished by asking again.

use serde::Serialize;

use crate::storage::keys::name_hash;
use crate::storage::{StorageError, Store};

/// What tells every process, on the revocation channel, to forget a user it remembers: this,
/// then the hash of their id.
pub const FORGET_NOTICE_PREFIX: &str = "person:";

/// What a deletion found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// Whether a timeline or summary was kept for them.
    pub person: bool,
    /// Sites on which they had a retention record.
    pub sites: usize,
    /// Their events taken out of the raw event log.
    pub logged_events: usize,
}

impl Store {
    /// Removes `user_id` from every structure that holds their id or its hash.
    ///
    /// # Errors
    /// Redis failed, or another deletion held the raw log too long: nothing is lost by asking
    /// again.
    pub async fn delete_person(&self, user_id: &str, now_ms: i64) -> Result<Deleted, StorageError> {
        let base = self.keys.person_base(user_id);
        let removed: i64 = redis::cmd("DEL")
            .arg(
                ["t", "s"]
                    .iter()
                    .map(|key| format!("{base}{key}"))
                    .collect::<Vec<_>>(),
            )
            .query_async(&mut self.connection())
            .await?;
        let mut sites = self.sites().await?;
        // Events without a site count under the site "".
        if !sites.iter().any(String::is_empty) {
            sites.push(String::new());
        }
        let had_records = self.forget_web_user(user_id, &sites, now_ms).await?;
        self.forget_event_user(user_id).await?;
        let logged_events = self.forget_in_log(user_id).await?;
        let _: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.revocations())
            .arg(format!("{FORGET_NOTICE_PREFIX}{}", name_hash(user_id)))
            .query_async(&mut self.connection())
            .await?;
        Ok(Deleted {
            person: removed > 0,
            sites: had_records,
            logged_events,
        })
    }
}
