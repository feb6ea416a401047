//! The `Idempotency-Key` header of ingest requests: a client that repeats a request after a
//! failure (a 503, a timeout, a dropped connection) with the same key has each point stored
//! once, however much of the first attempt Redis had taken.

use axum::http::HeaderMap;

use crate::http::query_params::BadParameter;
use crate::storage::{Token, idempotency_token};

/// The header's name.
pub const HEADER: &str = "idempotency-key";
/// Longest key taken.
const MAX_KEY_CHARS: usize = 255;

/// The request's idempotency token, if it sent a key.
///
/// # Errors
/// The key is empty, longer than 255 characters, or not visible ASCII.
pub fn token(headers: &HeaderMap) -> Result<Option<Token>, BadParameter> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let bad = || BadParameter {
        name: "Idempotency-Key",
        reason: format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters (a UUID, say)"),
    };
    let key = value.to_str().map_err(|_| bad())?;
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(idempotency_token(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, value.parse().unwrap());
        headers
    }

    /// A key gives the same token every time, another key another; bad keys are named.
    #[test]
    fn keys() {
        assert_eq!(token(&HeaderMap::new()).unwrap(), None);
        let a = token(&headers("3f1c-retry")).unwrap();
        assert!(a.is_some());
        assert_eq!(a, token(&headers("3f1c-retry")).unwrap());
        assert_ne!(a, token(&headers("3f1c-other")).unwrap());
        let error = token(&headers("two words")).unwrap_err();
        assert!(error.to_string().contains("Idempotency-Key"), "{error}");
        assert!(token(&headers(&"k".repeat(256))).is_err());
    }
}
