//! The server functions' edge: what a `/api/fn/*` request meets before and after its function,
//! where server_fn cannot say it itself, and the refusal of any body over the size limit.
//!
//! - A server function's body is read here, within `LIVEDASH_MAX_BODY_BYTES`: an oversize body
//!   is a `413` that names the limit, instead of an error inside the function's decoder.
//! - server_fn answers every error raised before the function runs (arguments that are not
//!   JSON, of the wrong type, missing) with `500`. Those are decoded as [`ApiError::Invalid`]
//!   (see `app::api`), and here they get the status their [`ApiError`] stands for.
//! - Any other API route whose request axum's extractors refused (a plain-text `4xx`: a query
//!   string of the wrong type, a body over the limit) gets the API's JSON error body instead,
//!   and a body over the limit is named with its variable (InfluxDB's error body on its v2
//!   write route).

use app::api::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::body::{BodyError, read_body};
use crate::http::error::error_body;
use crate::http::routes::SERVER_FN_PREFIX;
use crate::http::state::AppState;
use crate::ingest::TooLarge;

/// Largest error answer read back to find its status (errors are a message, not data).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The refusal of a body over `limit` bytes, for any endpoint: the ingest endpoints' words.
fn body_limit_message(limit: usize) -> String {
    TooLarge::Body {
        max: limit,
        compressible: false,
    }
    .to_string()
}

/// The layer; see the module documentation.
pub async fn edge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    if !request.uri().path().starts_with(SERVER_FN_PREFIX) {
        let path = request.uri().path().to_owned();
        let response = next.run(request).await;
        return json_refusal(response, &path, limit).await;
    }
    let (parts, body) = request.into_parts();
    let body = match read_body(&parts.headers, body, limit, false).await {
        Ok(body) => body,
        Err(BodyError::TooLarge(error)) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(ApiError::Invalid(error.to_string())),
            )
                .into_response();
        }
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(ApiError::Invalid(error.to_string())),
            )
                .into_response();
        }
    };
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_ERROR_BYTES)
        .await
        .unwrap_or_else(|_| Bytes::new());
    if let Ok(error) = serde_json::from_slice::<ApiError>(&body) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(parts.status);
    }
    Response::from_parts(parts, Body::from(body))
}

/// Replaces the plain-text refusal of one of axum's extractors on an API route with the API's
/// JSON error body; a body over the limit is named with its variable.
async fn json_refusal(response: Response, path: &str, limit: usize) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    let api = path.starts_with("/api/") || path == "/write";
    if !plain || !api || !response.status().is_client_error() {
        return response;
    }
    let status = response.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        body_limit_message(limit)
    } else {
        let body = axum::body::to_bytes(response.into_body(), MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&body).into_owned()
    };
    (status, axum::Json(error_body(path, status, &message))).into_response()
}
