//! Silences: label matchers over a time window; a firing alert they match notifies nobody
//! until the window ends.

use serde::{Deserialize, Serialize};

use crate::query::MatchOp;

/// Longest a silence may last: a year.
pub const MAX_SILENCE_MS: i64 = 365 * 86_400_000;

/// One label condition of a silence, as in Alertmanager (`=`, `!=`, `=~`, `!~`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LabelMatcher {
    pub name: String,
    #[serde(default = "equal")]
    pub op: MatchOp,
    pub value: String,
}

fn equal() -> MatchOp {
    MatchOp::Equal
}

/// A silence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Silence {
    /// Assigned when created.
    #[serde(default)]
    pub id: String,
    /// All must match an alert's labels (its rule's name is the `alertname` label).
    pub matchers: Vec<LabelMatcher>,
    /// Start, ms; now when absent.
    #[serde(default)]
    pub starts_ms: i64,
    /// End, ms.
    pub ends_ms: i64,
    #[serde(default)]
    pub comment: String,
    /// Who made it (filled in by the server).
    #[serde(default)]
    pub created_by: String,
}

impl Silence {
    /// Checks it, naming the field at fault.
    ///
    /// # Errors
    /// No matcher, an empty label name, an end not after the start, or longer than a year.
    pub fn validate(&self) -> Result<(), super::RuleError> {
        let refuse = |field: &str, reason: &str| super::RuleError {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if self.matchers.is_empty() {
            return Err(refuse(
                "matchers",
                "give at least one matcher (a silence of everything is a mute timing)",
            ));
        }
        for (index, matcher) in self.matchers.iter().enumerate() {
            if matcher.name.is_empty() {
                return Err(refuse(
                    &format!("matchers[{index}].name"),
                    "a label name cannot be empty",
                ));
            }
        }
        if self.ends_ms <= self.starts_ms {
            return Err(refuse("ends_ms", "must be after starts_ms"));
        }
        if self.ends_ms - self.starts_ms > MAX_SILENCE_MS {
            return Err(refuse("ends_ms", "a silence lasts at most a year"));
        }
        Ok(())
    }

    /// Whether it is in force at `now_ms`.
    #[must_use]
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.starts_ms <= now_ms && now_ms < self.ends_ms
    }
}
