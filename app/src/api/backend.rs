//! The storage seam: `server/` implements it and provides it as Leptos context, so that `app/`
//! never touches Redis.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::api::error::ApiError;
use crate::api::listing::ValueListing;
use crate::auth::{CreatedLoginLink, CreatedToken, Role, SessionInfo, TokenInfo, TokenScope};
use crate::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};
use crate::events::{AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery};
use crate::query::{Query, QueryResult};

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Read access to stored metrics for server functions.
pub trait Backend: Send + Sync + 'static {
    /// The current value of every series.
    fn current_values(&self) -> BoxFuture<'_, Result<ValueListing, ApiError>>;

    /// Runs a query at the current time.
    fn query(&self, query: Query) -> BoxFuture<'_, Result<QueryResult, ApiError>>;

    /// Metric names starting with `prefix`, at most [`crate::api::MAX_SUGGESTED_NAMES`].
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
    fn dashboard_history(&self, id: String) -> BoxFuture<'_, Result<Vec<VersionInfo>, ApiError>>;

    /// Stores a new dashboard.
    fn create_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<Dashboard, ApiError>>;

    /// Saves the next version of a dashboard, over the version it started from.
    fn save_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>>;

    /// Saves an earlier version's content as the next version after `base`.
    fn restore_dashboard(
        &self,
        id: String,
        version: u64,
        base: u64,
        author: String,
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
    fn analytics(&self, query: AnalyticsQuery) -> BoxFuture<'_, Result<AnalyticsAnswer, ApiError>>;

    /// Runs a query of the dashboard share link `token` shows; refuses a selector that
    /// dashboard does not show.
    fn shared_query(
        &self,
        token: String,
        query: Query,
    ) -> BoxFuture<'_, Result<QueryResult, ApiError>>;

    /// Answers an analytics widget of the dashboard share link `token` shows; refuses
    /// anything that dashboard does not show.
    fn shared_analytics(
        &self,
        token: String,
        query: AnalyticsQuery,
    ) -> BoxFuture<'_, Result<AnalyticsAnswer, ApiError>>;

    /// Every API token, newest first.
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, ApiError>>;

    /// Makes an API token; the secret is in this answer only.
    fn create_token(
        &self,
        role: Role,
        scope: Option<TokenScope>,
        label: String,
        created_by: String,
    ) -> BoxFuture<'_, Result<CreatedToken, ApiError>>;

    /// Revokes a token (and signs out the browsers signed in with it).
    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>>;

    /// Every signed-in browser, newest first.
    fn sessions(&self) -> BoxFuture<'_, Result<Vec<SessionInfo>, ApiError>>;

    /// Signs a browser out.
    fn revoke_session(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>>;

    /// Makes a one-time sign-in link.
    fn create_login_link(
        &self,
        role: Role,
        label: String,
    ) -> BoxFuture<'_, Result<CreatedLoginLink, ApiError>>;

    /// Every funnel and experiment.
    fn analytics_definitions(&self) -> BoxFuture<'_, Result<AnalyticsDefinitions, ApiError>>;

    /// Creates or deletes a funnel or an experiment.
    fn change_analytics(
        &self,
        change: AnalyticsChange,
    ) -> BoxFuture<'_, Result<AnalyticsDefinitions, ApiError>>;

    /// Revokes a dashboard's share link.
    fn revoke_share_link(&self, id: String, link: String) -> BoxFuture<'_, Result<(), ApiError>>;

    /// Every site web analytics has seen, by name.
    fn web_sites(&self) -> BoxFuture<'_, Result<Vec<String>, ApiError>>;

    /// The id of a site's Web analytics dashboard (made on first use).
    fn web_dashboard(&self, site: String) -> BoxFuture<'_, Result<String, ApiError>>;

    /// Everything kept of one person (not found when nothing is).
    fn person(&self, user_id: String) -> BoxFuture<'_, Result<crate::people::Person, ApiError>>;
}

/// How the backend travels through Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// Alerting for the Alerts page's server function; `server/` implements it on its alerting
/// handle and provides it as Leptos context beside [`SharedBackend`].
pub trait AlertsBackend: Send + Sync + 'static {
    /// Does `call`, made by `author`.
    fn alerts(
        &self,
        call: crate::alerts::api::AlertsCall,
        author: String,
    ) -> BoxFuture<'_, Result<crate::alerts::api::AlertsAnswer, ApiError>>;
}

/// The alerting backend as Leptos context holds it.
pub type SharedAlerts = Arc<dyn AlertsBackend>;
