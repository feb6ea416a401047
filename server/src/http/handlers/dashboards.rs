//! A dashboard as a file (`export`), and the dashboard a share link shows.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use app::clock::now_ms;

use crate::http::error::AppError;
use crate::http::state::AppState;

/// `GET /api/v1/dashboards/{id}/export`: the dashboard's current version as a JSON file, the
/// form the list page imports.
pub async fn export_dashboard(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let dashboard = state.store.dashboard(&id).await?;
    let body = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
    let disposition = format!(
        "attachment; filename=\"{}.json\"",
        file_name(&dashboard.title)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/v1/share/{token}`: the dashboard a share link shows (its current version), for
/// anyone who has the link; 404 once it is revoked or expired.
pub async fn shared_dashboard(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<app::dashboard::Dashboard>, AppError> {
    Ok(Json(state.store.shared_dashboard(&token, now_ms()).await?))
}

/// A file name from a title: letters, digits and dashes only, never empty.
fn file_name(title: &str) -> String {
    let mut name = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-');
    if name.is_empty() {
        "dashboard".to_owned()
    } else {
        name.chars().take(80).collect()
    }
}
