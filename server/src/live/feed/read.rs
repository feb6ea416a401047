//! A feed's reads from storage: its initial state, everything again, or the changed span.

use app::clock::now_ms;
use app::live::{LiveData, LiveQuery};

use super::state::{Feed, Fresh, Pending, Version};
use crate::storage::query::QueryError;

impl Feed {
    /// Reads the initial state: the log's end first, so the state holds at least that much.
    /// A write made during the read may be in the state already, and its notice, after the
    /// position, then changes nothing: so what was read is versioned with the log's end after
    /// the read, and a client resuming from a cursor before that end is sent it.
    pub(super) async fn load(&mut self) -> Result<(), QueryError> {
        self.position = self.store.log_end().await?;
        self.loaded_at = self.position.clone();
        self.sent = self.position.clone();
        let fresh = self.read_all().await?;
        let read_to = self.store.log_end().await?;
        self.merge(fresh, Version::new(read_to));
        Ok(())
    }

    /// Reads everything the query shows (resolving its series again).
    async fn read_all(&mut self) -> Result<Fresh, QueryError> {
        match &self.query {
            LiveQuery::Latest { .. } => {
                let listing = self.store.current_values().await?;
                Ok(Fresh::Latest {
                    values: listing
                        .values
                        .into_iter()
                        .filter(|value| self.matcher.matches(&value.series))
                        .collect(),
                    truncated: listing.truncated,
                })
            }
            LiveQuery::Range { window_ms, .. } => {
                let window_ms = *window_ms;
                self.resolve().await?;
                let now = now_ms();
                self.read_range(now - window_ms, now).await
            }
        }
    }

    /// Finds the series of a range query again (a new one may have appeared).
    async fn resolve(&mut self) -> Result<(), QueryError> {
        let LiveQuery::Range {
            selector,
            aggregation,
            ..
        } = &self.query
        else {
            return Ok(());
        };
        let resolved = self.store.resolve(selector, *aggregation).await?;
        self.state.resolved_ids = resolved.series.iter().map(|(id, _)| id.clone()).collect();
        self.state.resolved = resolved;
        Ok(())
    }

    /// Reads the buckets from `from`'s to `to`'s, inclusive.
    async fn read_range(&self, from: i64, to: i64) -> Result<Fresh, QueryError> {
        let LiveQuery::Range {
            aggregation,
            step_ms,
            group_by,
            ..
        } = &self.query
        else {
            unreachable!("only range queries read ranges");
        };
        let result = self
            .store
            .compute(
                &self.state.resolved,
                *aggregation,
                group_by.as_deref(),
                (from, to + step_ms, Some(*step_ms)),
                now_ms(),
            )
            .await?;
        let lines = result
            .series
            .into_iter()
            .map(|line| (line.labels, line.points.into_iter().collect()))
            .collect();
        Ok(Fresh::Range {
            step_ms: result.step_ms,
            lines,
            first_bucket: result.from,
        })
    }

    /// Brings the state up to date with `pending`; returns what changed, if anything did.
    pub(super) async fn apply(
        &mut self,
        pending: Pending,
        version: Version,
    ) -> Result<Option<LiveData>, QueryError> {
        if pending.refresh {
            let fresh = self.read_all().await?;
            return Ok(self.merge(fresh, version));
        }
        match &self.query {
            LiveQuery::Latest { .. } => Ok(self.merge(
                Fresh::Latest {
                    values: pending.values.into_values().collect(),
                    truncated: self.state.truncated,
                },
                version,
            )),
            LiveQuery::Range { window_ms, .. } => {
                let window_ms = *window_ms;
                if pending.new_series {
                    self.resolve().await?;
                }
                let Some((from, to)) = pending.span else {
                    return Ok(None);
                };
                let now = now_ms();
                let oldest = now - window_ms;
                if to < oldest {
                    return Ok(None);
                }
                let fresh = self.read_range(from.max(oldest), to.max(now)).await?;
                Ok(self.merge(fresh, version))
            }
        }
    }
}
