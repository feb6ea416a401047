//! Configuration, read once at start-up from environment variables.
//!
//! A value that does not parse stops start-up with an error naming the variable.

mod error;
mod parse;
pub mod proxies;
mod redis;
mod settings;
mod types;
pub mod variables;

pub use app::query::parse_duration_ms;
pub use error::ConfigError;
pub use redis::{CLUSTER_LIVE_PARTITIONS, ClusterMode, RedisSource};
pub use settings::{
    AlertSettings, DEFAULT_MAX_QUERY_KEYS, DEFAULT_MAX_QUERY_POINTS, EventSettings, QueryLimits,
    SeriesLimits,
};
pub use types::{
    AuthConfig, Config, ConnectionConfig, DEFAULT_ADDR, DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_BODY_TIMEOUT_MS, DEFAULT_CONNECTIONS_PER_ADDRESS, DEFAULT_DATA_DIR,
    DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_KEY_PREFIX,
    DEFAULT_MAX_BATCH_SAMPLES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SERIES,
    DEFAULT_MAX_SERIES_PER_METRIC, DEFAULT_RATE_LIMIT, DEFAULT_REDIS_SERVER,
    DEFAULT_SELF_METRICS_MS, DEFAULT_SITE_ROOT, DEFAULT_SOCKETS_PER_ADDRESS, DEFAULT_STATSD_ADDR,
    IngestLimits, LimitsConfig, LiveConfig, MIN_ADMIN_TOKEN_CHARS, Retention, TIERS,
};
