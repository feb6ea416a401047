//! The router: API endpoints, the live socket, health checks, and the Leptos app.

use std::time::{SystemTime, UNIX_EPOCH};

use app::api::backend::SharedBackend;
use app::auth::LOGIN_LINK_PATH;
use app::live::LIVE_PATH;
use app::query::{QueryResult, Selector};
use app::{App, shell};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde_json::json;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::error::AppError;
use crate::ingest::events::parse_events;
use crate::ingest::influx;
use crate::ingest::json::{BatchError, RejectedItem, parse_batch};
use crate::live::socket;
use crate::query_params::{BadParameter, QueryParams};
use crate::state::AppState;
use crate::storage::catalog::{LabelListing, NamePage, SeriesPage};
use crate::telemetry::exposition::{METRICS_PATH, scrape};
use crate::telemetry::{IngestOutcome, Protocol};

/// Builds the whole HTTP surface on `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let backend: SharedBackend = std::sync::Arc::new(state.store.clone());
    let options = state.leptos_options.clone();
    let share_frame_ancestors = state.config.auth.share_frame_ancestors.clone();
    let context = move || {
        provide_context(backend.clone());
        page_security_policy(&share_frame_ancestors);
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(METRICS_PATH, get(scrape))
        .route("/api/v1/ingest", post(ingest))
        .route("/api/v1/events", post(events).options(cors_preflight))
        .route(
            "/api/v1/experiments/{id}/assign",
            get(assign).post(assign).options(cors_preflight),
        )
        .route("/api/v1/query", get(query))
        .route("/api/v1/series", get(series))
        .route("/api/v1/series/names", get(metric_names))
        .route("/api/v1/series/labels", get(labels))
        .route("/api/v1/dashboards/{id}/export", get(export_dashboard))
        .route("/api/v1/share/{token}", get(shared_dashboard))
        .merge(influx_routes())
        .route(LIVE_PATH, get(socket::upgrade))
        .route(auth::LOGIN_PATH, post(auth::login))
        .route(LOGIN_LINK_PATH, get(auth::login_link))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::server_fn_edge::edge,
        ))
        // Inside the guard, which puts the credential it accepted in the request.
        .layer(axum::middleware::from_fn(crate::serving::admit_signed_in))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Gives a page being rendered its Content-Security-Policy, with the nonce Leptos puts on the
/// page's inline scripts; share link pages may be framed as configured, others not at all.
fn page_security_policy(share_frame_ancestors: &str) {
    use leptos::prelude::{use_context, use_nonce};
    let (Some(nonce), Some(response), Some(parts)) = (
        use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
        use_context::<axum::http::request::Parts>(),
    ) else {
        return;
    };
    let frame_ancestors = if parts.uri.path().starts_with("/s/") {
        share_frame_ancestors
    } else {
        "'none'"
    };
    let policy = auth::page_security_policy(&nonce, frame_ancestors);
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The InfluxDB-compatible endpoints; their bodies may be gzip-compressed.
fn influx_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/write", post(influx::write_v2))
        .route("/write", post(influx::write_v1))
        .layer(RequestDecompressionLayer::new())
        .route("/ping", get(influx::ping).head(influx::ping))
        .route("/health", get(influx::health))
}

/// `GET /healthz`: the process is up.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: Redis answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
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

