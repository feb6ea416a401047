//! Server functions, the error type they share with the browser, and (under `ssr`) the backend
//! trait through which they reach storage.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};
use crate::events::{AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery};
use crate::model::CurrentValue;
use crate::query::{Query, QueryResult};

/// Most series one listing returns; the rest is reported as truncated.
pub const MAX_LISTED_SERIES: usize = 10_000;

/// The current value of every series (up to [`MAX_LISTED_SERIES`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ValueListing {
    /// Sorted by series.
    pub values: Vec<CurrentValue>,
    /// True when more series exist than were listed.
    pub truncated: bool,
}

/// What a server function can fail with, as the browser sees it.
#[derive(thiserror::Error, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// Storage did not answer; worth retrying.
    #[error("storage is unavailable, try again shortly")]
    Unavailable,
    /// The request cannot be answered as asked; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist (any more); the message says what.
    #[error("{0}")]
    NotFound(String),
    /// The server-function machinery itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// The storage backend the server provided.
#[cfg(feature = "ssr")]
fn storage() -> Result<backend::SharedBackend, ApiError> {
    use_context::<backend::SharedBackend>()
        .ok_or_else(|| ApiError::Transport("no storage backend in context".into()))
}

/// Gives a failed answer the HTTP status that says what kind of failure it is.
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    use leptos::server_fn::http_export::StatusCode;
    use leptos_axum::ResponseOptions;
    if let Err(error) = &result
        && let Some(response) = use_context::<ResponseOptions>()
    {
        response.set_status(match error {
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    result
}

/// Lists the current value of every series.
#[server(prefix = "/api/fn", endpoint = "current_values")]
pub async fn current_values() -> Result<ValueListing, ApiError> {
    with_status(async { storage()?.current_values().await }.await)
}

/// Runs a query; the same types and rules as `GET /api/v1/query`.
#[server(prefix = "/api/fn", endpoint = "query", input = leptos::server_fn::codec::Json)]
pub async fn run_query(query: Query) -> Result<QueryResult, ApiError> {
    with_status(async { storage()?.query(query).await }.await)
}

/// Metric names starting with `prefix` (at most [`MAX_SUGGESTED_NAMES`]), for autocomplete.
#[server(prefix = "/api/fn", endpoint = "metric_names", input = leptos::server_fn::codec::Json)]
pub async fn metric_names(prefix: String) -> Result<Vec<String>, ApiError> {
    with_status(async { storage()?.metric_names(prefix).await }.await)
}

/// Most names one autocomplete answer offers.
pub const MAX_SUGGESTED_NAMES: usize = 20;

/// The dashboard a share link shows, for anyone who holds the link.
#[server(
    prefix = "/api/fn",
    endpoint = "shared_dashboard",
    input = leptos::server_fn::codec::Json
)]
pub async fn shared_dashboard(token: String) -> Result<Dashboard, ApiError> {
    with_status(async { storage()?.shared_dashboard(token).await }.await)
}

/// Every dashboard, sorted by title.
#[server(prefix = "/api/fn", endpoint = "dashboards", input = leptos::server_fn::codec::Json)]
pub async fn list_dashboards() -> Result<Vec<DashboardSummary>, ApiError> {
    with_status(async { storage()?.list_dashboards().await }.await)
}

/// A dashboard: its current version, or `version` (to preview it).
#[server(prefix = "/api/fn", endpoint = "dashboard", input = leptos::server_fn::codec::Json)]
pub async fn get_dashboard(id: String, version: Option<u64>) -> Result<Dashboard, ApiError> {
    with_status(async { storage()?.dashboard(id, version).await }.await)
}

/// A dashboard's versions, newest first.
#[server(
    prefix = "/api/fn",
    endpoint = "dashboard_history",
    input = leptos::server_fn::codec::Json
)]
pub async fn dashboard_history(id: String) -> Result<Vec<VersionInfo>, ApiError> {
    with_status(async { storage()?.dashboard_history(id).await }.await)
}

/// Stores `dashboard` as a new dashboard (create, duplicate, import); returns it with its id
/// and version 1.
#[server(
    prefix = "/api/fn",
    endpoint = "create_dashboard",
    input = leptos::server_fn::codec::Json
)]
pub async fn create_dashboard(
    dashboard: Dashboard,
    summary: String,
) -> Result<Dashboard, ApiError> {
    with_status(async { storage()?.create_dashboard(dashboard, summary).await }.await)
}

/// Saves `dashboard` as its next version, unless a newer version was saved since
/// `dashboard.version` (then nothing is stored and the outcome says which is current).
#[server(
    prefix = "/api/fn",
    endpoint = "save_dashboard",
    input = leptos::server_fn::codec::Json
)]
pub async fn save_dashboard(
    dashboard: Dashboard,
    summary: String,
) -> Result<SaveOutcome, ApiError> {
    with_status(async { storage()?.save_dashboard(dashboard, summary).await }.await)
}

/// Saves the content of `version` as the next version after `base`.
#[server(
    prefix = "/api/fn",
    endpoint = "restore_dashboard",
    input = leptos::server_fn::codec::Json
)]
pub async fn restore_dashboard(
    id: String,
    version: u64,
    base: u64,
) -> Result<SaveOutcome, ApiError> {
    with_status(async { storage()?.restore_dashboard(id, version, base).await }.await)
}

/// Creates a read-only, live link to a dashboard, expiring after `expires_in_ms` if given. The
/// token is in this answer only.
#[server(
    prefix = "/api/fn",
    endpoint = "create_share_link",
    input = leptos::server_fn::codec::Json
)]
pub async fn create_share_link(
    id: String,
    label: String,
    expires_in_ms: Option<i64>,
) -> Result<CreatedShareLink, ApiError> {
    with_status(async { storage()?.create_share_link(id, label, expires_in_ms).await }.await)
}

