//! Alerting's Redis side: rules, contact points and silences; alert instances and their
//! transitions (one script: compare-and-set of the instance's version, history entry,
//! notifications queued, deadline); the notification outbox with its consumer group, delivery
//! attempts and dead letters; deadlines of time-driven edges; the processes that share the
//! evaluation; notifications grouped per contact point. Keys in [`super::keys`].

mod config;
mod deadlines;
mod error;
mod groups;
mod history;
mod instances;
mod members;
mod outbox;
mod scripts;

pub use config::{AlertConfig, new_id, new_secret};
pub use error::AlertError;
pub use groups::GroupTiming;
pub use instances::deadline_member;
pub use instances::{StoredInstance, TransitionWrite};
pub use outbox::{Attempts, GroupKey, Notification, OutboxEntry, Queued};

use super::Store;

impl Store {
    fn alert_key(&self, part: &str) -> String {
        self.keys.alerts(part)
    }
}
