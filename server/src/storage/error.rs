//! What the storage layer can fail with, and which kind of failure each is.

/// What the storage layer can fail with.
#[derive(thiserror::Error, Debug, Clone)]
pub enum StorageError {
    /// Redis refused or did not answer.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered with something livedash did not write.
    #[error("unexpected data under {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A compare-and-set kept losing to other writers of the same data.
    #[error("{key} kept changing under other writers; try again")]
    Contended { key: String },
    /// Fewer replicas than asked for took a write in time (it may yet reach them).
    #[error("only {replicas} of {wanted} replicas took the write in time")]
    Unreplicated { replicas: i64, wanted: u32 },
    /// The Redis named in the configuration cannot be used as named.
    #[error("{0}")]
    Config(String),
    /// The group-commit task is gone (the server is shutting down).
    #[error("the storage writer has stopped")]
    WriterStopped,
}

impl StorageError {
    /// Whether the error means Redis is unreachable (as opposed to a bad answer).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Redis(error) => redis_unavailable(error),
            Self::Corrupt { .. } | Self::Config(_) => false,
            Self::WriterStopped | Self::Contended { .. } | Self::Unreplicated { .. } => true,
        }
    }
}

impl crate::failure::Classify for StorageError {
    fn failure(&self) -> crate::failure::Failure {
        if self.is_unavailable() {
            crate::failure::Failure::Unavailable
        } else {
            crate::failure::Failure::Internal
        }
    }
}

/// Whether `error` means Redis (or the node of a cluster that serves the slot) cannot be reached
/// or cannot answer right now, as opposed to an answer livedash did not expect.
pub(crate) fn redis_unavailable(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || matches!(
            error.kind(),
            redis::ErrorKind::ClusterConnectionNotFound
                | redis::ErrorKind::Server(
                    redis::ServerErrorKind::BusyLoading
                        | redis::ServerErrorKind::TryAgain
                        | redis::ServerErrorKind::MasterDown
                        // A cluster electing a new master, or moving slots, past the client's
                        // retries; a cross-slot error stays a defect.
                        | redis::ServerErrorKind::ClusterDown
                        | redis::ServerErrorKind::ReadOnly
                        | redis::ServerErrorKind::Moved
                        | redis::ServerErrorKind::Ask
                )
        )
}
