//! The registry of sites: every site an event was recorded for, so that a person's deletion
//! reaches each site's keys and the analytics pages can list them.

use std::collections::HashMap;

use app::events::Event;
use app::web::SITE_PROPERTY;

use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

impl Store {
    /// Adds the sites of `events` this process has not registered yet to `batch`; answers
    /// them, for [`crate::storage::web::cache::SiteCache::learn`] once the batch is written.
    pub(super) fn note_sites(&self, events: &[Event], batch: &mut Batch) -> Vec<String> {
        let mut first: HashMap<&str, i64> = HashMap::new();
        for event in events {
            if let Some(site) = event.properties.get(SITE_PROPERTY) {
                let ts = first.entry(site.as_str()).or_insert(event.ts);
                *ts = (*ts).min(event.ts);
            }
        }
        let new = self.events.sites.unknown(first.keys().copied());
        for site in &new {
            batch
                .ignored("HSETNX", &self.keys.sites())
                .arg(site)
                .arg(first[site.as_str()]);
        }
        new
    }

    /// Every site events were recorded for, by name.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn sites(&self) -> Result<Vec<String>, StorageError> {
        let mut sites: Vec<String> = redis::cmd("HKEYS")
            .arg(self.keys.sites())
            .query_async(&mut self.connection())
            .await?;
        sites.sort();
        Ok(sites)
    }
}
