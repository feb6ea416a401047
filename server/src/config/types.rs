//! The configuration's types, each with the defaults livedash runs with when nothing is set.

use std::net::SocketAddr;

use app::query::parse_duration_ms;

use super::proxies::TrustedProxies;
use super::redis::RedisSource;
use super::settings::{AlertSettings, EventSettings, QueryLimits, SeriesLimits};

/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Default data directory of the managed Redis.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Default `redis-server` executable.
pub const DEFAULT_REDIS_SERVER: &str = "redis-server";
/// Default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "ld:";
/// Default StatsD listen address: loopback, because StatsD has no authentication.
pub const DEFAULT_STATSD_ADDR: &str = "127.0.0.1:8125";
/// How often livedash records its own metrics unless configured otherwise.
pub const DEFAULT_SELF_METRICS_MS: i64 = 10_000;
/// Default site root, where the build puts `pkg/`.
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// Default request body limit: 16 MiB is ample for a batch of 100 000 JSON points.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Default `LIVEDASH_MAX_BATCH_SAMPLES`: ten times the batches InfluxDB clients send by default
/// (Telegraf 1 000 metrics of a few fields, client libraries 1 000 to 5 000 points), while a
/// request's memory stays within tens of MB (docs/benchmarks.md, "Ingest memory").
pub const DEFAULT_MAX_BATCH_SAMPLES: usize = 50_000;

/// How many items one ingest request may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestLimits {
    /// Samples per request (`/api/v1/ingest` items, line-protocol numeric fields).
    pub max_batch_samples: usize,
    /// Events per `POST /api/v1/events`.
    pub max_batch_events: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_batch_samples: DEFAULT_MAX_BATCH_SAMPLES,
            max_batch_events: app::events::MAX_EVENTS_PER_BATCH,
        }
    }
}

/// The storage tiers: name and bucket width in ms, finest first.
pub const TIERS: [(&str, i64); 4] = [
    ("10s", 10_000),
    ("1m", 60_000),
    ("1h", 3_600_000),
    ("1d", 86_400_000),
];

/// Retention variables and defaults: raw first, then one per tier of [`TIERS`].
pub(super) const RETENTION_VARIABLES: [(&str, &str); 5] = [
    ("LIVEDASH_RETENTION_RAW", "24h"),
    ("LIVEDASH_RETENTION_10S", "2d"),
    ("LIVEDASH_RETENTION_1M", "30d"),
    ("LIVEDASH_RETENTION_1H", "365d"),
    ("LIVEDASH_RETENTION_1D", "1826d"),
];

/// How long each kind of data is kept, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Raw points.
    pub raw_ms: i64,
    /// Rollups, in the order of [`TIERS`].
    pub tiers_ms: [i64; 4],
}

impl Retention {
    /// How long one-hour rollups (and other hourly counts) are kept.
    #[must_use]
    pub fn hour_ms(&self) -> i64 {
        // The one-hour rollups' place in `TIERS`.
        self.tiers_ms[2]
    }
}

impl Default for Retention {
    fn default() -> Self {
        let parsed: Vec<i64> = RETENTION_VARIABLES
            .iter()
            .map(|(_, default)| parse_duration_ms(default).unwrap_or(0))
            .collect();
        Self {
            raw_ms: parsed[0],
            tiers_ms: [parsed[1], parsed[2], parsed[3], parsed[4]],
        }
    }
}

/// Everything livedash reads from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// HTTP listen address.
    pub addr: SocketAddr,
    /// Which Redis to use.
    pub redis: RedisSource,
    /// Replicas that must hold a write before it is acknowledged.
    pub redis_wait_replicas: u32,
    /// This process's name in its own metrics.
    pub instance: String,
    /// Change-log partitions (`None`: one on a single Redis, several on a cluster).
    pub live_partitions: Option<usize>,
    /// Prefix of every Redis key and channel.
    pub key_prefix: String,
    /// Directory holding `pkg/` (WASM, JS, CSS) and the public assets.
    pub site_root: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Items per ingest request.
    pub ingest: IngestLimits,
    /// How long data is kept.
    pub retention: Retention,
    /// Where the StatsD listener binds; `None` when it is off.
    pub statsd_addr: Option<SocketAddr>,
    /// Live push settings.
    pub live: LiveConfig,
    /// How often livedash records its own metrics; `None` when off.
    pub self_metrics_ms: Option<i64>,
    /// How analytics events are kept.
    pub events: EventSettings,
    /// Alerting's history, delivery and provisioning.
    pub alerts: AlertSettings,
    /// Whether simulated traffic is generated (`--demo`).
    pub demo: bool,
    /// Who may do what.
    pub auth: AuthConfig,
    /// Rate and connection limits.
    pub limits: LimitsConfig,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Timeouts of HTTP connections, and how many may wait to sign in per address.
    pub connections: ConnectionConfig,
}

