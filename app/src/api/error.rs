//! What a server function can fail with, as the browser sees it, and the HTTP status of each
//! kind of failure.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function can fail with, as the browser sees it.
#[derive(thiserror::Error, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// Storage did not answer; worth retrying.
    #[error("storage is unavailable, try again shortly")]
    Unavailable,
    /// The request cannot be answered as asked; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist (any more); the message says what.
    #[error("{0}")]
    NotFound(String),
    /// The request needs a credential and came without a valid one; the message says how to
    /// sign in.
    #[error("{0}")]
    Unauthorized(String),
    /// The credential's role may not do this; the message says what it may not do.
    #[error("{0}")]
    Forbidden(String),
    /// The server-function machinery itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl ApiError {
    /// The HTTP status that says what kind of failure this is.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Unavailable => 503,
            Self::Invalid(_) => 400,
            Self::NotFound(_) => 404,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these are the request's fault: arguments that are not JSON, of the
            // wrong type, missing, or a body that could not be read. (In the browser the same
            // variants mean the answer could not be read, which is the transport's.)
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(reason) | ServerFnErrorErr::Args(reason) => {
                Self::Invalid(format!(
                    "the request's arguments could not be read: {reason}"
                ))
            }
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::MissingArg(name) => {
                Self::Invalid(format!("the request lacks the argument `{name}`"))
            }
            other => Self::Transport(other.to_string()),
        }
    }
}
