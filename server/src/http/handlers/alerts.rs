//! The alerts API under `/api/v1/alerts`: rules (with their state), alert instances, history,
//! silences, contact points (secrets shown once, at creation), dead letters, previews, and the
//! whole configuration as one document for export, import and provisioning. Each handler reads
//! its request and calls the alerting handle (`alerts::ops`).

use app::alerts::api::{
    AlertsDocument, DeadLetter, HistoryEntry, InstanceView, Preview, PreviewRequest, RuleView,
    TestResult,
};
use app::alerts::{ContactPoint, Rule, Silence};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::http::error::AppError;
use crate::http::json_body;
use crate::http::state::AppState;
use crate::storage::alerts::AlertError;

/// `GET /api/v1/alerts/rules`: every rule with how its instances stand.
pub async fn list_rules(State(state): State<AppState>) -> Result<Json<Vec<RuleView>>, AppError> {
    let instances = state.alerting.instances(None).await?;
    Ok(Json(state.alerting.rule_views(&instances)))
}

fn rule_body(bytes: &[u8]) -> Result<Rule, AlertError> {
    Ok(json_body::parse_rule(bytes)?)
}

/// `POST /api/v1/alerts/rules`: a new rule (`201` with the rule as stored).
pub async fn create_rule(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Rule>), AppError> {
    let mut rule = rule_body(&bytes)?;
    rule.id = String::new();
    Ok((
        StatusCode::CREATED,
        Json(state.alerting.save_rule(rule).await?),
    ))
}

/// `POST /api/v1/alerts/rules/preview`: what a rule (not saved) would have done over the last
/// hours, as `{"rule": …, "hours": 6}` or the bare rule.
pub async fn preview_rule(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<Json<Preview>, AppError> {
    let request = match json_body::parse_rule(&bytes) {
        Ok(rule) => PreviewRequest { rule, hours: None },
        Err(_) => json_body::parse_preview(&bytes).map_err(AlertError::from)?,
    };
    Ok(Json(state.alerting.preview(&request).await?))
}

/// `GET /api/v1/alerts/rules/{id}`.
pub async fn get_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Rule>, AppError> {
    Ok(Json(state.store.rule(&id).await?))
}

/// `PUT /api/v1/alerts/rules/{id}`: replaces a rule (its instances start afresh).
pub async fn update_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Rule>, AppError> {
    state.store.rule(&id).await?;
    let mut rule = rule_body(&bytes)?;
    rule.id = id;
    Ok(Json(state.alerting.save_rule(rule).await?))
}

/// `DELETE /api/v1/alerts/rules/{id}`.
pub async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.alerting.delete_rule(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct InstancesQuery {
    rule: Option<String>,
}

/// `GET /api/v1/alerts/instances[?rule=<id>]`: alert instances, worst first.
pub async fn instances(
    State(state): State<AppState>,
    Query(query): Query<InstancesQuery>,
) -> Result<Json<Vec<InstanceView>>, AppError> {
    Ok(Json(state.alerting.instances(query.rule.as_deref()).await?))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    rule: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/alerts/history[?rule=<id>&limit=<n>]`: transitions, newest first.
pub async fn history(
    State(state): State<AppState>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, AppError> {
    let limit = query.limit.unwrap_or(200);
    Ok(Json(
        state.alerting.history(query.rule.as_deref(), limit).await?,
    ))
}

/// `GET /api/v1/alerts/silences`.
pub async fn list_silences(State(state): State<AppState>) -> Result<Json<Vec<Silence>>, AppError> {
    Ok(Json(state.store.alert_config().await?.silences))
}

/// `POST /api/v1/alerts/silences`: a new silence (from now when no start is given).
pub async fn create_silence(
    State(state): State<AppState>,
    principal: Option<axum::Extension<app::auth::Principal>>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Silence>), AppError> {
    let silence: Silence = json_body::parse(&bytes).map_err(AlertError::from)?;
    let by = principal
        .and_then(|p| p.0.credential)
        .map(|credential| match credential {
            app::auth::Credential::Token { label, .. } => format!("token {label}"),
            app::auth::Credential::Session { via, .. } => via,
        })
        .unwrap_or_default();
    let stored = state.alerting.create_silence(silence, by).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// `DELETE /api/v1/alerts/silences/{id}`: ends the silence now; what it held back is sent.
pub async fn expire_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Silence>, AppError> {
    Ok(Json(state.alerting.expire_silence(&id).await?))
}

/// `GET /api/v1/alerts/contact-points`: without their secrets.
pub async fn list_contacts(
    State(state): State<AppState>,
) -> Result<Json<Vec<ContactPoint>>, AppError> {
    Ok(Json(state.alerting.export().await?.contact_points))
}

/// `POST /api/v1/alerts/contact-points`: a new contact point; the answer carries a webhook's
/// signing secret, the only time it is shown.
pub async fn create_contact(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ContactPoint>), AppError> {
    let contact: ContactPoint = json_body::parse(&bytes).map_err(AlertError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(state.alerting.save_contact(contact, true).await?),
    ))
}

/// `PUT /api/v1/alerts/contact-points/{name}`: changes one (a webhook keeps its secret unless
/// a new one is given).
pub async fn update_contact(
    State(state): State<AppState>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<ContactPoint>, AppError> {
    let mut contact: ContactPoint = json_body::parse(&bytes).map_err(AlertError::from)?;
    contact.name = name;
    Ok(Json(state.alerting.save_contact(contact, false).await?))
}

/// `DELETE /api/v1/alerts/contact-points/{name}`.
pub async fn delete_contact(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    state.alerting.delete_contact(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/alerts/contact-points/{name}/test`: sends a test notification now (not
/// queued, not retried) and says how the receiver answered.
pub async fn test_contact(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TestResult>, AppError> {
    Ok(Json(state.alerting.test_contact(&name).await?))
}

/// `GET /api/v1/alerts/dead-letters`: notifications given up, newest first.
pub async fn dead_letters(
    State(state): State<AppState>,
) -> Result<Json<Vec<DeadLetter>>, AppError> {
    Ok(Json(state.store.dead_letters(500).await?))
}

/// `GET /api/v1/alerts/export`: rules, contact points (without secrets) and silences in force.
pub async fn export(State(state): State<AppState>) -> Result<Json<AlertsDocument>, AppError> {
    Ok(Json(state.alerting.export().await?))
}

/// `POST /api/v1/alerts/import`: applies a document (contact points first, then rules,
/// then silences); everything is checked before anything is stored.
pub async fn import(
    State(state): State<AppState>,
    bytes: Bytes,
) -> Result<Json<AlertsDocument>, AppError> {
    let document = json_body::parse_document(&bytes).map_err(AlertError::from)?;
    Ok(Json(state.alerting.import(document).await?))
}
