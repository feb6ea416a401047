//! The notification outbox: a stream read through one consumer group by every process's
//! delivery worker. An entry is acknowledged (and deleted) only once its receiver answered
//! 2xx, or it was given up as a dead letter; a worker that dies leaves its entries pending,
//! and another claims them once they have been idle long enough. The entry id is the
//! notification's id: every resend carries it.

use std::collections::BTreeMap;

use app::alerts::api::DeadLetter;
use app::alerts::machine::Notice;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

use super::AlertError;
use crate::storage::Store;

pub(super) const GROUP: &str = "delivery";

/// A notification as queued: everything a receiver is sent, fixed at the transition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Queued {
    pub contact: String,
    pub rule_id: String,
    pub rule_name: String,
    /// The instance's group field and its count of transitions when queued (a held
    /// notification is released only if no transition came after it).
    pub group: String,
    pub transitions: u64,
    pub status: Notice,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
    /// When the transition happened, ms.
    pub at_ms: i64,
}

/// Which notifications of a contact point go out together: the contact point and the values
/// of the labels it groups by. Its JSON names the group in Redis.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
    pub contact: String,
    pub labels: BTreeMap<String, String>,
}

/// What one notification sends: one alert's transition (`group` absent), or the alerts of a
/// group, those that changed since its last notification and those still firing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Notification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupKey>,
    pub alerts: Vec<Queued>,
}

impl Notification {
    /// One alert's transition on its own.
    #[must_use]
    pub fn single(queued: Queued) -> Self {
        Self {
            group: None,
            alerts: vec![queued],
        }
    }

    /// The contact point it goes to.
    #[must_use]
    pub fn contact(&self) -> &str {
        match (&self.group, self.alerts.first()) {
            (Some(group), _) => &group.contact,
            (None, Some(first)) => &first.contact,
            (None, None) => "",
        }
    }

    /// Firing while any of its alerts fires, as Alertmanager's payload says.
    #[must_use]
    pub fn status(&self) -> Notice {
        if self.alerts.iter().any(|a| a.status == Notice::Firing) {
            Notice::Firing
        } else {
            Notice::Resolved
        }
    }
}

/// An entry read from the outbox.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: String,
    pub notification: Notification,
}

/// How delivering one notification has gone so far.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Attempts {
    pub count: u32,
    pub first_ms: i64,
    pub next_ms: i64,
    #[serde(default)]
    pub last_error: String,
}

type StreamEntry = (String, Vec<(String, String)>);

impl Store {
    fn outbox_entries(&self, entries: Vec<StreamEntry>) -> Vec<OutboxEntry> {
        entries
            .into_iter()
            .filter_map(|(id, fields)| {
                // `n`: one alert's transition, queued by the transition itself; `g`: a group's
                // notification, queued when the group was due.
                let (field, json) = fields.into_iter().find(|(f, _)| f == "n" || f == "g")?;
                let read = if field == "n" {
                    serde_json::from_str(&json).map(Notification::single)
                } else {
                    serde_json::from_str(&json)
                };
                match read {
                    Ok(notification) => Some(OutboxEntry { id, notification }),
                    Err(error) => {
                        tracing::warn!(%id, %error, "unreadable notification in the outbox; skipped");
                        None
                    }
                }
            })
            .collect()
    }

    /// Makes the outbox's consumer group (from the stream's start, so nothing queued before
    /// is missed); fine when it exists.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn ensure_outbox_group(&self) -> Result<(), AlertError> {
        let made: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.alert_key("outbox"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.connection())
            .await;
        match made {
            Err(error) if error.code() != Some("BUSYGROUP") => Err(error.into()),
            _ => Ok(()),
        }
    }

    /// New entries for `consumer`, waiting up to `block_ms` on `connection` (a connection of
    /// its own: a blocking read would hold up everything else on the shared one).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn read_outbox(
        &self,
        connection: &mut crate::storage::DedicatedConnection,
        consumer: &str,
        count: usize,
        block_ms: u64,
    ) -> Result<Vec<OutboxEntry>, AlertError> {
        let read: Option<Vec<(String, Vec<StreamEntry>)>> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(self.alert_key("outbox"))
            .arg(">")
            .query_async(&mut connection.0)
            .await?;
        Ok(read
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(_, entries)| self.outbox_entries(entries))
            .collect())
    }

    /// Takes over entries other consumers left idle for `idle_ms` (their process died).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_stale(
        &self,
        consumer: &str,
        idle_ms: u64,
        count: usize,
    ) -> Result<Vec<OutboxEntry>, AlertError> {
        let (_, entries, _): (String, Vec<StreamEntry>, Vec<String>) = redis::cmd("XAUTOCLAIM")
            .arg(self.alert_key("outbox"))
            .arg(GROUP)
            .arg(consumer)
            .arg(idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.connection())
            .await?;
        Ok(self.outbox_entries(entries))
    }

    /// Resets the idle time of entries this consumer is still working on, so that nobody
    /// takes them over while it retries.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn keep_claimed(&self, consumer: &str, ids: &[String]) -> Result<(), AlertError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut command = redis::cmd("XCLAIM");
        command
            .arg(self.alert_key("outbox"))
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(ids)
            .arg("JUSTID");
        let _: Vec<String> = command.query_async(&mut self.connection()).await?;
        Ok(())
    }

    /// Done with an entry: acknowledged, deleted, its attempts forgotten.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn finish_notification(&self, id: &str) -> Result<(), AlertError> {
        let outbox = self.alert_key("outbox");
        let _: () = redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&outbox)
            .arg(GROUP)
            .arg(id)
            .ignore()
            .cmd("XDEL")
            .arg(&outbox)
            .arg(id)
            .ignore()
            .cmd("HDEL")
            .arg(self.alert_key("attempts"))
            .arg(id)
            .ignore()
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// How delivering `id` has gone so far, if it was tried.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn attempts(&self, id: &str) -> Result<Option<Attempts>, AlertError> {
        let json: Option<String> = self
            .connection()
            .hget(self.alert_key("attempts"), id)
            .await?;
        Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Records a failed attempt.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn record_attempts(&self, id: &str, attempts: &Attempts) -> Result<(), AlertError> {
        let json =
            serde_json::to_string(attempts).map_err(|e| AlertError::corrupt(id.to_owned(), &e))?;
        let _: () = self
            .connection()
            .hset(self.alert_key("attempts"), id, json)
            .await?;
        Ok(())
    }

    /// Gives a notification up: kept as a dead letter, taken out of the outbox.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn bury(&self, letter: &DeadLetter) -> Result<(), AlertError> {
        let json = serde_json::to_string(letter)
            .map_err(|e| AlertError::corrupt(letter.id.clone(), &e))?;
        let _: () = redis::cmd("XADD")
            .arg(self.alert_key("dead"))
            .arg("MAXLEN")
            .arg("~")
            .arg(10_000)
            .arg("*")
            .arg("d")
            .arg(json)
            .query_async(&mut self.connection())
            .await?;
        self.finish_notification(&letter.id).await
    }

    /// The newest dead letters, newest first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, AlertError> {
        let entries: Vec<StreamEntry> = redis::cmd("XREVRANGE")
            .arg(self.alert_key("dead"))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.connection())
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(_, fields)| {
                let json = fields.into_iter().find(|(f, _)| f == "d")?.1;
                serde_json::from_str(&json).ok()
            })
            .collect())
    }
}
