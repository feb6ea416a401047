//! A person's export and deletion (`/api/v1/people/{id}`), as data-protection requests need.

use app::clock::now_ms;
use app::people::Person;
use axum::Json;
use axum::extract::{Path, State};

use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::storage::events::AnalyticsError;
use crate::storage::people::Deleted;

/// `GET /api/v1/people/{id}`: everything kept of the person whose events carry `id` (their
/// summary and timeline); 404 when nothing is.
pub async fn export_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Person>, AppError> {
    match state.store.person(&id).await? {
        Some(person) => Ok(Json(person)),
        None => Err(AnalyticsError::NotFound(format!("no person has the id {id:?}")).into()),
    }
}

/// `DELETE /api/v1/people/{id}`: removes the person from every structure that holds their id
/// (see `storage::people`); answers what was found. Asking again is harmless.
pub async fn delete_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, AppError> {
    let deleted = state.store.delete_person(&id, now_ms()).await?;
    tracing::info!(
        person = deleted.person,
        sites = deleted.sites,
        logged_events = deleted.logged_events,
        "person deleted on request"
    );
    Ok(Json(deleted))
}
