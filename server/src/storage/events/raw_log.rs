//! Reading the raw event log a page at a time.

use std::collections::HashMap;

use app::events::Event;

use crate::storage::{StorageError, Store};

/// Log entries read per step of a backfill or of the latest-events listing.
pub(super) const LOG_PAGE: usize = 100;

impl Store {
    /// One page of the raw log (at most `count` entries), decoded: `command` is `XRANGE` or
    /// `XREVRANGE`, with its two bounds in the order that command takes them.
    pub(crate) async fn log_page(
        &self,
        command: &str,
        first: &str,
        second: &str,
        count: usize,
    ) -> Result<Vec<(String, Vec<Event>)>, StorageError> {
        let reply: Vec<(String, HashMap<String, String>)> = redis::cmd(command)
            .arg(self.keys.event_log())
            .arg(first)
            .arg(second)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.connection())
            .await?;
        reply
            .into_iter()
            .map(|(id, fields)| {
                let batch = fields.get("b").map_or(Ok(Vec::new()), |json| {
                    serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
                        key: self.keys.event_log(),
                        reason: error.to_string(),
                    })
                })?;
                Ok((id, batch))
            })
            .collect()
    }
}
