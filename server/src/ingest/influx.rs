//! The InfluxDB-compatible write API: `POST /api/v2/write` (2.x) and `POST /write` (1.x), plus
//! the `/ping` and `/health` probes that InfluxDB clients and Telegraf call.
//!
//! Bodies may be gzip-compressed (`Content-Encoding: gzip`); the router decompresses them within
//! the body-size limit. `org`, `bucket` and `db` are accepted and not used: livedash has one
//! namespace. An `Authorization: Token …` header is accepted. Good lines are stored even when
//! others are refused; the answer is then a 400 saying which lines failed, as InfluxDB answers a
//! partial write.

use std::collections::BTreeSet;

use app::model::Sample;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::line_protocol::{self, LineError, Precision};
use crate::error::{AppError, InfluxApi};
use crate::state::AppState;

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
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let _ = (params.org, params.bucket);
    write(&state, &body, params.precision.as_deref(), InfluxApi::V2).await
}

/// `POST /write`.
pub async fn write_v1(
    State(state): State<AppState>,
    Query(params): Query<V1Params>,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let _ = params.db;
    write(&state, &body, params.precision.as_deref(), InfluxApi::V1).await
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
    body: &[u8],
    precision: Option<&str>,
    api: InfluxApi,
) -> Result<StatusCode, AppError> {
    let precision = match precision {
        Some(value) => Precision::parse(value).map_err(|message| AppError::Influx {
            api,
            message,
            errors: Vec::new(),
        })?,
        None => Precision::default(),
    };
    let text = std::str::from_utf8(body).map_err(|error| AppError::Influx {
        api,
        message: format!("the body is not UTF-8 (at byte {})", error.valid_up_to()),
        errors: Vec::new(),
    })?;
    let parsed = line_protocol::parse(text, precision);
    let now = crate::routes::now_ms();
    let mut errors = parsed.errors;
    let mut samples = Vec::with_capacity(parsed.points.len());
    for point in parsed.points {
        match Sample::gauge(point.series, point.value, point.ts).validate(now) {
            Ok(observation) => samples.push((point.line, observation)),
            Err(error) => errors.push(LineError {
                line: point.line,
                error: format!("line {}: {error}", point.line),
            }),
        }
    }
    // A line is taken whole or not at all.
    let refused: BTreeSet<usize> = errors.iter().map(|e| e.line).collect();
    let (lines, observations): (Vec<usize>, Vec<_>) = samples
        .into_iter()
        .filter(|(line, _)| !refused.contains(line))
        .unzip();
    let outcome = state.writer.write(observations).await?;
    errors.extend(
        outcome
            .refused
            .into_iter()
            .map(|(index, reason)| LineError {
                line: lines[index],
                error: format!("line {}: {reason}", lines[index]),
            }),
    );
    let stored = outcome.stored;
    if errors.is_empty() {
        return Ok(StatusCode::NO_CONTENT);
    }
    errors.sort_by_key(|e| e.line);
    errors.dedup_by_key(|e| e.line);
    Err(AppError::Influx {
        api,
        message: format!(
            "partial write: {} line(s) rejected, {stored} point(s) from the other lines stored",
            errors.len()
        ),
        errors,
    })
}
