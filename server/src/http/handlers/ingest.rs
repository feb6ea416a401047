//! Writing: JSON batches of samples, analytics events (from any origin, for the tracking
//! snippet), and experiment assignments.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::error::AppError;
use crate::http::state::AppState;
use app::clock::now_ms;

use crate::http::query_params::BadParameter;
use crate::ingest::events::parse_events;
use crate::ingest::json::{BatchError, RejectedItem, parse_batch};
use crate::ingest::web::cookieless::{ANONYMOUS, visitor_id};
use crate::ingest::web::{BOT_EVENTS_METRIC, PageContext, SITE_PROPERTY, add_page_context, agent};
use crate::telemetry::{IngestOutcome, Protocol};
use app::events::Event;
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use axum::Extension;
use axum::extract::ConnectInfo;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// `POST /api/v1/ingest`: a JSON batch of samples.
pub async fn ingest(
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
    let _turn = crate::http::body::turn_for(headers, state.config.max_body_bytes).await;
    let body = crate::http::body::read_body(headers, body, state.config.max_body_bytes, false)
        .await
        .map_err(BatchError::from)?;
    let token = crate::http::idempotency::token(headers)?;
    let batch = parse_batch(&body, now_ms(), state.config.ingest.max_batch_samples)?;
    drop(body);
    let (indices, observations): (Vec<usize>, Vec<_>) = batch.accepted.into_iter().unzip();
    let items = (0..observations.len()).collect();
    let outcome = state
        .writer
        .write_items_keyed(observations, items, token)
        .await?;
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
pub async fn cors_preflight() -> impl IntoResponse {
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
pub async fn events(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = std::time::Instant::now();
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let stored = store_events(&state, peer, &headers, body).await;
    (ANY_ORIGIN, answer_batch(Protocol::Events, started, stored)).into_response()
}

/// Parses and records a batch of events: how many were kept, and the items refused.
async fn store_events(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Stored, AppError> {
    let _turn = crate::http::body::turn_for(headers, state.config.max_body_bytes).await;
    let now = now_ms();
    let body = crate::http::body::read_body(headers, body, state.config.max_body_bytes, false)
        .await
        .map_err(BatchError::from)?;
    let token = crate::http::idempotency::token(headers)?;
    let mut batch = parse_events(&body, now, state.config.ingest.max_batch_events)?;
    drop(body);
    let bots = add_page_contexts(headers, &mut batch.accepted);
    let bot_events: usize = bots.values().sum();
    let (indices, mut events): (Vec<usize>, Vec<_>) = batch.accepted.into_iter().unzip();
    identify_anonymous(state, peer, headers, &mut events, now).await?;
    state.store.mark_visitors(&mut events).await?;
    let observations = crate::storage::events::event_observations(&events);
    // An event's observations are adjacent, one item to storage: stored together or not
    // at all.
    let per_event = observations.len() / events.len().max(1);
    let items = (0..observations.len())
        .map(|position| position - position % per_event.max(1))
        .collect();
    let outcome = state
        .writer
        .write_items_keyed(observations, items, token)
        .await?;
    let mut rejected = batch.rejected;
    let mut refused_events = BTreeMap::new();
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
    if !kept.is_empty() {
        state.alerting.analytics_recorded();
    }
    if !bots.is_empty() {
        let counted = bots
            .into_iter()
            .map(|(site, count)| Observation {
                series: SeriesKey::new(BOT_EVENTS_METRIC).with_label("site", site),
                kind: MetricKind::Counter,
                ts: now,
                value: Observed::Number(count as f64),
            })
            .collect();
        state.writer.write(counted).await?;
    }
    Ok(Stored {
        // A bot's events are taken (it would only send them again) and counted, not stored.
        accepted: kept.len() + bot_events,
        rejected,
    })
}

/// Adds the page context of every event sent from a web page (see
/// [`crate::ingest::web::add_page_context`]) and takes out those from bots: how many there
/// were, by site.
fn add_page_contexts(
    headers: &axum::http::HeaderMap,
    accepted: &mut Vec<(usize, Event)>,
) -> BTreeMap<String, usize> {
    let user_agent = agent(user_agent(headers));
    let mut bots = BTreeMap::new();
    accepted.retain_mut(|(_, event)| match add_page_context(event, &user_agent) {
        PageContext::Bot { site } => {
            *bots.entry(site).or_insert(0) += 1;
            false
        }
        PageContext::None | PageContext::Added => true,
    });
    bots
}

/// The request's `User-Agent`, or `""`.
fn user_agent(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Gives the page events sent without a user id (cookieless) the visitor's id of the day,
/// from the day's salt, the site, the client's address and its user agent; neither is kept.
async fn identify_anonymous(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    events: &mut [Event],
    now: i64,
) -> Result<(), AppError> {
    if !events.iter().any(|event| event.user_id == ANONYMOUS) {
        return Ok(());
    }
    let salt = state.store.daily_salt(now).await?;
    let client = peer.map_or(IpAddr::from([0, 0, 0, 0]), |peer| {
        state.config.trusted_proxies.client(peer, headers)
    });
    let user_agent = user_agent(headers);
    for event in events.iter_mut().filter(|event| event.user_id == ANONYMOUS) {
        let site = event
            .properties
            .get(SITE_PROPERTY)
            .map_or("", String::as_str);
        event.user_id = visitor_id(&salt, site, client, user_agent);
    }
    Ok(())
}

/// Parameters of the assignment endpoint.
#[derive(Debug, serde::Deserialize)]
pub struct AssignParams {
    user_id: Option<String>,
    /// `false` asks without counting the user as exposed (default `true`).
    expose: Option<bool>,
}

/// `GET` or `POST /api/v1/experiments/{id}/assign?user_id=…[&expose=false]`: the user's
/// variant, the same on every call and in every process; the user counts as exposed unless
/// `expose=false`. A signed-in browser records exposures only by `POST` (with its CSRF token),
/// so that a link on another site cannot count users (see [`crate::http::auth::guard`]).
pub async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<AssignParams>,
) -> Response {
    let outcome = async {
        let user_id = params.user_id.ok_or(BadParameter {
            name: "user_id",
            reason: "missing; give the id the user's events carry".into(),
        })?;
        let expose = params.expose.unwrap_or(true);
        let variant = state.store.assign(&id, &user_id, expose).await?;
        if expose {
            // An exposure moves the experiment's sample ratio.
            state.alerting.analytics_recorded();
        }
        Ok::<_, AppError>(Json(
            json!({ "experiment": id, "user_id": user_id, "variant": variant }),
        ))
    }
    .await;
    (ANY_ORIGIN, outcome).into_response()
}
