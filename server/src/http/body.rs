//! Reading request bodies within the body limit, and the turns large bodies take so that a burst
//! of them cannot hold more than a bounded amount of memory at once.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures::StreamExt;

use crate::ingest::TooLarge;
use crate::ingest::json::{BatchError, MalformedBatch};

/// A request body that could not be read whole.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The client stopped sending, or a compressed body does not decompress.
    #[error("could not read the request body: {0}")]
    Unreadable(String),
}

/// Bodies from this size on (or of unknown size, decompressed or chunked) count as large.
const LARGE_BODY_BYTES: u64 = 1 << 20;
/// MiB of large bodies read, parsed and written at once: two of the default
/// `LIVEDASH_MAX_BODY_BYTES` (16 MiB). Parsing is work for a core and the writer writes one
/// group at a time, so more at once would not go faster; they would only hold their bodies and
/// parsed items in memory while they wait, which is how a burst of them grew livedash by
/// hundreds of MB. Smaller requests (the usual batches) go at once, so group commit still
/// combines many of them.
const LARGE_BODIES_IN_FLIGHT_MIB: u32 = 32;

fn large_bodies() -> &'static tokio::sync::Semaphore {
    static IN_FLIGHT: tokio::sync::Semaphore =
        tokio::sync::Semaphore::const_new(LARGE_BODIES_IN_FLIGHT_MIB as usize);
    &IN_FLIGHT
}

/// Waits, for a large body, until it fits among the large bodies being handled (a body over
/// [`LARGE_BODIES_IN_FLIGHT_MIB`] alone); hold the turn until the request is written. Small
/// bodies go at once. `max` is the body limit, what a body of unknown size may come to.
pub async fn turn_for(
    headers: &HeaderMap,
    max: usize,
) -> Option<tokio::sync::SemaphorePermit<'static>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length < LARGE_BODY_BYTES) {
        return None;
    }
    let bytes = declared.unwrap_or(max as u64).min(max as u64);
    let mib = u32::try_from(bytes.div_ceil(1 << 20)).unwrap_or(u32::MAX);
    large_bodies()
        .acquire_many(mib.clamp(1, LARGE_BODIES_IN_FLIGHT_MIB))
        .await
        .ok()
}

/// Reads a request body of at most `max` bytes (`LIVEDASH_MAX_BODY_BYTES`); on routes that
/// decompress (`compressible`), the decompressed bytes are counted. A declared length over the
/// limit is refused before anything is read.
///
/// # Errors
/// The body is over `max` bytes, or could not be read.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    compressible: bool,
) -> Result<Bytes, BodyError> {
    let too_large = || BodyError::TooLarge(TooLarge::Body { max, compressible });
    // The decompression layer drops the `Content-Length` of a body it decompresses, so a
    // length here is the length of the bytes counted below.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    let mut chunks = body.into_data_stream();
    // The body while it is one chunk (most are), kept without a copy; then the gathered bytes.
    let mut whole: Option<Bytes> = None;
    let mut gathered: Vec<u8> = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| BodyError::Unreadable(error_chain(&error)))?;
        let length = whole.as_ref().map_or(gathered.len(), Bytes::len) + chunk.len();
        if length > max {
            return Err(too_large());
        }
        match whole.take() {
            None if gathered.is_empty() => whole = Some(chunk),
            None => gathered.extend_from_slice(&chunk),
            Some(first) => {
                let expected = declared.map_or(0, |length| length as usize);
                gathered.reserve_exact(expected.max(length));
                gathered.extend_from_slice(&first);
                gathered.extend_from_slice(&chunk);
            }
        }
    }
    Ok(whole.unwrap_or_else(|| Bytes::from(gathered)))
}

/// An error with its causes, `outer: inner: …` (a decompression error says what is wrong only
/// in its source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

impl From<BodyError> for BatchError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge(error) => Self::TooLarge(error),
            BodyError::Unreadable(message) => MalformedBatch::Unreadable(message).into(),
        }
    }
}
