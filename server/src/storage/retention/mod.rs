//! Retention: cohorts of users by the day or week they were first seen, and how many of each
//! were active in every later period, exact, on Redis bitmaps.
//!
//! Each user gets a dense integer in their partition (a hash per site and partition, under the
//! same hash tag as the site's visits); each period has a bitmap of the users first seen in it
//! (the cohort) and one of the users active in it. A cell of the table is the `BITCOUNT` of the
//! `BITOP AND` of its cohort and its period, counted per partition and added up: a user lives in
//! one partition, so the sums are exact. Days and weeks are UTC; weeks start on Monday. Users'
//! records and bits are written by `storage::web`, from what [`plan`] works out.

pub mod plan;
mod script;

pub use plan::Period;

use std::sync::LazyLock;

use futures::future::try_join_all;
use serde::Serialize;

use crate::storage::{StorageError, Store};

static TABLE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(script::TABLE_LUA));

use plan::DAY_MS;
/// How long the cohorts' and activity bitmaps are kept: a year of weekly cohorts, and more.
pub(crate) const KEPT_MS: i64 = 400 * DAY_MS;
/// Most cohorts one table shows.
pub const MAX_COHORTS: usize = 60;

/// One row of a retention table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cohort {
    /// When its period starts, ms.
    pub start: i64,
    /// Users first seen in it.
    pub users: u64,
    /// Of those, how many were active in its own period, the next, and so on up to now.
    pub active: Vec<u64>,
}

impl Store {
    /// The retention table of `site`: `cohorts` cohorts of `period`, the last one the period of
    /// `now_ms`, each with its users active in every period from its own to now's.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn retention_table(
        &self,
        site: &str,
        period: Period,
        cohorts: usize,
        now_ms: i64,
    ) -> Result<Vec<Cohort>, StorageError> {
        let cohorts = cohorts.clamp(1, MAX_COHORTS);
        let last = period.of(now_ms);
        let first = last - cohorts as i64 + 1;
        let tables = (0..self.log.count()).map(|partition| {
            let base = format!("{}r:", self.keys.visits_base(site, partition));
            async move {
                let rows: Vec<Vec<u64>> = TABLE
                    .key(format!("{base}scratch"))
                    .arg(&base)
                    .arg(period.letter())
                    .arg(first)
                    .arg(cohorts)
                    .arg(last)
                    .invoke_async(&mut self.connection())
                    .await?;
                Ok::<_, StorageError>(rows)
            }
        });
        let mut table: Vec<Cohort> = (first..=last)
            .map(|n| Cohort {
                start: period.start(n),
                users: 0,
                active: vec![0; usize::try_from(last - n + 1).unwrap_or_default()],
            })
            .collect();
        for rows in try_join_all(tables).await? {
            for (cohort, row) in table.iter_mut().zip(rows) {
                let mut counts = row.into_iter();
                cohort.users += counts.next().unwrap_or(0);
                for (active, count) in cohort.active.iter_mut().zip(counts) {
                    *active += count;
                }
            }
        }
        Ok(table)
    }
}
