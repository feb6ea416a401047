//! The server functions: one per thing the browser asks the server, each with its endpoint under
//! `/api/fn`, the access it needs, and the backend call that answers it.

use leptos::prelude::*;

use crate::api::csrf_client::CsrfClient;
use crate::api::error::ApiError;
use crate::api::listing::ValueListing;
#[cfg(feature = "ssr")]
use crate::api::serve::{authorize, serve, serve_alerts, serve_as, storage, with_status};
#[cfg(feature = "ssr")]
use crate::auth::{Access, Credential, Principal};
use crate::auth::{
    CreatedLoginLink, CreatedToken, Role, SessionInfo, TokenInfo, TokenScope, WhoAmI,
};
use crate::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};
use crate::events::{AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery};
use crate::query::{Query, QueryResult};

/// Lists the current value of every series.
#[server(prefix = "/api/fn", endpoint = "current_values", client = CsrfClient)]
pub async fn current_values() -> Result<ValueListing, ApiError> {
    serve(Access::Read, |backend| backend.current_values()).await
}

/// Runs a query; the same types and rules as `GET /api/v1/query`.
#[server(prefix = "/api/fn", endpoint = "query", input = leptos::server_fn::codec::Json, client = CsrfClient)]
///
/// With `share`, a share link's token: only the selectors its dashboard shows are answered.
pub async fn run_query(query: Query, share: Option<String>) -> Result<QueryResult, ApiError> {
    match share {
        Some(token) => serve(Access::Public, |backend| backend.shared_query(token, query)).await,
        None => serve(Access::Read, |backend| backend.query(query)).await,
    }
}

/// Metric names starting with `prefix` (at most [`crate::api::MAX_SUGGESTED_NAMES`]), for autocomplete.
#[server(prefix = "/api/fn", endpoint = "metric_names", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn metric_names(prefix: String) -> Result<Vec<String>, ApiError> {
    serve(Access::Read, |backend| backend.metric_names(prefix)).await
}

/// The dashboard a share link shows, for anyone who holds the link.
#[server(
    prefix = "/api/fn",
    endpoint = "shared_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn shared_dashboard(token: String) -> Result<Dashboard, ApiError> {
    serve(Access::Public, |backend| backend.shared_dashboard(token)).await
}

/// Every dashboard, sorted by title.
#[server(prefix = "/api/fn", endpoint = "dashboards", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn list_dashboards() -> Result<Vec<DashboardSummary>, ApiError> {
    serve(Access::Read, |backend| backend.list_dashboards()).await
}

/// A dashboard: its current version, or `version` (to preview it).
#[server(prefix = "/api/fn", endpoint = "dashboard", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn get_dashboard(id: String, version: Option<u64>) -> Result<Dashboard, ApiError> {
    serve(Access::Read, |backend| backend.dashboard(id, version)).await
}

/// A dashboard's versions, newest first.
#[server(
    prefix = "/api/fn",
    endpoint = "dashboard_history",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn dashboard_history(id: String) -> Result<Vec<VersionInfo>, ApiError> {
    serve(Access::Read, |backend| backend.dashboard_history(id)).await
}

/// Stores `dashboard` as a new dashboard (create, duplicate, import); returns it with its id
/// and version 1.
#[server(
    prefix = "/api/fn",
    endpoint = "create_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn create_dashboard(
    dashboard: Dashboard,
    summary: String,
) -> Result<Dashboard, ApiError> {
    serve_as(Access::Admin, |backend, author| {
        backend.create_dashboard(dashboard, summary, author)
    })
    .await
}

/// Saves `dashboard` as its next version, unless a newer version was saved since
/// `dashboard.version` (then nothing is stored and the outcome says which is current).
#[server(
    prefix = "/api/fn",
    endpoint = "save_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn save_dashboard(
    dashboard: Dashboard,
    summary: String,
) -> Result<SaveOutcome, ApiError> {
    serve_as(Access::Admin, |backend, author| {
        backend.save_dashboard(dashboard, summary, author)
    })
    .await
}

/// Saves the content of `version` as the next version after `base`.
#[server(
    prefix = "/api/fn",
    endpoint = "restore_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn restore_dashboard(
    id: String,
    version: u64,
    base: u64,
) -> Result<SaveOutcome, ApiError> {
    serve_as(Access::Admin, |backend, author| {
        backend.restore_dashboard(id, version, base, author)
    })
    .await
}

/// Creates a read-only, live link to a dashboard, expiring after `expires_in_ms` if given. The
/// token is in this answer only.
#[server(
    prefix = "/api/fn",
    endpoint = "create_share_link",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn create_share_link(
    id: String,
    label: String,
    expires_in_ms: Option<i64>,
) -> Result<CreatedShareLink, ApiError> {
    serve(Access::Admin, |backend| {
        backend.create_share_link(id, label, expires_in_ms)
    })
    .await
}

/// A dashboard's share links, newest first.
#[server(prefix = "/api/fn", endpoint = "share_links", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn share_links(id: String) -> Result<Vec<ShareLink>, ApiError> {
    serve(Access::Admin, |backend| backend.share_links(id)).await
}

/// Revokes a share link: it stops working at once, and its open viewers are told.
#[server(
    prefix = "/api/fn",
    endpoint = "revoke_share_link",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn revoke_share_link(id: String, link: String) -> Result<(), ApiError> {
    serve(Access::Admin, |backend| backend.revoke_share_link(id, link)).await
}

/// Deletes a dashboard and its history.
#[server(
    prefix = "/api/fn",
    endpoint = "delete_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn delete_dashboard(id: String) -> Result<(), ApiError> {
    serve(Access::Admin, |backend| backend.delete_dashboard(id)).await
}

