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
    /// The group-commit task is gone (the server is shutting down).
    #[error("the storage writer has stopped")]
    WriterStopped,
}

impl StorageError {
    /// Whether the error means Redis is unreachable (as opposed to a bad answer).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Redis(error) => {
                error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || error.is_timeout()
                    || matches!(
                        error.kind(),
                        redis::ErrorKind::Server(
                            redis::ServerErrorKind::BusyLoading
                                | redis::ServerErrorKind::TryAgain
                                | redis::ServerErrorKind::MasterDown
                        )
                    )
            }
            Self::Corrupt { .. } => false,
            Self::WriterStopped => true,
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
