//! The server functions' backend: [`Backend`] on the store, each call's failure classified
//! into the [`ApiError`] the browser reads (see [`crate::http::error::api_error`]), and the
//! share-link rule applied through [`ShareScope`].

use app::api::backend::{Backend, BoxFuture};
use app::api::{ApiError, ValueListing};
use app::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};

use crate::failure::Classify;
use crate::http::error::api_error;
use crate::storage::Store;
use crate::storage::shares::{NOT_SHOWN, SHARE_LINK_ENDED, ShareScope};

/// `result` as the browser reads it; `what` names what failed in the log.
fn answer<T, E: Classify>(what: &str, result: Result<T, E>) -> Result<T, ApiError> {
    result.map_err(|error| api_error(&error, what))
}

/// What `token` lets its holder see now; not found once the link is revoked or expired.
async fn share_scope(store: &Store, token: &str, now: i64) -> Result<ShareScope, ApiError> {
    answer("share links", store.share_scope(token, now).await)?
        .ok_or_else(|| ApiError::NotFound(SHARE_LINK_ENDED.into()))
}

impl Backend for Store {
    fn current_values(&self) -> BoxFuture<'_, Result<ValueListing, ApiError>> {
        Box::pin(async move { answer("listing current values", Store::current_values(self).await) })
    }

    fn query(
        &self,
        query: app::query::Query,
    ) -> BoxFuture<'_, Result<app::query::QueryResult, ApiError>> {
        Box::pin(async move {
            answer(
                "query",
                Store::query(self, &query, app::clock::now_ms()).await,
            )
        })
    }

    fn metric_names(&self, prefix: String) -> BoxFuture<'_, Result<Vec<String>, ApiError>> {
        Box::pin(async move {
            let page = answer(
                "listing metric names",
                Store::metric_names(self, &prefix, None, app::api::MAX_SUGGESTED_NAMES).await,
            )?;
            Ok(page.names)
        })
    }

    fn shared_dashboard(&self, token: String) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::shared_dashboard(self, &token, app::clock::now_ms()).await,
            )
        })
    }

    fn list_dashboards(&self) -> BoxFuture<'_, Result<Vec<DashboardSummary>, ApiError>> {
        Box::pin(async move { answer("dashboards", Store::list_dashboards(self).await) })
    }

    fn dashboard(
        &self,
        id: String,
        version: Option<u64>,
    ) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                match version {
                    Some(version) => self.dashboard_version(&id, version).await,
                    None => Store::dashboard(self, &id).await,
                },
            )
        })
    }

    fn dashboard_history(&self, id: String) -> BoxFuture<'_, Result<Vec<VersionInfo>, ApiError>> {
        Box::pin(async move { answer("dashboards", Store::dashboard_history(self, &id).await) })
    }

    fn create_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::create_dashboard(self, dashboard, &summary, &author, app::clock::now_ms())
                    .await,
            )
        })
    }

    fn save_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::save_dashboard(self, dashboard, &summary, &author, app::clock::now_ms())
                    .await,
            )
        })
    }

    fn restore_dashboard(
        &self,
        id: String,
        version: u64,
        base: u64,
        author: String,
    ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::restore_dashboard(self, &id, version, base, &author, app::clock::now_ms())
                    .await,
            )
        })
    }

    fn delete_dashboard(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { answer("dashboards", Store::delete_dashboard(self, &id).await) })
    }

    fn create_share_link(
        &self,
        id: String,
        label: String,
        expires_in_ms: Option<i64>,
    ) -> BoxFuture<'_, Result<CreatedShareLink, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::create_share_link(self, &id, &label, expires_in_ms, app::clock::now_ms())
                    .await,
            )
        })
    }

    fn share_links(&self, id: String) -> BoxFuture<'_, Result<Vec<ShareLink>, ApiError>> {
        Box::pin(async move { answer("dashboards", Store::share_links(self, &id).await) })
    }

    fn analytics(
        &self,
        query: app::events::AnalyticsQuery,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsAnswer, ApiError>> {
        Box::pin(async move {
            answer(
                "analytics",
                Store::analytics(self, query, app::clock::now_ms()).await,
            )
        })
    }

    fn shared_query(
        &self,
        token: String,
        query: app::query::Query,
    ) -> BoxFuture<'_, Result<app::query::QueryResult, ApiError>> {
        Box::pin(async move {
            let scope = share_scope(self, &token, app::clock::now_ms()).await?;
            if !scope.shows_selector(&query.selector) && !scope.shows_alert_states(&query.selector)
            {
                return Err(ApiError::Forbidden(NOT_SHOWN.into()));
            }
            Backend::query(self, query).await
        })
    }

    fn shared_analytics(
        &self,
        token: String,
        query: app::events::AnalyticsQuery,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsAnswer, ApiError>> {
        Box::pin(async move {
            let now = app::clock::now_ms();
            let scope = share_scope(self, &token, now).await?;
            if !scope.shows_analytics(&query) {
                return Err(ApiError::Forbidden(NOT_SHOWN.into()));
            }
            answer("analytics", Store::analytics(self, query, now).await)
        })
    }

    fn web_sites(&self) -> BoxFuture<'_, Result<Vec<String>, ApiError>> {
        Box::pin(async move { answer("web analytics", Store::sites(self).await) })
    }

    fn web_dashboard(&self, site: String) -> BoxFuture<'_, Result<String, ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::web_dashboard(self, &site, app::clock::now_ms()).await,
            )
        })
    }

    fn person(&self, user_id: String) -> BoxFuture<'_, Result<app::people::Person, ApiError>> {
        Box::pin(async move {
            match answer("people", Store::person(self, &user_id).await)? {
                Some(person) => Ok(person),
                None => Err(ApiError::NotFound(format!(
                    "nothing is kept of a person with the id {user_id:?}"
                ))),
            }
        })
    }

    fn tokens(&self) -> BoxFuture<'_, Result<Vec<app::auth::TokenInfo>, ApiError>> {
        Box::pin(async move { answer("access", Store::tokens(self).await) })
    }

    fn create_token(
        &self,
        role: app::auth::Role,
        scope: Option<app::auth::TokenScope>,
        label: String,
        created_by: String,
    ) -> BoxFuture<'_, Result<app::auth::CreatedToken, ApiError>> {
        Box::pin(async move {
            let now = app::clock::now_ms();
            answer(
                "access",
                Store::create_token(self, role, scope, &label, &created_by, now).await,
            )
        })
    }

    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { answer("access", Store::revoke_token(self, &id).await) })
    }

    fn sessions(&self) -> BoxFuture<'_, Result<Vec<app::auth::SessionInfo>, ApiError>> {
        Box::pin(async move { answer("access", Store::sessions(self).await) })
    }

    fn revoke_session(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { answer("access", Store::revoke_session(self, &id).await) })
    }

    fn create_login_link(
        &self,
        role: app::auth::Role,
        label: String,
    ) -> BoxFuture<'_, Result<app::auth::CreatedLoginLink, ApiError>> {
        Box::pin(async move {
            answer(
                "access",
                Store::create_login_link(self, role, &label, app::clock::now_ms()).await,
            )
        })
    }

    fn analytics_definitions(
        &self,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsDefinitions, ApiError>> {
        Box::pin(async move { answer("analytics", self.definitions().await) })
    }

    fn change_analytics(
        &self,
        change: app::events::AnalyticsChange,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsDefinitions, ApiError>> {
        Box::pin(async move {
            answer(
                "analytics",
                Store::change_analytics(self, change, app::clock::now_ms()).await,
            )
        })
    }

    fn revoke_share_link(&self, id: String, link: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            answer(
                "dashboards",
                Store::revoke_share_link(self, &id, &link).await,
            )
        })
    }
}

/// The Alerts page's server function, answered by the alerting handle.
pub struct AlertsFunction(pub crate::alerts::Alerting);

impl app::api::backend::AlertsBackend for AlertsFunction {
    fn alerts(
        &self,
        call: app::alerts::api::AlertsCall,
        author: String,
    ) -> BoxFuture<'_, Result<app::alerts::api::AlertsAnswer, ApiError>> {
        Box::pin(async move { answer("alerts", self.0.call(call, author).await) })
    }
}
