//! Grouped notifications: a contact point that groups by labels gets, per group, one
//! notification listing its alerts instead of one per alert. A notification taken from the
//! outbox joins its group (one step with its acknowledgement); the group is sent when due
//! (group wait, group interval, repeat interval) as one new outbox entry, which is delivered,
//! retried and taken over like any other.

use super::AlertError;
use super::outbox::{GROUP, GroupKey, Queued};
use super::scripts::{GROUP_ADD, GROUP_FLUSH};
use crate::storage::Store;

/// When a group is next sent, relative to now: its wait if new, its interval after its last
/// notification otherwise.
#[derive(Clone, Copy, Debug)]
pub struct GroupTiming {
    pub wait_ms: i64,
    pub interval_ms: i64,
}

impl Store {
    fn group_keys(&self, member: &str) -> (String, String) {
        (
            self.alert_key(&format!("group:changes:{member}")),
            self.alert_key(&format!("group:firing:{member}")),
        )
    }

    /// Moves outbox entry `id`, which holds `queued`, into its group `key`.
    ///
    /// # Errors
    /// Redis failed, or the notification could not be encoded.
    pub async fn join_group(
        &self,
        key: &GroupKey,
        queued: &Queued,
        id: &str,
        timing: GroupTiming,
        now_ms: i64,
    ) -> Result<(), AlertError> {
        let member = serde_json::to_string(key).map_err(|e| AlertError::corrupt(id.into(), &e))?;
        let json = serde_json::to_string(queued).map_err(|e| AlertError::corrupt(id.into(), &e))?;
        let (changes, _) = self.group_keys(&member);
        let _: i64 = GROUP_ADD
            .key(self.alert_key("groups"))
            .key(self.alert_key("groups:sent"))
            .key(changes)
            .key(self.alert_key("outbox"))
            .key(self.alert_key("attempts"))
            .arg(&member)
            .arg(format!("{}\u{1f}{}", queued.rule_id, queued.group))
            .arg(json)
            .arg(now_ms)
            .arg(timing.wait_ms)
            .arg(timing.interval_ms)
            .arg(id)
            .arg(GROUP)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// Up to `limit` groups due at `now_ms`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn due_groups(&self, now_ms: i64, limit: usize) -> Result<Vec<GroupKey>, AlertError> {
        let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.alert_key("groups"))
            .arg("-inf")
            .arg(now_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.connection())
            .await?;
        Ok(members
            .iter()
            .filter_map(|member| serde_json::from_str(member).ok())
            .collect())
    }

    /// Sends group `key` if it is due at `now_ms` (another process may have just done it):
    /// its notification queued in the outbox; due again `repeat_ms` later while alerts of it
    /// fire. How many alerts it sent, `None` when it was not due.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn send_group(
        &self,
        key: &GroupKey,
        now_ms: i64,
        repeat_ms: Option<i64>,
    ) -> Result<Option<u64>, AlertError> {
        let member =
            serde_json::to_string(key).map_err(|e| AlertError::corrupt(key.contact.clone(), &e))?;
        let (changes, firing) = self.group_keys(&member);
        let sent: i64 = GROUP_FLUSH
            .key(self.alert_key("groups"))
            .key(self.alert_key("groups:sent"))
            .key(changes)
            .key(firing)
            .key(self.alert_key("outbox"))
            .arg(&member)
            .arg(now_ms)
            .arg(repeat_ms.map(|ms| ms.to_string()).unwrap_or_default())
            .arg(self.alert_key("i:"))
            .invoke_async(&mut self.connection())
            .await?;
        Ok(u64::try_from(sent).ok())
    }
}
