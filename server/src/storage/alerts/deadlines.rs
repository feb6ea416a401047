//! Deadlines of time-driven edges (a pending or keep-firing period ending, data going absent,
//! a window moving on) and the release of notifications that a silence held back.

use super::AlertError;
use super::scripts::{CLAIM_DUE, RELEASE_HELD};
use crate::storage::Store;

impl Store {
    /// Claims up to `limit` deadlines due at `now_ms` for `lease_ms` (they come back then if
    /// not rescheduled); returns `(rule id, group)` pairs.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, AlertError> {
        let due: Vec<String> = CLAIM_DUE
            .key(self.alert_key("deadlines"))
            .arg(now_ms)
            .arg(now_ms + lease_ms)
            .arg(limit)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(due
            .into_iter()
            .filter_map(|member| {
                member
                    .split_once(' ')
                    .map(|(rule, group)| (rule.to_owned(), group.to_owned()))
            })
            .collect())
    }

    /// Takes the turn `name` for `ms` (one process among all does a periodic job); whether
    /// this process got it.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn take_turn(&self, name: &str, ms: i64) -> Result<bool, AlertError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.alert_key(&format!("turn:{name}")))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ms.max(1))
            .query_async(&mut self.connection())
            .await?;
        Ok(taken.is_some())
    }

    /// Holds back a notification until `until_ms` (a silence's end).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn hold(&self, held_json: &str, until_ms: i64) -> Result<(), AlertError> {
        let _: () = redis::cmd("ZADD")
            .arg(self.alert_key("held"))
            .arg(until_ms)
            .arg(held_json)
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// Queues the held notifications whose silence ended by `now_ms`, if their instance has
    /// not changed since; returns how many were queued.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn release_held(&self, now_ms: i64) -> Result<u64, AlertError> {
        Ok(RELEASE_HELD
            .key(self.alert_key("held"))
            .key(self.alert_key("outbox"))
            .arg(now_ms)
            .arg(self.alert_key("i:"))
            .invoke_async(&mut self.connection())
            .await?)
    }

    /// Makes every held notification due at `now_ms` (a silence was ended early).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn reschedule_held(&self, now_ms: i64) -> Result<(), AlertError> {
        let key = self.alert_key("held");
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.connection())
            .await?;
        if members.is_empty() {
            return Ok(());
        }
        let mut command = redis::cmd("ZADD");
        command.arg(&key);
        for member in &members {
            command.arg(now_ms).arg(member);
        }
        let _: () = command.query_async(&mut self.connection()).await?;
        Ok(())
    }
}