/// A dashboard's share links, newest first.
#[server(prefix = "/api/fn", endpoint = "share_links", input = leptos::server_fn::codec::Json)]
pub async fn share_links(id: String) -> Result<Vec<ShareLink>, ApiError> {
    with_status(async { storage()?.share_links(id).await }.await)
}

/// Revokes a share link: it stops working at once, and its open viewers are told.
#[server(
    prefix = "/api/fn",
    endpoint = "revoke_share_link",
    input = leptos::server_fn::codec::Json
)]
pub async fn revoke_share_link(id: String, link: String) -> Result<(), ApiError> {
    with_status(async { storage()?.revoke_share_link(id, link).await }.await)
}

/// Deletes a dashboard and its history.
#[server(
    prefix = "/api/fn",
    endpoint = "delete_dashboard",
    input = leptos::server_fn::codec::Json
)]
pub async fn delete_dashboard(id: String) -> Result<(), ApiError> {
    with_status(async { storage()?.delete_dashboard(id).await }.await)
}

/// Answers an analytics widget: a funnel, an experiment, a ranking, unique users, latest events.
#[server(prefix = "/api/fn", endpoint = "analytics", input = leptos::server_fn::codec::Json)]
pub async fn analytics(query: AnalyticsQuery) -> Result<AnalyticsAnswer, ApiError> {
    with_status(async { storage()?.analytics(query).await }.await)
}

/// Every funnel and experiment.
#[server(
    prefix = "/api/fn",
    endpoint = "analytics_definitions",
    input = leptos::server_fn::codec::Json
)]
pub async fn list_analytics() -> Result<AnalyticsDefinitions, ApiError> {
    with_status(async { storage()?.analytics_definitions().await }.await)
}

/// Creates or deletes a funnel or an experiment; returns every definition after the change.
#[server(
    prefix = "/api/fn",
    endpoint = "change_analytics",
    input = leptos::server_fn::codec::Json
)]
pub async fn change_analytics(change: AnalyticsChange) -> Result<AnalyticsDefinitions, ApiError> {
    with_status(async { storage()?.change_analytics(change).await }.await)
}

/// The storage seam: `server/` implements it and provides it as Leptos context.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{
        AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery, ApiError,
        CreatedShareLink, Dashboard, DashboardSummary, Query, QueryResult, SaveOutcome, ShareLink,
        ValueListing, VersionInfo,
    };

    /// A boxed future, so the trait stays object-safe.
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Read access to stored metrics for server functions.
    pub trait Backend: Send + Sync + 'static {
        /// The current value of every series.
        fn current_values(&self) -> BoxFuture<'_, Result<ValueListing, ApiError>>;

        /// Runs a query at the current time.
        fn query(&self, query: Query) -> BoxFuture<'_, Result<QueryResult, ApiError>>;

        /// Metric names starting with `prefix`, at most [`super::MAX_SUGGESTED_NAMES`].
        fn metric_names(&self, prefix: String) -> BoxFuture<'_, Result<Vec<String>, ApiError>>;

        /// The dashboard share link `token` shows.
        fn shared_dashboard(&self, token: String) -> BoxFuture<'_, Result<Dashboard, ApiError>>;

        /// Every dashboard, sorted by title.
        fn list_dashboards(&self) -> BoxFuture<'_, Result<Vec<DashboardSummary>, ApiError>>;

        /// A dashboard's current version, or `version`.
        fn dashboard(
            &self,
            id: String,
            version: Option<u64>,
        ) -> BoxFuture<'_, Result<Dashboard, ApiError>>;

        /// A dashboard's versions, newest first.
        fn dashboard_history(
            &self,
            id: String,
        ) -> BoxFuture<'_, Result<Vec<VersionInfo>, ApiError>>;

        /// Stores a new dashboard.
        fn create_dashboard(
            &self,
            dashboard: Dashboard,
            summary: String,
        ) -> BoxFuture<'_, Result<Dashboard, ApiError>>;

        /// Saves the next version of a dashboard, over the version it started from.
        fn save_dashboard(
            &self,
            dashboard: Dashboard,
            summary: String,
        ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>>;

        /// Saves an earlier version's content as the next version after `base`.
        fn restore_dashboard(
            &self,
            id: String,
            version: u64,
            base: u64,
        ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>>;

        /// Deletes a dashboard and its history.
        fn delete_dashboard(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>>;

        /// Creates a share link to a dashboard.
        fn create_share_link(
            &self,
            id: String,
            label: String,
            expires_in_ms: Option<i64>,
        ) -> BoxFuture<'_, Result<CreatedShareLink, ApiError>>;

        /// A dashboard's share links.
        fn share_links(&self, id: String) -> BoxFuture<'_, Result<Vec<ShareLink>, ApiError>>;

        /// Answers an analytics widget.
        fn analytics(
            &self,
            query: AnalyticsQuery,
        ) -> BoxFuture<'_, Result<AnalyticsAnswer, ApiError>>;

        /// Every funnel and experiment.
        fn analytics_definitions(&self) -> BoxFuture<'_, Result<AnalyticsDefinitions, ApiError>>;

        /// Creates or deletes a funnel or an experiment.
        fn change_analytics(
            &self,
            change: AnalyticsChange,
        ) -> BoxFuture<'_, Result<AnalyticsDefinitions, ApiError>>;

        /// Revokes a dashboard's share link.
        fn revoke_share_link(
            &self,
            id: String,
            link: String,
        ) -> BoxFuture<'_, Result<(), ApiError>>;
    }

    /// How the backend travels through Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;
}
