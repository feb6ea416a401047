//! Alert instances and their transitions.

use std::collections::{BTreeMap, HashMap};

use app::alerts::Instance;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

use super::AlertError;
use super::scripts::TRANSITION;
use crate::storage::Store;

/// An instance as kept in Redis: its group, its state, and the version compare-and-set checks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StoredInstance {
    /// Bumped by every write (compare-and-set).
    pub version: u64,
    /// Bumped by every transition only: a notification held back by a silence is sent when
    /// the silence ends only if no transition came after it.
    #[serde(default)]
    pub transitions: u64,
    pub labels: BTreeMap<String, String>,
    pub instance: Instance,
    /// When it is to be evaluated again without new data, as set in the deadlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
}

/// One transition to write, all or nothing.
pub struct TransitionWrite<'a> {
    pub rule_id: &'a str,
    /// The group's field in the rule's instances hash.
    pub group: &'a str,
    /// The version read before deciding; the write fails if it moved.
    pub expected_version: u64,
    /// The new instance (its version one more), or `None` to remove it.
    pub next: Option<&'a StoredInstance>,
    /// The history entry, JSON.
    pub history: Option<String>,
    /// When to evaluate the instance again: `Some(None)` removes its deadline.
    pub deadline: Option<Option<i64>>,
    /// Notifications to queue, JSON, one per contact point.
    pub notifications: Vec<String>,
    /// History entries older than this are trimmed, ms.
    pub history_kept_from_ms: i64,
}

/// The member of a deadline in the deadlines set.
#[must_use]
pub fn deadline_member(rule_id: &str, group: &str) -> String {
    format!("{rule_id} {group}")
}

impl Store {
    /// The instances of a rule, by group field.
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn instances(
        &self,
        rule_id: &str,
    ) -> Result<HashMap<String, StoredInstance>, AlertError> {
        let key = self.alert_key(&format!("i:{rule_id}"));
        let entries: HashMap<String, String> = self.connection().hgetall(&key).await?;
        entries
            .into_iter()
            .map(|(group, json)| {
                serde_json::from_str(&json)
                    .map(|stored| (group, stored))
                    .map_err(|e| AlertError::corrupt(key.clone(), &e))
            })
            .collect()
    }

    /// Writes a transition in one step; false when the instance's version moved meanwhile
    /// (another process got there first: read again and decide again).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn write_transition(&self, write: &TransitionWrite<'_>) -> Result<bool, AlertError> {
        let instance_json = match write.next {
            Some(next) => serde_json::to_string(next)
                .map_err(|e| AlertError::corrupt(write.rule_id.to_owned(), &e))?,
            None => String::new(),
        };
        let deadline = match write.deadline {
            None => "-".to_owned(),
            Some(None) => String::new(),
            Some(Some(at)) => at.to_string(),
        };
        let mut invocation = TRANSITION.prepare_invoke();
        invocation
            .key(self.alert_key(&format!("i:{}", write.rule_id)))
            .key(self.alert_key("history"))
            .key(self.alert_key("outbox"))
            .key(self.alert_key("deadlines"))
            .arg(write.group)
            .arg(write.expected_version)
            .arg(instance_json)
            .arg(write.history.as_deref().unwrap_or_default())
            .arg(write.history_kept_from_ms.max(0))
            .arg(deadline_member(write.rule_id, write.group))
            .arg(deadline);
        for notification in &write.notifications {
            invocation.arg(notification);
        }
        let applied: i64 = invocation.invoke_async(&mut self.connection()).await?;
        Ok(applied == 1)
    }

    /// Sets (or with `None` removes) the deadline of a group, outside any transition.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn set_deadline(
        &self,
        rule_id: &str,
        group: &str,
        at_ms: Option<i64>,
    ) -> Result<(), AlertError> {
        let key = self.alert_key("deadlines");
        let member = deadline_member(rule_id, group);
        let _: () = match at_ms {
            Some(at) => self.connection().zadd(key, member, at).await?,
            None => self.connection().zrem(key, member).await?,
        };
        Ok(())
    }
}
