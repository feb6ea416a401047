//! Server functions, the error type they share with the browser, and (under `ssr`) the backend
//! trait through which they reach storage.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::auth::{Access, Credential, Principal};
use crate::auth::{
    CreatedLoginLink, CreatedToken, Role, SessionInfo, TokenInfo, TokenScope, WhoAmI,
};
use crate::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};
use crate::events::{AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery};
use crate::model::CurrentValue;
use crate::query::{Query, QueryResult};
pub use csrf_client::CsrfClient;

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
    /// The request needs a credential and came without a valid one; the message says how to
    /// sign in.
    #[error("{0}")]
    Unauthorized(String),
    /// The credential's role may not do this; the message says what it may not do.
    #[error("{0}")]
    Forbidden(String),
    /// The server-function machinery itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

impl ApiError {
    /// The HTTP status that says what kind of failure this is.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Unavailable => 503,
            Self::Invalid(_) => 400,
            Self::NotFound(_) => 404,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these are the request's fault: arguments that are not JSON, of the
            // wrong type, missing, or a body that could not be read. (In the browser the same
            // variants mean the answer could not be read, which is the transport's.)
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(reason) | ServerFnErrorErr::Args(reason) => {
                Self::Invalid(format!(
                    "the request's arguments could not be read: {reason}"
                ))
            }
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::MissingArg(name) => {
                Self::Invalid(format!("the request lacks the argument `{name}`"))
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

/// The storage backend the server provided.
#[cfg(feature = "ssr")]
fn storage() -> Result<backend::SharedBackend, ApiError> {
    use_context::<backend::SharedBackend>()
        .ok_or_else(|| ApiError::Transport("no storage backend in context".into()))
}

/// Who made the request, as the authentication layer put it in the request (also when the
/// server renders a page); `None` when nobody signed in.
#[cfg(feature = "ssr")]
fn principal() -> Option<Principal> {
    use_context::<leptos::server_fn::http_export::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
}

/// Refuses the request unless its principal may do what needs `access`.
#[cfg(feature = "ssr")]
fn authorize(access: Access) -> Result<Option<Principal>, ApiError> {
    let principal = principal();
    if access == Access::Public {
        return Ok(principal);
    }
    match &principal {
        None => Err(ApiError::Unauthorized(
            "sign in first (your session may have ended)".into(),
        )),
        Some(principal) if !principal.role.allows(access) => Err(ApiError::Forbidden(format!(
            "the {} role may not {}",
            principal.role.name(),
            access.describe()
        ))),
        Some(_) => Ok(principal),
    }
}

/// Who a version is saved by: the label of the credential that saved it.
#[cfg(feature = "ssr")]
fn author(principal: Option<Principal>) -> String {
    match principal.and_then(|principal| principal.credential) {
        Some(Credential::Session { via, .. }) => via,
        Some(Credential::Token { label, .. }) => format!("token “{label}”"),
        None => "local user".into(),
    }
}

/// Gives a failed answer the HTTP status that says what kind of failure it is.
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    use leptos::server_fn::http_export::StatusCode;
    use leptos_axum::ResponseOptions;
    if let Err(error) = &result
        && let Some(response) = use_context::<ResponseOptions>()
    {
        response.set_status(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}

/// Lists the current value of every series.
#[server(prefix = "/api/fn", endpoint = "current_values", client = CsrfClient)]
pub async fn current_values() -> Result<ValueListing, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.current_values().await
        }
        .await,
    )
}

/// Runs a query; the same types and rules as `GET /api/v1/query`.
#[server(prefix = "/api/fn", endpoint = "query", input = leptos::server_fn::codec::Json, client = CsrfClient)]
///
/// With `share`, a share link's token: only the selectors its dashboard shows are answered.
pub async fn run_query(query: Query, share: Option<String>) -> Result<QueryResult, ApiError> {
    with_status(
        async {
            match share {
                Some(token) => storage()?.shared_query(token, query).await,
                None => {
                    authorize(Access::Read)?;
                    storage()?.query(query).await
                }
            }
        }
        .await,
    )
}

/// Metric names starting with `prefix` (at most [`MAX_SUGGESTED_NAMES`]), for autocomplete.
#[server(prefix = "/api/fn", endpoint = "metric_names", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn metric_names(prefix: String) -> Result<Vec<String>, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.metric_names(prefix).await
        }
        .await,
    )
}

