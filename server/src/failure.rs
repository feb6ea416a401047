//! The one classification of failures: every domain error says which kind it is, and the HTTP
//! edge derives each answer's status, InfluxDB error code and server-function error from that
//! kind alone (`http::error`), or [`as_api_error`] for the browser. A leaf: depends on nothing in
//! the crate.

/// What kind of failure an error is, as far as the one who asked is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The request cannot be answered as asked; the message says why. Retrying it unchanged
    /// fails again.
    Invalid,
    /// What the request names does not exist (any more).
    NotFound,
    /// The request contradicts what is stored now (made against an older state).
    Conflict,
    /// Storage did not answer; worth retrying shortly.
    Unavailable,
    /// Something livedash did not expect (data it did not write, a bug); logged in full.
    Internal,
}

/// A classified error as a server function's caller (or a live subscriber) reads it: what is
/// wrong with the request is said; storage trouble says only to retry (it is logged in full
/// where it happened).
pub fn as_api_error(error: &impl Classify) -> app::api::ApiError {
    use app::api::ApiError;
    match error.failure() {
        Failure::Invalid | Failure::Conflict => ApiError::Invalid(error.to_string()),
        Failure::NotFound => ApiError::NotFound(error.to_string()),
        Failure::Unavailable | Failure::Internal => ApiError::Unavailable,
    }
}

/// An error that knows its [`Failure`] kind; its `Display` is what the asker is told.
pub trait Classify: std::fmt::Display {
    /// The kind of failure this is.
    fn failure(&self) -> Failure;
}