/// Answers an analytics widget: a funnel, an experiment, a ranking, unique users, latest events.
///
/// With `share`, a share link's token: only what that link's dashboard shows is answered.
#[server(prefix = "/api/fn", endpoint = "analytics", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn analytics(
    query: AnalyticsQuery,
    share: Option<String>,
) -> Result<AnalyticsAnswer, ApiError> {
    match share {
        Some(token) => {
            serve(Access::Public, |backend| {
                backend.shared_analytics(token, query)
            })
            .await
        }
        None => serve(Access::Read, |backend| backend.analytics(query)).await,
    }
}

/// Every site web analytics has seen.
#[server(prefix = "/api/fn", endpoint = "web_sites", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn web_sites() -> Result<Vec<String>, ApiError> {
    serve(Access::Read, |backend| backend.web_sites()).await
}

/// The id of `site`'s Web analytics dashboard, made from the built-in layout on first use.
#[server(prefix = "/api/fn", endpoint = "web_dashboard", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn web_dashboard(site: String) -> Result<String, ApiError> {
    serve(Access::Read, |backend| backend.web_dashboard(site)).await
}

/// One person's summary and timeline: personal data, so only an admin sees it.
#[server(prefix = "/api/fn", endpoint = "person", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn person(user_id: String) -> Result<crate::people::Person, ApiError> {
    serve(Access::Admin, |backend| backend.person(user_id)).await
}

/// Every funnel and experiment.
#[server(
    prefix = "/api/fn",
    endpoint = "analytics_definitions",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn list_analytics() -> Result<AnalyticsDefinitions, ApiError> {
    serve(Access::Read, |backend| backend.analytics_definitions()).await
}

/// Creates or deletes a funnel or an experiment; returns every definition after the change.
#[server(
    prefix = "/api/fn",
    endpoint = "change_analytics",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn change_analytics(change: AnalyticsChange) -> Result<AnalyticsDefinitions, ApiError> {
    serve(Access::Admin, |backend| backend.change_analytics(change)).await
}

/// Alerting, for the Alerts page: the overview, history, and changes to rules, contact points
/// and silences (changes need an admin).
#[server(
    prefix = "/api/fn",
    endpoint = "alerts",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn alerts(
    call: crate::alerts::api::AlertsCall,
) -> Result<crate::alerts::api::AlertsAnswer, ApiError> {
    serve_alerts(call).await
}

/// Who this browser is signed in as (and whether access control is on at all).
#[server(prefix = "/api/fn", endpoint = "whoami", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn whoami() -> Result<WhoAmI, ApiError> {
    let principal = authorize(Access::Public)?;
    Ok(match principal {
        None => WhoAmI {
            role: None,
            auth_enabled: true,
            session: None,
        },
        Some(Principal {
            role,
            credential: None,
        }) => WhoAmI {
            role: Some(role),
            auth_enabled: false,
            session: None,
        },
        Some(Principal {
            role,
            credential: Some(credential),
        }) => WhoAmI {
            role: Some(role),
            auth_enabled: true,
            session: match credential {
                Credential::Session { id, .. } => Some(id),
                Credential::Token { .. } => None,
            },
        },
    })
}

/// Signs this browser out (its session ends everywhere, its cookies are cleared).
#[server(prefix = "/api/fn", endpoint = "sign_out", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn sign_out() -> Result<(), ApiError> {
    with_status(
        async {
            if let Some(Principal {
                credential: Some(Credential::Session { id, .. }),
                ..
            }) = authorize(Access::Public)?
            {
                match storage()?.revoke_session(id).await {
                    Ok(()) | Err(ApiError::NotFound(_)) => {}
                    Err(error) => return Err(error),
                }
            }
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                for cookie in crate::auth::session_cookies(None, false) {
                    if let Ok(value) =
                        leptos::server_fn::http_export::HeaderValue::from_str(&cookie)
                    {
                        response.append_header(
                            leptos::server_fn::http_export::header::SET_COOKIE,
                            value,
                        );
                    }
                }
            }
            Ok(())
        }
        .await,
    )
}

/// Every API token (admins only).
#[server(prefix = "/api/fn", endpoint = "tokens", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, ApiError> {
    serve(Access::Admin, |backend| backend.tokens()).await
}

/// Makes an API token for `role`; an ingest token writes what `scope` allows (both when it is
/// left out). The secret is in this answer only.
#[server(prefix = "/api/fn", endpoint = "create_token", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn create_token(
    role: Role,
    label: String,
    #[server(default)] scope: Option<TokenScope>,
) -> Result<CreatedToken, ApiError> {
    serve_as(Access::Admin, |backend, author| {
        backend.create_token(role, scope, label, author)
    })
    .await
}

/// Revokes token `id`: it stops working at once, also for open live sockets.
#[server(prefix = "/api/fn", endpoint = "revoke_token", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn revoke_token(id: String) -> Result<(), ApiError> {
    serve(Access::Admin, |backend| backend.revoke_token(id)).await
}

/// Every signed-in browser (admins only).
#[server(prefix = "/api/fn", endpoint = "sessions", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, ApiError> {
    serve(Access::Admin, |backend| backend.sessions()).await
}

/// Signs browser session `id` out, at once, also its open live sockets.
#[server(prefix = "/api/fn", endpoint = "revoke_session", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn revoke_session(id: String) -> Result<(), ApiError> {
    serve(Access::Admin, |backend| backend.revoke_session(id)).await
}

/// Makes a one-time sign-in link for `role` (admin or viewer), working for a day.
#[server(prefix = "/api/fn", endpoint = "create_login_link", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn create_login_link(role: Role, label: String) -> Result<CreatedLoginLink, ApiError> {
    serve(Access::Admin, |backend| {
        backend.create_login_link(role, label)
    })
    .await
}
