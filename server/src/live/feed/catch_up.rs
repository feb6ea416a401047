//! Catching a joining member up: what it missed after its cursor, from the feed's state or the
//! change log, or nothing when that cannot be told exactly.

use std::collections::BTreeSet;

use crate::failure::as_api_error;
use app::live::{Cursor, LiveData, LiveQuery};

use super::state::{Feed, Written};
use crate::storage::{SeriesId, StorageError};

/// Most change-log entries a catch-up reads; further behind, the member gets a snapshot.
const MAX_CATCH_UP_ENTRIES: usize = 10_000;

impl Feed {
    /// `after` if the change log could have given it out; `None` for a cursor past the log's
    /// end. Such a cursor comes from another log (a client that last met a Redis since
    /// replaced, restored or emptied) or was made up: what it missed cannot be told, so it
    /// gets a fresh snapshot, as when the log no longer reaches back, and never its own cursor
    /// echoed as a position this server has not reached. (An error would leave a browser's
    /// chart dead until a reload, for a cursor it cannot be blamed for.) The log is read only
    /// for cursors past this feed's position, which another process may have seen first.
    pub(super) async fn issued(&self, after: Option<Cursor>) -> Result<Option<Cursor>, String> {
        let Some(cursor) = after
            .as_ref()
            .filter(|cursor| !self.position.covers(cursor))
        else {
            return Ok(after);
        };
        let end = self.store.log_end().await.map_err(|error| {
            tracing::warn!(%error, query = %self.key, "reading the change log's end failed");
            as_api_error(&error).to_string()
        })?;
        if !end.covers(cursor) {
            tracing::debug!(
                %cursor,
                %end,
                "a resume cursor past the change log's end; sending a snapshot"
            );
            return Ok(None);
        }
        Ok(after)
    }

    /// What changed after `after`; `None` when that cannot be told exactly (the change log no
    /// longer reaches back that far, or a series joined the query meanwhile): send a snapshot.
    pub(super) async fn catch_up(&self, after: &Cursor) -> Result<Option<LiveData>, StorageError> {
        if after.covers(&self.loaded_at) {
            // Every change since is versioned in the state.
            return Ok(Some(self.data(Some(after), &Written::default())));
        }
        // The feed started after `after` (in some partition): the log says what was written
        // since.
        let read = self.store.log_after(after, MAX_CATCH_UP_ENTRIES).await?;
        if !read.complete {
            return Ok(None);
        }
        let mut unknown = BTreeSet::new();
        let mut written = Written::default();
        for (_, notice) in &read.entries {
            for change in &notice.series {
                let id = change.series_id();
                match &self.query {
                    LiveQuery::Latest { .. } => match self.state.latest_ids.get(&id) {
                        Some(key) => {
                            written.series.insert(key.clone());
                        }
                        None => {
                            unknown.insert(id);
                        }
                    },
                    LiveQuery::Range { .. } => {
                        if self.state.resolved_ids.contains(&id) {
                            written.spans.push((change.from, change.to));
                        } else {
                            unknown.insert(id);
                        }
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let unknown: Vec<SeriesId> = unknown.into_iter().collect();
            let keys = self.store.series_of(&unknown).await?;
            if keys.iter().any(|(_, key)| self.matcher.matches(key)) {
                return Ok(None);
            }
        }
        written.spans = merge_spans(written.spans, self.state.step_ms.max(1));
        Ok(Some(self.data(Some(&self.loaded_at), &written)))
    }
}

/// Bucket-aligned, merged `[first bucket start, last bucket start]` ranges covering `spans`.
fn merge_spans(mut spans: Vec<(i64, i64)>, step: i64) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (from, to) in spans {
        let (from, to) = (from - from.rem_euclid(step), to - to.rem_euclid(step));
        match merged.last_mut() {
            Some(last) if from <= last.1 + step => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans become aligned bucket ranges; adjacent ones merge.
    #[test]
    fn spans_merge_into_bucket_ranges() {
        assert_eq!(
            merge_spans(vec![(25, 31), (5, 9), (12, 14), (70, 70)], 10),
            [(0, 30), (70, 70)]
        );
        assert!(merge_spans(Vec::new(), 10).is_empty());
    }
}