/// `GET /api/v1/dashboards/{id}/export`: the dashboard's current version as a JSON file, the
/// form the list page imports.
async fn export_dashboard(
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
async fn shared_dashboard(
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

/// `GET /api/v1/query`: see [`crate::query_params`].
async fn query(
    State(state): State<AppState>,
    Query(params): Query<QueryParams>,
) -> Result<Json<QueryResult>, AppError> {
    let query = params.into_query()?;
    Ok(Json(state.store.query(&query, now_ms()).await?))
}

/// Parameters of the catalog endpoints.
#[derive(Debug, serde::Deserialize)]
struct CatalogParams {
    /// A selector (`series`, `labels`).
    #[serde(rename = "match")]
    selector: Option<String>,
    /// A name or value prefix (`names`, `labels`).
    prefix: Option<String>,
    /// The last name of the previous page (`names`).
    after: Option<String>,
    /// Where the page starts (`series`).
    offset: Option<usize>,
    /// Page size (default 100, at most 1000).
    limit: Option<usize>,
}

impl CatalogParams {
    fn selector(&self) -> Result<Selector, BadParameter> {
        let text = self.selector.as_deref().ok_or_else(|| BadParameter {
            name: "match",
            reason: "missing; give a selector such as http_requests{route=\"/api\"}".into(),
        })?;
        Selector::parse(text).map_err(|error| BadParameter {
            name: "match",
            reason: error.to_string(),
        })
    }

    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_CATALOG_LIMIT)
    }
}

/// Catalog page size when none is asked for.
const DEFAULT_CATALOG_LIMIT: usize = 100;

