//! The Redis repository: one multiplexed, self-reconnecting connection shared by all requests,
//! the scripts it runs, and the settings it was made with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::MetricKind;

use super::error::StorageError;
use super::keys::{Keys, SeriesId};
use super::scripts::{change_scripts, write_script};
use super::target::RedisTarget;
use super::usage_clock::UsageClock;
use super::{connection, events, plan};
use crate::config::{Retention, SeriesLimits};

/// The Redis repository: one multiplexed, self-reconnecting connection shared by all requests.
#[derive(Clone)]
pub struct Store {
    pub(super) connection: connection::Connection,
    pub(super) keys: Arc<Keys>,
    pub(super) retention: Retention,
    pub(super) write_script: Arc<redis::Script>,
    /// Series this process has already put in the catalog and name index, with their kind,
    /// so that steady ingest does not rewrite them with every batch, nor read their kind
    /// before writing an item of several series (a series' kind never changes). Losing it
    /// only costs a rewrite.
    pub(super) registered: Arc<Mutex<HashMap<SeriesId, MetricKind>>>,
    /// Series names and kinds read before (see the `series_cache` module).
    pub(super) cache: Arc<super::series_cache::SeriesCache>,
    /// The change log's partitions.
    pub(super) log: Arc<super::partitions::ChangeLog>,
    pub(super) append_script: Arc<redis::Script>,
    pub(super) read_script: Arc<redis::Script>,
    /// How long the change log keeps entries, so reconnecting clients can resume.
    pub(super) resume_window_ms: i64,
    /// Analytics settings and the funnel lock.
    pub(super) events: events::EventState,
    /// When each API token's use was last written down.
    pub(super) usage: Arc<UsageClock>,
    pub(super) series_limits: SeriesLimits,
    /// Replicas that must have a write before it counts as stored (`WAIT`).
    pub(super) wait_replicas: u32,
    pub(super) query_limits: plan::QueryLimits,
}

/// How long the change log keeps entries unless configured otherwise.
pub const DEFAULT_RESUME_WINDOW_MS: i64 = 5 * 60_000;

impl Store {
    /// Builds a store on `target`. The connection is made lazily and re-made after failures,
    /// so a Redis that is down at start-up or later only fails the requests made meanwhile.
    ///
    /// # Errors
    /// The client's configuration is unusable.
    pub fn new(
        target: &RedisTarget,
        keys: Keys,
        retention: Retention,
    ) -> Result<Self, StorageError> {
        let (append_script, read_script) = change_scripts();
        Ok(Self {
            log: Arc::new(super::partitions::ChangeLog::new(&keys, 1)),
            append_script: Arc::new(append_script),
            read_script: Arc::new(read_script),
            resume_window_ms: DEFAULT_RESUME_WINDOW_MS,
            connection: target.shared_connection()?,
            keys: Arc::new(keys),
            retention,
            write_script: Arc::new(redis::Script::new(&write_script(retention))),
            registered: Arc::new(Mutex::new(HashMap::new())),
            cache: Arc::default(),
            events: events::EventState::default(),
            usage: Arc::new(UsageClock::default()),
            series_limits: SeriesLimits::default(),
            wait_replicas: 0,
            query_limits: plan::QueryLimits::default(),
        })
    }

    /// The same store, making its requests on `home` wherever it is used (see
    /// the `connection` module): for code on another runtime.
    #[must_use]
    pub fn making_requests_on(&self, home: tokio::runtime::Handle) -> Self {
        let mut store = self.clone();
        store.connection.home = Some(home);
        store
    }

    /// Keeps analytics events as `settings` say (ranked properties, raw log retention).
    #[must_use]
    pub fn with_event_settings(mut self, settings: events::EventSettings) -> Self {
        self.events = events::EventState::new(settings);
        self
    }

    /// Spreads the change log over `count` partitions (see the `changes` module).
    #[must_use]
    pub fn with_log_partitions(mut self, count: usize) -> Self {
        self.log = Arc::new(super::partitions::ChangeLog::new(&self.keys, count));
        self
    }

    /// Keeps change-log entries for `window_ms` (how long a disconnected client can resume).
    #[must_use]
    pub fn with_resume_window(mut self, window_ms: i64) -> Self {
        self.resume_window_ms = window_ms;
        self
    }

    /// Refuses samples that would create series beyond `limits`.
    #[must_use]
    pub fn with_series_limits(mut self, limits: SeriesLimits) -> Self {
        self.series_limits = limits;
        self
    }

    /// Acknowledges writes only once `replicas` replicas hold them.
    #[must_use]
    pub fn with_wait_replicas(mut self, replicas: u32) -> Self {
        self.wait_replicas = replicas;
        self
    }

    /// Whether Redis is a cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.connection.is_cluster()
    }

    /// How many partitions the change log, and web analytics' users, are spread over.
    #[must_use]
    pub fn partitions(&self) -> usize {
        self.log.count()
    }

    /// Refuses queries that would read or hold more than `limits`.
    #[must_use]
    pub fn with_query_limits(mut self, limits: plan::QueryLimits) -> Self {
        self.query_limits = limits;
        self
    }

    /// How much one query may read and hold.
    #[must_use]
    pub fn query_limits(&self) -> plan::QueryLimits {
        self.query_limits
    }

    /// The key builder this store uses.
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The retention this store enforces.
    #[must_use]
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// A connection handle (cheap clone of the shared multiplexed connection).
    pub(crate) fn connection(&self) -> connection::Connection {
        self.connection.clone()
    }

    /// Round-trip time of a `PING`.
    ///
    /// # Errors
    /// Redis is unreachable or answered with an error.
    pub async fn ping(&self) -> Result<Duration, StorageError> {
        let started = Instant::now();
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(started.elapsed())
    }
}
