//! What analytics requests can fail with, and how those failures are classified.

use crate::storage::StorageError;

/// What analytics requests can fail with.
#[derive(thiserror::Error, Debug, Clone)]
pub enum AnalyticsError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The request or definition is unusable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No funnel, experiment or person has that id.
    #[error("{0}")]
    NotFound(String),
}

impl crate::failure::Classify for AnalyticsError {
    fn failure(&self) -> crate::failure::Failure {
        match self {
            Self::Storage(error) => crate::failure::Classify::failure(error),
            Self::Invalid(_) => crate::failure::Failure::Invalid,
            Self::NotFound(_) => crate::failure::Failure::NotFound,
        }
    }
}
