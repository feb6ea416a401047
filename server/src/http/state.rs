//! The state every handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::rate_limit::RateLimiter;
use crate::ingest::statsd::StatsdCounters;
use crate::live::Hub;
use crate::storage::Store;
use crate::storage::writer::Writer;

/// Cloned into every request; all fields are cheap handles.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos rendering options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The Redis repository (reads).
    pub store: Store,
    /// Writes go through here, so concurrent requests are combined (group commit).
    pub writer: Writer,
    /// The in-process fan-out of live updates.
    pub hub: Hub,
    /// Alert rules, their evaluation and notifications.
    pub alerting: crate::alerts::Alerting,
    /// Cancelled when the server begins shutting down; long-lived tasks watch it.
    pub shutdown: CancellationToken,
    /// The configuration the process started with.
    pub config: Arc<Config>,
    /// What the StatsD listener has seen (zero when it is off).
    pub statsd: Arc<StatsdCounters>,
    /// Requests per credential, when rate-limited.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Failed authentications per client address, when limited (`LIVEDASH_AUTH_FAILURE_LIMIT`).
    /// (Not extractable on its own: it has the request limiter's type.)
    #[from_ref(skip)]
    pub auth_failures: Option<Arc<RateLimiter>>,
}