/// Most names one autocomplete answer offers.
pub const MAX_SUGGESTED_NAMES: usize = 20;

/// The dashboard a share link shows, for anyone who holds the link.
#[server(
    prefix = "/api/fn",
    endpoint = "shared_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn shared_dashboard(token: String) -> Result<Dashboard, ApiError> {
    with_status(
        async {
            authorize(Access::Public)?;
            storage()?.shared_dashboard(token).await
        }
        .await,
    )
}

/// Every dashboard, sorted by title.
#[server(prefix = "/api/fn", endpoint = "dashboards", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn list_dashboards() -> Result<Vec<DashboardSummary>, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.list_dashboards().await
        }
        .await,
    )
}

/// A dashboard: its current version, or `version` (to preview it).
#[server(prefix = "/api/fn", endpoint = "dashboard", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn get_dashboard(id: String, version: Option<u64>) -> Result<Dashboard, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.dashboard(id, version).await
        }
        .await,
    )
}

/// A dashboard's versions, newest first.
#[server(
    prefix = "/api/fn",
    endpoint = "dashboard_history",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn dashboard_history(id: String) -> Result<Vec<VersionInfo>, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.dashboard_history(id).await
        }
        .await,
    )
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
    with_status(
        async {
            let principal = authorize(Access::Admin)?;
            storage()?
                .create_dashboard(dashboard, summary, author(principal))
                .await
        }
        .await,
    )
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
    with_status(
        async {
            let principal = authorize(Access::Admin)?;
            storage()?
                .save_dashboard(dashboard, summary, author(principal))
                .await
        }
        .await,
    )
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
    with_status(
        async {
            let principal = authorize(Access::Admin)?;
            storage()?
                .restore_dashboard(id, version, base, author(principal))
                .await
        }
        .await,
    )
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
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.create_share_link(id, label, expires_in_ms).await
        }
        .await,
    )
}

/// A dashboard's share links, newest first.
#[server(prefix = "/api/fn", endpoint = "share_links", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn share_links(id: String) -> Result<Vec<ShareLink>, ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.share_links(id).await
        }
        .await,
    )
}

/// Revokes a share link: it stops working at once, and its open viewers are told.
#[server(
    prefix = "/api/fn",
    endpoint = "revoke_share_link",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn revoke_share_link(id: String, link: String) -> Result<(), ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.revoke_share_link(id, link).await
        }
        .await,
    )
}

/// Deletes a dashboard and its history.
#[server(
    prefix = "/api/fn",
    endpoint = "delete_dashboard",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn delete_dashboard(id: String) -> Result<(), ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.delete_dashboard(id).await
        }
        .await,
    )
}

/// Answers an analytics widget: a funnel, an experiment, a ranking, unique users, latest events.
///
/// With `share`, a share link's token: only what that link's dashboard shows is answered.
#[server(prefix = "/api/fn", endpoint = "analytics", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn analytics(
    query: AnalyticsQuery,
    share: Option<String>,
) -> Result<AnalyticsAnswer, ApiError> {
    with_status(
        async {
            match share {
                Some(token) => storage()?.shared_analytics(token, query).await,
                None => {
                    authorize(Access::Read)?;
                    storage()?.analytics(query).await
                }
            }
        }
        .await,
    )
}

/// Every funnel and experiment.
#[server(
    prefix = "/api/fn",
    endpoint = "analytics_definitions",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn list_analytics() -> Result<AnalyticsDefinitions, ApiError> {
    with_status(
        async {
            authorize(Access::Read)?;
            storage()?.analytics_definitions().await
        }
        .await,
    )
}

/// Creates or deletes a funnel or an experiment; returns every definition after the change.
#[server(
    prefix = "/api/fn",
    endpoint = "change_analytics",
    input = leptos::server_fn::codec::Json,
    client = CsrfClient
)]
pub async fn change_analytics(change: AnalyticsChange) -> Result<AnalyticsDefinitions, ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.change_analytics(change).await
        }
        .await,
    )
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
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.tokens().await
        }
        .await,
    )
}

