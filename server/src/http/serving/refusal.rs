//! Refusals at the edge, before any handler: a request body that came too late, or too many
//! connections from one address that have not signed in.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};

/// Why a connection or request was refused at the edge, before any handler.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ConnectionError {
    /// The request body did not arrive within the body timeout.
    #[error(
        "the request body did not arrive within {limit} of its headers \
         (LIVEDASH_BODY_TIMEOUT={limit}); send it faster or raise the limit"
    )]
    BodyTimeout { limit: String },
    /// The client's address has too many connections that have not signed in.
    #[error(
        "too many connections from your address that have not signed in: at most {limit} at \
         once (LIVEDASH_CONNECTIONS_PER_ADDRESS={limit}); sign in, or close idle connections"
    )]
    TooManyPending { limit: usize },
}

impl ConnectionError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyPending { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The body of the refusal in the format of the endpoint at `path`: InfluxDB's v2 write API
    /// has its own, every other endpoint answers `{"error": …}`.
    fn body(&self, path: &str) -> String {
        let message = self.to_string();
        let body = if path == "/api/v2/write" {
            serde_json::json!({ "code": "invalid", "message": message })
        } else {
            serde_json::json!({ "error": message })
        };
        body.to_string()
    }

    /// The whole answer, closing the connection.
    pub(super) fn response(&self, path: &str) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body(path)));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// The answer as raw HTTP/1.1, for a connection refused before hyper serves it.
    pub(super) fn raw_response(&self) -> Vec<u8> {
        let body = self.body("");
        let status = self.status();
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             retry-after: 1\r\nconnection: close\r\n\r\n{body}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes()
    }
}

/// `30s`, or `1500ms` when not whole seconds.
pub(super) fn duration_text(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals name their limit and its variable, in the endpoint's format.
    #[test]
    fn refusals_name_the_limit_and_its_variable() {
        let late = ConnectionError::BodyTimeout {
            limit: duration_text(Duration::from_millis(1500)),
        };
        let body: serde_json::Value = serde_json::from_str(&late.body("/api/v1/ingest")).unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("LIVEDASH_BODY_TIMEOUT=1500ms"),
            "{message}"
        );
        let body: serde_json::Value = serde_json::from_str(&late.body("/api/v2/write")).unwrap();
        assert_eq!(body["code"], "invalid");
        assert!(body["message"].as_str().unwrap().contains("1500ms"));
        let raw =
            String::from_utf8(ConnectionError::TooManyPending { limit: 3 }.raw_response()).unwrap();
        assert!(
            raw.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{raw}"
        );
        let (_, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(
            raw.contains(&format!("content-length: {}\r\n", body.len())),
            "{raw}"
        );
        assert!(
            body.contains("LIVEDASH_CONNECTIONS_PER_ADDRESS=3"),
            "{body}"
        );
    }
}
