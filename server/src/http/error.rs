//! The HTTP edge's error type: every handler error becomes a response here, and only here.
//! Domain errors are classified once ([`Failure`]); their HTTP status, InfluxDB error code
//! and server-function error are derived from that class here, each in one place.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use app::api::ApiError;

use crate::failure::{Classify, Failure, as_api_error};
use crate::http::query_params::BadParameter;
use crate::ingest::TooLarge;
use crate::ingest::json::{BatchError, MalformedBatch, RejectedItem};
use crate::ingest::line_protocol::LineError;
use crate::storage::StorageError;
use crate::storage::access::AccessError;
use crate::storage::dashboards::DashboardError;
use crate::storage::events::AnalyticsError;
use crate::storage::query::QueryError;

/// Seconds a client should wait before retrying while Redis is unavailable.
const RETRY_AFTER_SECS: &str = "1";

/// Most line errors listed in one answer; a body of a million bad lines gets a short answer.
const MAX_LISTED_LINE_ERRORS: usize = 20;

/// Which InfluxDB API a write came through; each has its own error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfluxApi {
    /// `/write`: `{"error": "…"}`.
    V1,
    /// `/api/v2/write`: `{"code": "invalid", "message": "…"}`.
    V2,
}

/// What a request handler can fail with.
#[derive(thiserror::Error, Debug)]
pub enum AppError {
    /// Storage failed; nothing of the request was acknowledged.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The body is not a batch at all.
    #[error(transparent)]
    Malformed(#[from] MalformedBatch),
    /// An InfluxDB write was refused in part (`errors`, the first of `refused` lines) or whole
    /// (a bad parameter or body).
    #[error("{message}")]
    Influx {
        api: InfluxApi,
        message: String,
        errors: Vec<LineError>,
        refused: usize,
    },
    /// An ingest request over a limit, refused whole (`413`); `api` when it came through an
    /// InfluxDB endpoint, whose error body it then takes.
    #[error("{error}")]
    TooLarge {
        error: TooLarge,
        api: Option<InfluxApi>,
    },
    /// A query parameter is missing or unusable.
    #[error(transparent)]
    BadParameter(#[from] BadParameter),
    /// A query could not run.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A dashboard request failed.
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
    /// A funnel, experiment or analytics request failed.
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    /// A token, session or sign-in link request failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// An alerting request failed.
    #[error(transparent)]
    Alert(#[from] crate::storage::alerts::AlertError),
    /// Some items were refused; the others were stored.
    #[error("{} of {} items rejected", rejected.len(), rejected.len() + accepted)]
    PartlyRejected {
        accepted: usize,
        rejected: Vec<RejectedItem>,
    },
}

impl From<BatchError> for AppError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::Malformed(error) => Self::Malformed(error),
            BatchError::TooLarge(error) => Self::TooLarge { error, api: None },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::Storage(error) => classified(&error),
            Self::Query(error) => classified(&error),
            Self::Dashboard(error) => classified(&error),
            Self::Analytics(error) => classified(&error),
            Self::Access(error) => classified(&error),
            Self::Alert(error) => classified(&error),
            Self::BadParameter(error) => classified(&error),
            Self::Malformed(error) => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": error.to_string(), "accepted": 0 })),
            )
                .into_response(),
            Self::TooLarge { error, api } => {
                let message = error.to_string();
                let body = match api {
                    None => json!({ "error": message, "accepted": 0 }),
                    Some(InfluxApi::V1) => json!({ "error": message }),
                    Some(InfluxApi::V2) => {
                        json!({ "code": influx_code_of(StatusCode::PAYLOAD_TOO_LARGE), "message": message })
                    }
                };
                (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
            }
            Self::Influx {
                api,
                message,
                errors,
                refused,
            } => {
                let mut full = message;
                for error in errors.iter().take(MAX_LISTED_LINE_ERRORS) {
                    full.push_str("; ");
                    full.push_str(&error.error);
                }
                let listed = errors.len().min(MAX_LISTED_LINE_ERRORS);
                if refused > listed {
                    full.push_str(&format!("; and {} more", refused - listed));
                }
                let body = match api {
                    InfluxApi::V1 => json!({ "error": full }),
                    InfluxApi::V2 => match errors.first() {
                        Some(first) => {
                            json!({ "code": influx_code(Failure::Invalid), "message": full, "line": first.line })
                        }
                        None => json!({ "code": influx_code(Failure::Invalid), "message": full }),
                    },
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            Self::PartlyRejected { accepted, rejected } => {
                let total = rejected.len() + accepted;
                let summary = if accepted == 0 {
                    format!(
                        "{} of {total} items rejected; nothing was stored",
                        rejected.len()
                    )
                } else {
                    format!(
                        "{} of {total} items rejected; {accepted} accepted and stored",
                        rejected.len()
                    )
                };
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": summary, "accepted": accepted, "rejected": rejected })),
                )
                    .into_response()
            }
        }
    }
}

/// An error body in the format of the endpoint at `path`: InfluxDB v2's for `/api/v2/write`,
/// `{"error": …}` everywhere else.
pub fn error_body(path: &str, status: StatusCode, message: &str) -> serde_json::Value {
    if path == "/api/v2/write" {
        json!({ "code": influx_code_of(status), "message": message })
    } else {
        json!({ "error": message })
    }
}

/// The HTTP status of a kind of failure.
#[must_use]
pub fn status_of(failure: Failure) -> StatusCode {
    match failure {
        Failure::Invalid => StatusCode::BAD_REQUEST,
        Failure::NotFound => StatusCode::NOT_FOUND,
        Failure::Conflict => StatusCode::CONFLICT,
        Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// InfluxDB 2's error `code` for a kind of failure (as its clients read it).
#[must_use]
pub fn influx_code(failure: Failure) -> &'static str {
    influx_code_of(status_of(failure))
}

/// InfluxDB 2's error `code` for an HTTP status: the one place its error bodies get their code.
fn influx_code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not found",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "request too large",
        StatusCode::TOO_MANY_REQUESTS => "too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_client_error() => "invalid",
        _ => "internal error",
    }
}

/// A classified error as a server function's caller reads it. Storage trouble is logged here,
/// once, with `what` was being done; the browser is told only to retry.
pub fn api_error(error: &impl Classify, what: &str) -> ApiError {
    if matches!(error.failure(), Failure::Unavailable | Failure::Internal) {
        tracing::warn!(%error, "{what}: storage failed");
    }
    as_api_error(error)
}

/// A classified error's answer: its status and `{"error": …}`; storage trouble is logged and
/// says that nothing was stored (`503` with `Retry-After` while Redis is unavailable).
fn classified(error: &impl Classify) -> Response {
    match error.failure() {
        Failure::Unavailable => {
            tracing::warn!(%error, "storage unavailable");
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "storage unavailable; nothing was stored, retry shortly" })),
            )
                .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            response
        }
        Failure::Internal => {
            tracing::error!(%error, "storage failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal storage error; nothing was stored" })),
            )
                .into_response()
        }
        failure => (
            status_of(failure),
            Json(json!({ "error": error.to_string() })),
        )
            .into_response(),
    }
}