/// Makes an API token for `role`; an ingest token writes what `scope` allows (both when it is
/// left out). The secret is in this answer only.
#[server(prefix = "/api/fn", endpoint = "create_token", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn create_token(
    role: Role,
    label: String,
    #[server(default)] scope: Option<TokenScope>,
) -> Result<CreatedToken, ApiError> {
    with_status(
        async {
            let principal = authorize(Access::Admin)?;
            storage()?
                .create_token(role, scope, label, author(principal))
                .await
        }
        .await,
    )
}

/// Revokes token `id`: it stops working at once, also for open live sockets.
#[server(prefix = "/api/fn", endpoint = "revoke_token", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn revoke_token(id: String) -> Result<(), ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.revoke_token(id).await
        }
        .await,
    )
}

/// Every signed-in browser (admins only).
#[server(prefix = "/api/fn", endpoint = "sessions", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.sessions().await
        }
        .await,
    )
}

/// Signs browser session `id` out, at once, also its open live sockets.
#[server(prefix = "/api/fn", endpoint = "revoke_session", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn revoke_session(id: String) -> Result<(), ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.revoke_session(id).await
        }
        .await,
    )
}

/// Makes a one-time sign-in link for `role` (admin or viewer), working for a day.
#[server(prefix = "/api/fn", endpoint = "create_login_link", input = leptos::server_fn::codec::Json, client = CsrfClient)]
pub async fn create_login_link(role: Role, label: String) -> Result<CreatedLoginLink, ApiError> {
    with_status(
        async {
            authorize(Access::Admin)?;
            storage()?.create_login_link(role, label).await
        }
        .await,
    )
}

/// The server-function client: the browser's, plus the CSRF header on every call (read from
/// the CSRF cookie at call time, so a new sign-in applies at once). On the server, which never
/// sends server-function requests, it is the plain browser client.
mod csrf_client {
    #[cfg(not(feature = "hydrate"))]
    pub type CsrfClient = leptos::server_fn::client::browser::BrowserClient;

    #[cfg(feature = "hydrate")]
    pub use browser::CsrfClient;

    #[cfg(feature = "hydrate")]
    mod browser {
        use futures::{Sink, Stream};
        use leptos::server_fn::Bytes;
        use leptos::server_fn::client::Client;
        use leptos::server_fn::client::browser::BrowserClient;
        use leptos::server_fn::error::FromServerFnError;
        use leptos::server_fn::request::browser::BrowserRequest;
        use leptos::server_fn::response::browser::BrowserResponse;

        use crate::auth::{CSRF_COOKIE, CSRF_HEADER, cookie_value};

        /// See the module documentation.
        pub struct CsrfClient;

        impl<E, IS, OS> Client<E, IS, OS> for CsrfClient
        where
            E: FromServerFnError,
            IS: FromServerFnError,
            OS: FromServerFnError,
        {
            type Request = BrowserRequest;
            type Response = BrowserResponse;

            fn send(
                request: BrowserRequest,
            ) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
                if let Some(token) = csrf_token() {
                    request.headers().set(CSRF_HEADER, &token);
                }
                <BrowserClient as Client<E, IS, OS>>::send(request)
            }

            fn open_websocket(
                path: &str,
            ) -> impl Future<
                Output = Result<
                    (
                        impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                        impl Sink<Bytes> + Send + 'static,
                    ),
                    E,
                >,
            > + Send {
                <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
            }

            fn spawn(future: impl Future<Output = ()> + Send + 'static) {
                <BrowserClient as Client<E, IS, OS>>::spawn(future);
            }
        }

        fn csrf_token() -> Option<String> {
            let document = web_sys::window()?.document()?;
            let cookies = js_sys::Reflect::get(&document, &"cookie".into())
                .ok()?
                .as_string()?;
            cookie_value(&cookies, CSRF_COOKIE).map(str::to_owned)
        }
    }
}

/// The storage seam: `server/` implements it and provides it as Leptos context.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{
        AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery, ApiError,
        CreatedLoginLink, CreatedShareLink, CreatedToken, Dashboard, DashboardSummary, Query,
        QueryResult, Role, SaveOutcome, SessionInfo, ShareLink, TokenInfo, TokenScope,
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
        fn analytics(
            &self,
            query: AnalyticsQuery,
        ) -> BoxFuture<'_, Result<AnalyticsAnswer, ApiError>>;

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
        fn revoke_share_link(
            &self,
            id: String,
            link: String,
        ) -> BoxFuture<'_, Result<(), ApiError>>;
    }

    /// How the backend travels through Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;
}
