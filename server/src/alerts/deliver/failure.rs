//! What a delivery attempt may fail with, whatever carries it, and how long a receiver has to
//! answer.

use std::time::Duration;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The receiver answered, but not 2xx.
    #[error("the receiver answered {status}: {body}")]
    Status { status: u16, body: String },
    /// No answer: refused, timed out, or broken off.
    #[error("{0}")]
    Transport(String),
    /// The notification cannot be sent as configured (a bad secret, a mailbox the relay
    /// refuses): trying again does not help.
    #[error("{0}")]
    Unsendable(String),
}
