//! What alerting's storage can fail with.

use app::alerts::RuleError;

use crate::failure::{Classify, Failure};
use crate::storage::StorageError;

/// What alerting's storage can fail with.
#[derive(thiserror::Error, Debug)]
pub enum AlertError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A rule, contact point or silence that cannot be accepted.
    #[error("{0}")]
    Invalid(#[from] RuleError),
    #[error("{0}")]
    NotFound(String),
    /// The rule's query cannot run (a preview).
    #[error(transparent)]
    Query(#[from] crate::storage::query::QueryError),
}

impl From<redis::RedisError> for AlertError {
    fn from(error: redis::RedisError) -> Self {
        Self::Storage(error.into())
    }
}

impl AlertError {
    pub(super) fn corrupt(key: String, error: &serde_json::Error) -> Self {
        Self::Storage(StorageError::Corrupt {
            key,
            reason: error.to_string(),
        })
    }
}

impl Classify for AlertError {
    fn failure(&self) -> Failure {
        match self {
            Self::Storage(error) => error.failure(),
            Self::Invalid(_) => Failure::Invalid,
            Self::NotFound(_) => Failure::NotFound,
            Self::Query(error) => error.failure(),
        }
    }
}