/// `GET /api/v1/series?match=…&offset=&limit=`: the series a selector matches.
async fn series(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<SeriesPage>, AppError> {
    let selector = params.selector()?;
    let page = state
        .store
        .list_series(&selector, params.offset.unwrap_or(0), params.limit())
        .await?;
    Ok(Json(page))
}

/// `GET /api/v1/series/names?prefix=&after=&limit=`: metric names, for autocomplete.
async fn metric_names(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<NamePage>, AppError> {
    let page = state
        .store
        .metric_names(
            params.prefix.as_deref().unwrap_or(""),
            params.after.as_deref(),
            params.limit(),
        )
        .await?;
    Ok(Json(page))
}

/// `GET /api/v1/series/labels?match=…&prefix=&limit=`: label names and values of a selector's
/// series, for autocomplete.
async fn labels(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<LabelListing>, AppError> {
    let selector = params.selector()?;
    let listing = state
        .store
        .list_labels(
            &selector,
            params.prefix.as_deref().unwrap_or(""),
            params.limit(),
        )
        .await?;
    Ok(Json(listing))
}

/// `POST /api/v1/ingest`: a JSON batch of samples.
async fn ingest(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<impl IntoResponse, AppError> {
    let started = std::time::Instant::now();
    let stored = store_samples(&state, &headers, body).await;
    answer_batch(Protocol::Json, started, stored)
}

/// Parses and stores a JSON batch: what was stored, and the items refused.
async fn store_samples(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Stored, AppError> {
    let _turn = crate::ingest::turn_for(headers, state.config.max_body_bytes).await;
    let body = crate::ingest::read_body(headers, body, state.config.max_body_bytes, false)
        .await
        .map_err(BatchError::from)?;
    let batch = parse_batch(&body, now_ms(), state.config.ingest.max_batch_samples)?;
    drop(body);
    let (indices, observations): (Vec<usize>, Vec<_>) = batch.accepted.into_iter().unzip();
    let outcome = state.writer.write(observations).await?;
    let mut rejected = batch.rejected;
    rejected.extend(outcome.refused.into_iter().map(|(position, reason)| {
        let index = indices[position];
        RejectedItem {
            index,
            error: format!("item {index}: {reason}"),
        }
    }));
    Ok(Stored {
        accepted: outcome.stored,
        rejected,
    })
}

/// What an ingest request stored, and the items it refused.
struct Stored {
    accepted: usize,
    rejected: Vec<RejectedItem>,
}

/// Counts an ingest request in livedash's metrics, and answers it: the items accepted, or
/// which were refused and why.
fn answer_batch(
    protocol: Protocol,
    started: std::time::Instant,
    stored: Result<Stored, AppError>,
) -> Result<Json<serde_json::Value>, AppError> {
    let outcome = match &stored {
        Ok(stored) => IngestOutcome {
            accepted: stored.accepted,
            refused: stored.rejected.len(),
            refused_whole: false,
        },
        Err(_) => IngestOutcome {
            refused_whole: true,
            ..IngestOutcome::default()
        },
    };
    crate::telemetry::metrics().ingested(protocol, outcome, started.elapsed());
    let Stored {
        accepted,
        mut rejected,
    } = stored?;
    if !rejected.is_empty() {
        rejected.sort_by_key(|item| item.index);
        return Err(AppError::PartlyRejected { accepted, rejected });
    }
    Ok(Json(json!({ "accepted": accepted })))
}

/// Browsers send events and ask for variants from the sites they are on, so these two
/// endpoints answer any origin.
const ANY_ORIGIN: [(header::HeaderName, &str); 1] = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];

/// `OPTIONS /api/v1/events`: a browser's preflight for a JSON `POST`.
async fn cors_preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "content-type, authorization",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
}

/// `POST /api/v1/events`: a JSON batch of analytics events (see [`crate::ingest::events`]).
/// Each is counted, its user added to the unique counts, ranked, logged, and moved through
/// funnels and experiments before the answer; an event refused by storage leaves nothing
/// behind.
async fn events(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = std::time::Instant::now();
    let stored = store_events(&state, &headers, body).await;
    (ANY_ORIGIN, answer_batch(Protocol::Events, started, stored)).into_response()
}

/// Parses and records a batch of events: how many were kept, and the items refused.
async fn store_events(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Stored, AppError> {
    let _turn = crate::ingest::turn_for(headers, state.config.max_body_bytes).await;
    let now = now_ms();
    let body = crate::ingest::read_body(headers, body, state.config.max_body_bytes, false)
        .await
        .map_err(BatchError::from)?;
    let batch = parse_events(&body, now, state.config.ingest.max_batch_events)?;
    drop(body);
    let (indices, events): (Vec<usize>, Vec<_>) = batch.accepted.into_iter().unzip();
    let observations = crate::storage::events::event_observations(&events);
    // An event's observations are adjacent, one item to storage: stored together or not
    // at all.
    let per_event = observations.len() / events.len().max(1);
    let items = (0..observations.len())
        .map(|position| position - position % per_event.max(1))
        .collect();
    let outcome = state.writer.write_items(observations, items).await?;
    let mut rejected = batch.rejected;
    let mut refused_events = std::collections::BTreeMap::new();
    for (position, reason) in outcome.refused {
        refused_events
            .entry(position / per_event.max(1))
            .or_insert(reason);
    }
    for (&position, reason) in &refused_events {
        let index = indices[position];
        rejected.push(RejectedItem {
            index,
            error: format!("item {index}: {reason}"),
        });
    }
    let kept: Vec<_> = events
        .into_iter()
        .enumerate()
        .filter(|(position, _)| !refused_events.contains_key(position))
        .map(|(_, event)| event)
        .collect();
    state.store.record_events(&kept, now).await?;
    Ok(Stored {
        accepted: kept.len(),
        rejected,
    })
}

/// Parameters of the assignment endpoint.
#[derive(Debug, serde::Deserialize)]
struct AssignParams {
    user_id: Option<String>,
    /// `false` asks without counting the user as exposed (default `true`).
    expose: Option<bool>,
}

/// `GET` or `POST /api/v1/experiments/{id}/assign?user_id=…[&expose=false]`: the user's
/// variant, the same on every call and in every process; the user counts as exposed unless
/// `expose=false`. A signed-in browser records exposures only by `POST` (with its CSRF token),
/// so that a link on another site cannot count users (see [`auth::guard`]).
async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<AssignParams>,
) -> Response {
    let outcome = async {
        let user_id = params.user_id.ok_or(BadParameter {
            name: "user_id",
            reason: "missing; give the id the user's events carry".into(),
        })?;
        let variant = state
            .store
            .assign(&id, &user_id, params.expose.unwrap_or(true))
            .await?;
        Ok::<_, AppError>(Json(
            json!({ "experiment": id, "user_id": user_id, "variant": variant }),
        ))
    }
    .await;
    (ANY_ORIGIN, outcome).into_response()
}

/// The server's clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
