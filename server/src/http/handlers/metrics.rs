//! `GET /metrics`: livedash's own metrics for Prometheus (see [`crate::telemetry::exposition`]).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;
use crate::telemetry::exposition::{Snapshot, negotiate, render};
use crate::telemetry::process;

/// `GET /metrics`, in the format the scraper's `Accept` header prefers.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let snapshot = Snapshot {
        live_viewers: state.hub.listeners(),
        live_queries: state.hub.feeds(),
        slow_clients_closed: state.hub.slow_clients_closed(),
        points_stored: state.writer.stored_total(),
        statsd_accepted: state.statsd.accepted.load(Ordering::Relaxed),
        statsd_malformed: state.statsd.malformed.load(Ordering::Relaxed),
        statsd_dropped: state.statsd.dropped.load(Ordering::Relaxed),
        process: process::sample(),
    };
    let Some((body, content_type)) = render(snapshot, negotiate(accept)) else {
        tracing::error!("the metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}
