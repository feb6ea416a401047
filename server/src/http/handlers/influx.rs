//! The InfluxDB-compatible write API: `POST /api/v2/write` (2.x) and `POST /write` (1.x), plus
//! the `/ping` and `/health` probes that InfluxDB clients and Telegraf call.
//!
//! Bodies may be gzip-compressed (`Content-Encoding: gzip`); the router decompresses them, and
//! the body-size limit applies to the decompressed bytes. `org`, `bucket` and `db` are accepted
//! and not used: livedash has one namespace. An `Authorization: Token …` header is accepted.
//! Good lines are stored even when others are refused; the answer is then a 400 saying which
//! lines failed, as InfluxDB answers a partial write. A body over a limit (its bytes, its
//! samples) is refused whole with a 413 naming the limit, on which Telegraf splits its batch in
//! two and retries (a 400 it would drop).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::http::body::{BodyError, read_body};
use crate::http::error::{AppError, InfluxApi};
use crate::http::state::AppState;
use crate::ingest::line_protocol::{self, LineError, LineLimits, MAX_KEPT_LINE_ERRORS, Precision};
use crate::telemetry::{self, IngestOutcome, Protocol};

/// The InfluxDB version livedash reports to clients that ask.
const COMPATIBLE_VERSION: &str = "2.7.0";

/// Query parameters of `/api/v2/write`.
#[derive(Debug, Deserialize)]
pub struct V2Params {
    /// Organisation name or id (accepted, unused).
    pub org: Option<String>,
    /// Bucket (accepted, unused).
    pub bucket: Option<String>,
    /// `ns` (default), `us`, `ms` or `s`.
    pub precision: Option<String>,
}

/// Query parameters of `/write`.
#[derive(Debug, Deserialize)]
pub struct V1Params {
    /// Database (accepted, unused).
    pub db: Option<String>,
    /// `n` (default), `u`, `ms`, `s`, `m` or `h`.
    pub precision: Option<String>,
}

/// `POST /api/v2/write`.
pub async fn write_v2(
    State(state): State<AppState>,
    Query(params): Query<V2Params>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    let _ = (params.org, params.bucket);
    write(
        &state,
        &headers,
        body,
        params.precision.as_deref(),
        InfluxApi::V2,
    )
    .await
}

/// `POST /write`.
pub async fn write_v1(
    State(state): State<AppState>,
    Query(params): Query<V1Params>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    let _ = params.db;
    write(
        &state,
        &headers,
        body,
        params.precision.as_deref(),
        InfluxApi::V1,
    )
    .await
}

/// `GET|HEAD /ping`: what InfluxDB 1.x clients probe.
pub async fn ping() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [(
            HeaderName::from_static("x-influxdb-version"),
            HeaderValue::from_static(COMPATIBLE_VERSION),
        )],
    )
}

/// `GET /health`: what InfluxDB 2.x clients probe.
pub async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "name": "livedash",
        "message": "ready for writes",
        "status": "pass",
        "version": COMPATIBLE_VERSION,
    }))
}

async fn write(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    precision: Option<&str>,
    api: InfluxApi,
) -> Result<StatusCode, AppError> {
    let started = std::time::Instant::now();
    let written = write_lines(state, headers, body, precision, api).await;
    let outcome = match &written {
        Ok(written) => IngestOutcome {
            accepted: written.stored,
            refused: written.refused,
            refused_whole: false,
        },
        Err(_) => IngestOutcome {
            refused_whole: true,
            ..IngestOutcome::default()
        },
    };
    telemetry::metrics().ingested(Protocol::LineProtocol, outcome, started.elapsed());
    let written = written?;
    if written.refused == 0 {
        return Ok(StatusCode::NO_CONTENT);
    }
    Err(AppError::Influx {
        api,
        message: format!(
            "partial write: {} line(s) rejected, {} point(s) from the other lines stored",
            written.refused, written.stored
        ),
        errors: written.errors,
        refused: written.refused,
    })
}

/// What a write stored, and the lines it refused (the first of their errors).
struct Written {
    stored: usize,
    refused: usize,
    errors: Vec<LineError>,
}

/// Parses and stores a write's lines; an error refuses the whole request.
async fn write_lines(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    precision: Option<&str>,
    api: InfluxApi,
) -> Result<Written, AppError> {
    let bad_request = |message: String| AppError::Influx {
        api,
        message,
        errors: Vec::new(),
        refused: 0,
    };
    let precision = match precision {
        Some(value) => Precision::parse(value).map_err(bad_request)?,
        None => Precision::default(),
    };
    let _turn = crate::http::body::turn_for(headers, state.config.max_body_bytes).await;
    let body = read_body(headers, body, state.config.max_body_bytes, true)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge(error) => AppError::TooLarge {
                error,
                api: Some(api),
            },
            unreadable @ BodyError::Unreadable(_) => bad_request(unreadable.to_string()),
        })?;
    let now = app::clock::now_ms();
    let limits = LineLimits {
        max_samples: state.config.ingest.max_batch_samples,
        max_series_bytes: state.config.max_body_bytes,
    };
    let parsed = line_protocol::parse(&body, precision, now, limits).map_err(|error| {
        AppError::TooLarge {
            error,
            api: Some(api),
        }
    })?;
    drop(body);
    // A line is taken whole or not at all: its samples are one item to storage.
    let mut lines = Vec::with_capacity(parsed.points.len());
    let mut items = Vec::with_capacity(parsed.points.len());
    let mut observations = Vec::with_capacity(parsed.points.len());
    for (position, point) in parsed.points.into_iter().enumerate() {
        let same_line = lines.last() == Some(&point.line);
        items.push(if same_line {
            items[position - 1]
        } else {
            position
        });
        lines.push(point.line);
        observations.push(point.observation);
    }
    let token =
        crate::http::idempotency::token(headers).map_err(|error| bad_request(error.to_string()))?;
    let outcome = state
        .writer
        .write_items_keyed(observations, items, token)
        .await?;
    let mut refused = parsed.refused_lines;
    let mut errors = parsed.errors;
    let mut refused_by_storage: Vec<LineError> = Vec::new();
    let mut last_line = None;
    // Storage refuses a line's samples together, listed in order.
    for (position, reason) in outcome.refused {
        let line = lines[position];
        if last_line.replace(line) == Some(line) {
            continue;
        }
        refused += 1;
        if refused_by_storage.len() < MAX_KEPT_LINE_ERRORS {
            refused_by_storage.push(LineError {
                line,
                error: format!("line {line}: {reason}"),
            });
        }
    }
    errors.extend(refused_by_storage);
    errors.sort_by_key(|e| e.line);
    errors.truncate(MAX_KEPT_LINE_ERRORS);
    Ok(Written {
        stored: outcome.stored,
        refused,
        errors,
    })
}
