//! Why a query was refused or failed, and how those failures are classified.

use crate::storage::StorageError;

/// Most series one query may read.
pub const MAX_QUERY_SERIES: usize = 2_000;

/// Why a query was refused or failed.
#[derive(thiserror::Error, Debug)]
pub enum QueryError {
    /// The selector's regular expression does not compile.
    #[error("label {label:?}: invalid regular expression: {reason}")]
    BadRegex { label: String, reason: String },
    /// The selector cannot be read as it is (it names no metric); the message says why.
    #[error("{0}")]
    BadSelector(String),
    /// The range or step make no sense, or would give too many points.
    #[error("{0}")]
    BadRange(String),
    /// A time, duration or step from outside is out of bounds; named as the HTTP API names it.
    #[error("parameter `{name}`: {reason}")]
    BadParameter { name: &'static str, reason: String },
    /// The query would read or hold more than a configured limit allows; the message names it.
    #[error("{0}")]
    OverLimit(String),
    /// The aggregation does not apply to the series' kind.
    #[error("{aggregation} does not apply to {series}, a {kind}")]
    KindMismatch {
        aggregation: &'static str,
        series: String,
        kind: &'static str,
    },
    /// The selector matches more series than a query may read.
    #[error(
        "the selector matches {matched} series; a query reads at most {MAX_QUERY_SERIES}: narrow it with label matchers"
    )]
    TooManySeries { matched: usize },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl crate::failure::Classify for QueryError {
    fn failure(&self) -> crate::failure::Failure {
        match self {
            Self::Storage(error) => crate::failure::Classify::failure(error),
            _ => crate::failure::Failure::Invalid,
        }
    }
}
