//! The processes that share the evaluation of alert rules: each marks itself alive every
//! second in one sorted set (scored by the time), and those silent too long are dropped.

use super::AlertError;
use crate::storage::Store;

impl Store {
    /// Marks `name` alive at `now_ms`, drops the members silent since `stale_before_ms`, and
    /// returns the members alive, sorted.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn alert_members(
        &self,
        name: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<Vec<String>, AlertError> {
        let key = self.alert_key("members");
        let (members,): (Vec<String>,) = redis::pipe()
            .atomic()
            .cmd("ZADD")
            .arg(&key)
            .arg(now_ms)
            .arg(name)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(format!("({stale_before_ms}"))
            .ignore()
            .cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.connection())
            .await?;
        let mut members = members;
        members.sort();
        Ok(members)
    }

    /// Removes `name` from the members (it is shutting down).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn leave_alert_members(&self, name: &str) -> Result<(), AlertError> {
        let _: () = redis::cmd("ZREM")
            .arg(self.alert_key("members"))
            .arg(name)
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }
}
