//! `GET /healthz` (the process is up) and `GET /readyz` (Redis answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::http::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: Redis answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(latency) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "redis": "ok",
                "redis_latency_ms": latency.as_secs_f64() * 1000.0,
                "live_listeners": state.hub.listeners(),
                "live_queries": state.hub.feeds(),
                "live_slow_clients_closed": state.hub.slow_clients_closed(),
            })),
        ),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "redis": error.to_string() })),
        ),
    }
}
