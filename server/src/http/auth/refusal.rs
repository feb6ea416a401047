//! How a refusal reads: its status, the endpoint's error format ([`error_body`]),
//! `Retry-After` for limits, and readable across sites where the snippet runs.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::is_assign_path;
use super::denied::Denied;
use super::headers::secure_headers;
use crate::http::error::{AppError, error_body};
use crate::http::rate_limit::RateLimiter;
use crate::storage::access::AccessError;

/// Whole seconds to wait, at least one, for `Retry-After`.
pub(super) fn retry_seconds(wait: std::time::Duration) -> f64 {
    wait.as_secs_f64().ceil().max(1.0)
}

pub(super) fn too_many_requests(
    path: &str,
    per_second: f64,
    wait: std::time::Duration,
) -> Response {
    let seconds = retry_seconds(wait);
    let message = format!(
        "rate limit: at most {per_second} requests a second per token or browser \
         (LIVEDASH_RATE_LIMIT); retry after {seconds} s"
    );
    retry_later(path, &message, seconds)
}

pub(super) fn too_many_failures(
    path: &str,
    limiter: Option<&RateLimiter>,
    wait: std::time::Duration,
) -> Response {
    let seconds = retry_seconds(wait);
    let (per_second, burst) = limiter.map_or((0.0, 0.0), |l| (l.per_second(), l.burst()));
    let message = format!(
        "too many failed authentications from this address: at most {per_second} a second, \
         bursts of {burst} (LIVEDASH_AUTH_FAILURE_LIMIT); retry after {seconds} s"
    );
    retry_later(path, &message, seconds)
}

/// `429` with `Retry-After`, in the endpoint's error format.
pub(super) fn retry_later(path: &str, message: &str, seconds: f64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(error_body(path, StatusCode::TOO_MANY_REQUESTS, message)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    cross_site_readable(path, response.headers_mut());
    secure_headers(response.headers_mut());
    response
}

/// The tracking snippet and experiment assignments run on other sites: let them read why they
/// were refused.
pub(super) fn cross_site_readable(path: &str, headers: &mut HeaderMap) {
    if path == "/api/v1/events" || is_assign_path(path) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
}

/// `303 See Other` to `location`, a path this module made or checked (`/` if it is somehow not
/// a header value, rather than a panic after a session was made).
pub(super) fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

pub(super) fn refuse(path: &str, denied: Denied) -> Response {
    let status = denied.status();
    let message = denied.to_string();
    let mut response = (status, Json(error_body(path, status, &message))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Token realm=\"livedash\""),
        );
    }
    cross_site_readable(path, response.headers_mut());
    secure_headers(response.headers_mut());
    response
}

pub(super) fn refuse_storage(error: AccessError) -> Response {
    AppError::Access(error).into_response()
}
