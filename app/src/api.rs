//! Server functions, the error type they share with the browser, and (under `ssr`) the backend
//! trait through which they reach storage.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

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

/// Lists the current value of every series.
#[server(prefix = "/api/fn", endpoint = "current_values")]
pub async fn current_values() -> Result<ValueListing, ApiError> {
    let backend = use_context::<backend::SharedBackend>()
        .ok_or_else(|| ApiError::Transport("no storage backend in context".into()))?;
    backend.current_values().await
}

/// Runs a query; the same types and rules as `GET /api/v1/query`.
#[server(prefix = "/api/fn", endpoint = "query", input = leptos::server_fn::codec::Json)]
pub async fn run_query(query: Query) -> Result<QueryResult, ApiError> {
    let backend = use_context::<backend::SharedBackend>()
        .ok_or_else(|| ApiError::Transport("no storage backend in context".into()))?;
    backend.query(query).await
}

/// The storage seam: `server/` implements it and provides it as Leptos context.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{ApiError, Query, QueryResult, ValueListing};

    /// A boxed future, so the trait stays object-safe.
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Read access to stored metrics for server functions.
    pub trait Backend: Send + Sync + 'static {
        /// The current value of every series.
        fn current_values(&self) -> BoxFuture<'_, Result<ValueListing, ApiError>>;

        /// Runs a query at the current time.
        fn query(&self, query: Query) -> BoxFuture<'_, Result<QueryResult, ApiError>>;
    }

    /// How the backend travels through Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;
}