/// Default `LIVEDASH_HEADER_TIMEOUT`: ample for any client on any link to send a few KB of
/// headers, short enough that silent or dripping connections do not pile up.
pub const DEFAULT_HEADER_TIMEOUT_MS: i64 = 10_000;
/// Default `LIVEDASH_BODY_TIMEOUT`: a 16 MiB body (the default body limit) at 4.5 Mbit/s.
pub const DEFAULT_BODY_TIMEOUT_MS: i64 = 30_000;
/// Default `LIVEDASH_IDLE_TIMEOUT`, as long as browsers usually keep an unused connection.
pub const DEFAULT_IDLE_TIMEOUT_MS: i64 = 60_000;
/// Default `LIVEDASH_CONNECTIONS_PER_ADDRESS`: some twenty browsers loading pages at once
/// without signing in (share links on a shared network), far below the descriptors a
/// process has.
pub const DEFAULT_CONNECTIONS_PER_ADDRESS: usize = 128;

/// HTTP connection timeouts (ms) and the per-address cap before signing in (`None`: no cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub header_timeout_ms: i64,
    pub body_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    pub per_address: Option<usize>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            header_timeout_ms: DEFAULT_HEADER_TIMEOUT_MS,
            body_timeout_ms: DEFAULT_BODY_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            per_address: Some(DEFAULT_CONNECTIONS_PER_ADDRESS),
        }
    }
}

/// Default sustained requests per second per credential (or client address).
pub const DEFAULT_RATE_LIMIT: u32 = 100;
/// Default sustained failed authentications per second per client address.
pub const DEFAULT_AUTH_FAILURE_LIMIT: u32 = 10;
/// Default live sockets per client address.
pub const DEFAULT_SOCKETS_PER_ADDRESS: usize = 500;
/// Default most series in all.
pub const DEFAULT_MAX_SERIES: usize = 1_000_000;
/// Default most series per metric name.
pub const DEFAULT_MAX_SERIES_PER_METRIC: usize = 100_000;

/// Rate and connection limits; `None` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Requests per second per credential (or per client address without one).
    pub rate_per_second: Option<u32>,
    /// Failed authentications per second per client address.
    pub auth_failures_per_second: Option<u32>,
    /// Open live sockets per client address.
    pub sockets_per_address: Option<usize>,
    /// Cardinality caps: series in all and per metric name.
    pub series: SeriesLimits,
    /// What one query may read and hold.
    pub query: QueryLimits,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate_per_second: Some(DEFAULT_RATE_LIMIT),
            auth_failures_per_second: Some(DEFAULT_AUTH_FAILURE_LIMIT),
            sockets_per_address: Some(DEFAULT_SOCKETS_PER_ADDRESS),
            series: SeriesLimits {
                total: Some(DEFAULT_MAX_SERIES),
                per_metric: Some(DEFAULT_MAX_SERIES_PER_METRIC),
            },
            query: QueryLimits::default(),
        }
    }
}

/// Shortest accepted `LIVEDASH_ADMIN_TOKEN`: it must not be guessable.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 24;

/// Access control settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// False with `LIVEDASH_AUTH=off`: everyone is an admin.
    pub enabled: bool,
    /// A configured admin token; without one, a one-time sign-in link is printed at start.
    pub admin_token: Option<String>,
    /// Origins besides livedash's own whose pages may use a browser session.
    pub allowed_origins: Vec<String>,
    /// The `frame-ancestors` source list of share link pages.
    pub share_frame_ancestors: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            admin_token: None,
            allowed_origins: Vec::new(),
            share_frame_ancestors: "'none'".into(),
        }
    }
}

/// How the live push behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    /// Shortest time between two deltas of one subscription, ms.
    pub frame_ms: i64,
    /// How long a socket with several subscriptions waits for the others' updates after one
    /// arrived, ms; 0 sends each at once.
    pub gather_ms: i64,
    /// How long the change log keeps entries, ms.
    pub resume_window_ms: i64,
    /// Messages queued per client.
    pub client_buffer: usize,
    /// How long a client may stay behind before it is closed, ms.
    pub slow_client_ms: i64,
    /// Worker threads of the runtime live sockets run on, apart from ingest; `None` runs them
    /// on the main runtime.
    pub threads: Option<usize>,
}

/// One live thread per core: the main runtime has as many, and the OS shares the cores.
fn default_live_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            frame_ms: 100,
            gather_ms: 10,
            resume_window_ms: 5 * 60_000,
            client_buffer: 64,
            slow_client_ms: 10_000,
            threads: Some(default_live_threads()),
        }
    }
}
