//! Configuration, read once at start-up from environment variables.
//!
//! A value that does not parse stops start-up with an error naming the variable.

pub mod variables;

use std::net::SocketAddr;
use std::path::PathBuf;

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
const RETENTION_VARIABLES: [(&str, &str); 5] = [
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

pub use app::query::parse_duration_ms;

/// Where Redis comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisSource {
    /// A server someone else runs, from `REDIS_URL`.
    External { url: String },
    /// A `redis-server` child that livedash starts, supervises and stops.
    Managed {
        /// The executable to run.
        executable: PathBuf,
        /// Its data directory.
        data_dir: PathBuf,
    },
}

/// Everything livedash reads from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// HTTP listen address.
    pub addr: SocketAddr,
    /// Which Redis to use.
    pub redis: RedisSource,
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
    pub events: crate::storage::events::EventSettings,
    /// Whether simulated traffic is generated (`--demo`).
    pub demo: bool,
    /// Who may do what.
    pub auth: AuthConfig,
    /// Rate and connection limits.
    pub limits: LimitsConfig,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::proxy::TrustedProxies,
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
    pub series: crate::storage::SeriesLimits,
    /// What one query may read and hold.
    pub query: crate::storage::plan::QueryLimits,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate_per_second: Some(DEFAULT_RATE_LIMIT),
            auth_failures_per_second: Some(DEFAULT_AUTH_FAILURE_LIMIT),
            sockets_per_address: Some(DEFAULT_SOCKETS_PER_ADDRESS),
            series: crate::storage::SeriesLimits {
                total: Some(DEFAULT_MAX_SERIES),
                per_metric: Some(DEFAULT_MAX_SERIES_PER_METRIC),
            },
            query: crate::storage::plan::QueryLimits::default(),
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

/// A variable that is set but unusable.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
#[error("failed to parse {variable}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What it was set to.
    pub value: String,
    /// Why that does not work.
    pub reason: String,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable that is set to something unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    /// The first variable that is set to something unusable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let addr = parse(
            "LIVEDASH_ADDR",
            get("LIVEDASH_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into()),
        )?;
        let redis = match get("REDIS_URL") {
            Some(url) => {
                redis::Client::open(url.as_str()).map_err(|error| ConfigError {
                    variable: "REDIS_URL",
                    value: url.clone(),
                    reason: format!(
                        "{error}; expected redis://[user:password@]host[:port][/db] or \
                         redis+unix:///path"
                    ),
                })?;
                RedisSource::External { url }
            }
            None => RedisSource::Managed {
                executable: get("LIVEDASH_REDIS_SERVER")
                    .unwrap_or_else(|| DEFAULT_REDIS_SERVER.into())
                    .into(),
                data_dir: get("LIVEDASH_DATA_DIR")
                    .unwrap_or_else(|| DEFAULT_DATA_DIR.into())
                    .into(),
            },
        };
        let key_prefix = get("LIVEDASH_KEY_PREFIX").unwrap_or_else(|| DEFAULT_KEY_PREFIX.into());
        if key_prefix.contains(['{', '}']) || key_prefix.chars().any(char::is_whitespace) {
            return Err(ConfigError {
                variable: "LIVEDASH_KEY_PREFIX",
                value: key_prefix,
                reason: "must not contain braces (they would break the hash tags) or spaces".into(),
            });
        }
        let site_root = get("LIVEDASH_SITE_ROOT").unwrap_or_else(|| DEFAULT_SITE_ROOT.into());
        let max_body_bytes = match get("LIVEDASH_MAX_BODY_BYTES") {
            Some(value) => parse("LIVEDASH_MAX_BODY_BYTES", value)?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        if max_body_bytes == 0 {
            return Err(ConfigError {
                variable: "LIVEDASH_MAX_BODY_BYTES",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        let count = |variable: &'static str, default: usize| match get(variable) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(count @ 1..) => Ok(count),
                _ => Err(ConfigError {
                    variable,
                    value,
                    reason: "a positive whole number".into(),
                }),
            },
        };
        let ingest = IngestLimits {
            max_batch_samples: count("LIVEDASH_MAX_BATCH_SAMPLES", DEFAULT_MAX_BATCH_SAMPLES)?,
            max_batch_events: count(
                "LIVEDASH_MAX_BATCH_EVENTS",
                app::events::MAX_EVENTS_PER_BATCH,
            )?,
        };
        let mut retention_ms = [0_i64; 5];
        for (slot, (variable, default)) in retention_ms.iter_mut().zip(RETENTION_VARIABLES) {
            let value = get(variable).unwrap_or_else(|| default.into());
            *slot = parse_duration_ms(&value).map_err(|reason| ConfigError {
                variable,
                value,
                reason,
            })?;
        }
        let retention = Retention {
            raw_ms: retention_ms[0],
            tiers_ms: [
                retention_ms[1],
                retention_ms[2],
                retention_ms[3],
                retention_ms[4],
            ],
        };
        let statsd_addr = match get("LIVEDASH_STATSD_ADDR")
            .unwrap_or_else(|| DEFAULT_STATSD_ADDR.into())
            .as_str()
        {
            "off" => None,
            value => Some(parse("LIVEDASH_STATSD_ADDR", value.to_owned())?),
        };
        let defaults = LiveConfig::default();
        let duration = |variable: &'static str, default: i64| match get(variable) {
            Some(value) => parse_duration_ms(&value).map_err(|reason| ConfigError {
                variable,
                value,
                reason,
            }),
            None => Ok(default),
        };
        let live = LiveConfig {
            frame_ms: duration("LIVEDASH_LIVE_FRAME", defaults.frame_ms)?,
            gather_ms: match get("LIVEDASH_LIVE_GATHER") {
                Some(value) if value.trim() == "off" => 0,
                Some(value) => parse_duration_ms(&value)
                    .and_then(|ms| {
                        if ms <= 1000 {
                            Ok(ms)
                        } else {
                            Err("at most 1s, or off".into())
                        }
                    })
                    .map_err(|reason| ConfigError {
                        variable: "LIVEDASH_LIVE_GATHER",
                        value,
                        reason,
                    })?,
                None => defaults.gather_ms,
            },
            resume_window_ms: duration("LIVEDASH_LIVE_RESUME", defaults.resume_window_ms)?,
            client_buffer: match get("LIVEDASH_LIVE_CLIENT_BUFFER") {
                Some(value) if value.trim() == "0" => {
                    return Err(ConfigError {
                        variable: "LIVEDASH_LIVE_CLIENT_BUFFER",
                        value,
                        reason: "must be at least 1".into(),
                    });
                }
                Some(value) => parse("LIVEDASH_LIVE_CLIENT_BUFFER", value)?,
                None => defaults.client_buffer,
            },
            slow_client_ms: duration("LIVEDASH_LIVE_SLOW_CLIENT", defaults.slow_client_ms)?,
            threads: match get("LIVEDASH_LIVE_THREADS") {
                Some(value) if value.trim() == "off" => None,
                Some(value) => match value.trim().parse::<usize>() {
                    Ok(threads @ 1..=1024) => Some(threads),
                    _ => {
                        return Err(ConfigError {
                            variable: "LIVEDASH_LIVE_THREADS",
                            value,
                            reason: "a number of threads from 1 to 1024, or off".into(),
                        });
                    }
                },
                None => defaults.threads,
            },
        };
        let self_metrics_ms = match get("LIVEDASH_SELF_METRICS") {
            Some(value) if value.trim() == "off" => None,
            Some(value) => Some(
                parse_duration_ms(&value)
                    .and_then(|ms| {
                        if ms >= 1000 {
                            Ok(ms)
                        } else {
                            Err("at least 1s".into())
                        }
                    })
                    .map_err(|reason| ConfigError {
                        variable: "LIVEDASH_SELF_METRICS",
                        value,
                        reason,
                    })?,
            ),
            None => Some(DEFAULT_SELF_METRICS_MS),
        };
        let defaults = crate::storage::events::EventSettings::default();
        let events = crate::storage::events::EventSettings {
            ranked_properties: match get("LIVEDASH_EVENT_PROPERTIES") {
                Some(value) => value
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => defaults.ranked_properties,
            },
            log_retention_ms: duration("LIVEDASH_EVENT_RETENTION", defaults.log_retention_ms)?,
        };
        let switch =
            |variable: &'static str, default: bool| match get(variable).as_deref().map(str::trim) {
                None => Ok(default),
                Some("off" | "0" | "false") => Ok(false),
                Some("on" | "1" | "true") => Ok(true),
                Some(other) => Err(ConfigError {
                    variable,
                    value: other.to_owned(),
                    reason: "use on or off".into(),
                }),
            };
        let demo = switch("LIVEDASH_DEMO", false)?;
        let auth = auth_config(&get, switch("LIVEDASH_AUTH", true)?)?;
        let limit = |variable: &'static str, default: usize| match get(variable) {
            None => Ok(Some(default)),
            Some(value) if value.trim() == "off" => Ok(None),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(0) | Err(_) => Err(ConfigError {
                    variable,
                    value,
                    reason: "a positive whole number, or off".into(),
                }),
                Ok(limit) => Ok(Some(limit)),
            },
        };
        let limits = LimitsConfig {
            rate_per_second: limit("LIVEDASH_RATE_LIMIT", DEFAULT_RATE_LIMIT as usize)?
                .map(|rate| u32::try_from(rate).unwrap_or(u32::MAX)),
            auth_failures_per_second: limit(
                "LIVEDASH_AUTH_FAILURE_LIMIT",
                DEFAULT_AUTH_FAILURE_LIMIT as usize,
            )?
            .map(|rate| u32::try_from(rate).unwrap_or(u32::MAX)),
            sockets_per_address: limit(
                "LIVEDASH_LIVE_SOCKETS_PER_ADDRESS",
                DEFAULT_SOCKETS_PER_ADDRESS,
            )?,
            series: crate::storage::SeriesLimits {
                total: limit("LIVEDASH_MAX_SERIES", DEFAULT_MAX_SERIES)?,
                per_metric: limit(
                    "LIVEDASH_MAX_SERIES_PER_METRIC",
                    DEFAULT_MAX_SERIES_PER_METRIC,
                )?,
            },
            query: {
                let defaults = crate::storage::plan::QueryLimits::default();
                let required = |variable: &'static str, default: usize| match get(variable) {
                    None => Ok(default),
                    Some(value) => match value.trim().parse::<usize>() {
                        Ok(limit) if limit > 0 => Ok(limit),
                        _ => Err(ConfigError {
                            variable,
                            value,
                            reason: "a positive whole number".into(),
                        }),
                    },
                };
                crate::storage::plan::QueryLimits {
                    max_keys: required("LIVEDASH_QUERY_MAX_KEYS", defaults.max_keys)?,
                    max_points: required("LIVEDASH_QUERY_MAX_POINTS", defaults.max_points)?,
                }
            },
        };
        let connections = ConnectionConfig {
            header_timeout_ms: duration("LIVEDASH_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT_MS)?,
            body_timeout_ms: duration("LIVEDASH_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT_MS)?,
            idle_timeout_ms: duration("LIVEDASH_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT_MS)?,
            per_address: limit(
                "LIVEDASH_CONNECTIONS_PER_ADDRESS",
                DEFAULT_CONNECTIONS_PER_ADDRESS,
            )?,
        };
        let trusted_proxies = match get("LIVEDASH_TRUSTED_PROXIES") {
            Some(value) => {
                crate::proxy::TrustedProxies::parse(&value).map_err(|reason| ConfigError {
                    variable: "LIVEDASH_TRUSTED_PROXIES",
                    value,
                    reason,
                })?
            }
            None => crate::proxy::TrustedProxies::default(),
        };
        Ok(Self {
            addr,
            redis,
            key_prefix,
            site_root,
            max_body_bytes,
            ingest,
            retention,
            statsd_addr,
            live,
            self_metrics_ms,
            events,
            demo,
            auth,
            limits,
            trusted_proxies,
            connections,
        })
    }
}

fn auth_config(
    get: &impl Fn(&str) -> Option<String>,
    enabled: bool,
) -> Result<AuthConfig, ConfigError> {
    let defaults = AuthConfig::default();
    let admin_token = get("LIVEDASH_ADMIN_TOKEN").map(|token| token.trim().to_owned());
    if let Some(token) = &admin_token
        && (token.chars().count() < MIN_ADMIN_TOKEN_CHARS || token.contains(char::is_whitespace))
    {
        return Err(ConfigError {
            variable: "LIVEDASH_ADMIN_TOKEN",
            value: "(hidden)".into(),
            reason: format!(
                "must be at least {MIN_ADMIN_TOKEN_CHARS} characters without spaces \
                 (e.g. openssl rand -hex 16)"
            ),
        });
    }
    let mut allowed_origins = Vec::new();
    for origin in get("LIVEDASH_ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
    {
        let well_formed = origin.split_once("://").is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains('/')
        });
        if !well_formed {
            return Err(ConfigError {
                variable: "LIVEDASH_ALLOWED_ORIGINS",
                value: origin.to_owned(),
                reason: "each origin is scheme://host[:port], without a path".into(),
            });
        }
        allowed_origins.push(origin.trim_end_matches('/').to_owned());
    }
    let share_frame_ancestors = match get("LIVEDASH_SHARE_FRAME_ANCESTORS") {
        Some(value) if value.contains([';', ',', '\n', '\r']) => {
            return Err(ConfigError {
                variable: "LIVEDASH_SHARE_FRAME_ANCESTORS",
                value,
                reason: "a space-separated CSP source list, without ; or ,".into(),
            });
        }
        Some(value) => value.trim().to_owned(),
        None => defaults.share_frame_ancestors,
    };
    Ok(AuthConfig {
        enabled,
        admin_token,
        allowed_origins,
        share_frame_ancestors,
    })
}

fn parse<T>(variable: &'static str, value: String) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|error: T::Err| ConfigError {
        variable,
        reason: error.to_string(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    /// With nothing set, every documented default applies and Redis is managed.
    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr, DEFAULT_ADDR.parse().unwrap());
        assert_eq!(
            config.redis,
            RedisSource::Managed {
                executable: DEFAULT_REDIS_SERVER.into(),
                data_dir: DEFAULT_DATA_DIR.into()
            }
        );
        assert_eq!(config.key_prefix, "ld:");
        assert_eq!(config.site_root, "target/site");
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(
            config.ingest,
            IngestLimits {
                max_batch_samples: 50_000,
                max_batch_events: 10_000
            }
        );
        assert_eq!(
            config.retention,
            Retention {
                raw_ms: 86_400_000,
                tiers_ms: [
                    2 * 86_400_000,
                    30 * 86_400_000,
                    365 * 86_400_000,
                    1826 * 86_400_000
                ]
            }
        );
        assert_eq!(config.retention, Retention::default());
        assert_eq!(
            config.statsd_addr,
            Some(DEFAULT_STATSD_ADDR.parse().unwrap())
        );
        assert_eq!(
            config.live,
            LiveConfig {
                frame_ms: 100,
                gather_ms: 10,
                resume_window_ms: 300_000,
                client_buffer: 64,
                slow_client_ms: 10_000,
                threads: Some(std::thread::available_parallelism().unwrap().get()),
            }
        );
        assert_eq!(config.self_metrics_ms, Some(DEFAULT_SELF_METRICS_MS));
    }

    /// Failed authentications are limited per address by default, to a set rate, or not at all;
    /// anything else stops start-up naming the variable.
    #[test]
    fn auth_failure_limit() {
        let limit = |value: &str| {
            config(&[("LIVEDASH_AUTH_FAILURE_LIMIT", value)])
                .map(|c| c.limits.auth_failures_per_second)
        };
        assert_eq!(
            config(&[]).unwrap().limits.auth_failures_per_second,
            Some(DEFAULT_AUTH_FAILURE_LIMIT)
        );
        assert_eq!(limit("3").unwrap(), Some(3));
        assert_eq!(limit("off").unwrap(), None);
        for bad in ["0", "-1", "many"] {
            let error = limit(bad).unwrap_err();
            assert_eq!(error.variable, "LIVEDASH_AUTH_FAILURE_LIMIT", "{bad}");
        }
    }

    /// Connection timeouts and the per-address cap have defaults, take set values, and refuse
    /// unusable ones naming the variable.
    #[test]
    fn connection_limits() {
        assert_eq!(
            config(&[]).unwrap().connections,
            ConnectionConfig::default()
        );
        assert_eq!(
            ConnectionConfig::default(),
            ConnectionConfig {
                header_timeout_ms: 10_000,
                body_timeout_ms: 30_000,
                idle_timeout_ms: 60_000,
                per_address: Some(128),
            }
        );
        let set = config(&[
            ("LIVEDASH_HEADER_TIMEOUT", "2s"),
            ("LIVEDASH_BODY_TIMEOUT", "1500ms"),
            ("LIVEDASH_IDLE_TIMEOUT", "5m"),
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "7"),
        ])
        .unwrap();
        assert_eq!(
            set.connections,
            ConnectionConfig {
                header_timeout_ms: 2_000,
                body_timeout_ms: 1_500,
                idle_timeout_ms: 300_000,
                per_address: Some(7),
            }
        );
        let off = config(&[("LIVEDASH_CONNECTIONS_PER_ADDRESS", "off")]).unwrap();
        assert_eq!(off.connections.per_address, None);
        for (variable, value) in [
            ("LIVEDASH_HEADER_TIMEOUT", "10"),
            ("LIVEDASH_HEADER_TIMEOUT", "off"),
            ("LIVEDASH_BODY_TIMEOUT", "0s"),
            ("LIVEDASH_IDLE_TIMEOUT", "soon"),
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "0"),
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "many"),
        ] {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
        }
    }

    /// Durations take the usual units and refuse anything else.
    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("90m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("1y"), Ok(31_536_000_000));
        assert!(parse_duration_ms("24").unwrap_err().contains("no unit"));
        assert!(
            parse_duration_ms("2 days")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration_ms("0s").unwrap_err().contains("positive"));
    }

    /// Set values are used.
    #[test]
    fn overrides() {
        let config = config(&[
            ("LIVEDASH_ADDR", "0.0.0.0:8080"),
            ("REDIS_URL", "redis://10.0.0.5:6380/2"),
            ("LIVEDASH_KEY_PREFIX", "prod:"),
            ("LIVEDASH_STATSD_ADDR", "off"),
            ("LIVEDASH_MAX_BODY_BYTES", "1024"),
            ("LIVEDASH_LIVE_FRAME", "250ms"),
            ("LIVEDASH_LIVE_RESUME", "1h"),
            ("LIVEDASH_LIVE_CLIENT_BUFFER", "8"),
            ("LIVEDASH_LIVE_SLOW_CLIENT", "3s"),
            ("LIVEDASH_LIVE_THREADS", "3"),
            ("LIVEDASH_LIVE_GATHER", "5ms"),
        ])
        .unwrap();
        assert_eq!(
            config.live,
            LiveConfig {
                frame_ms: 250,
                gather_ms: 5,
                resume_window_ms: 3_600_000,
                client_buffer: 8,
                slow_client_ms: 3_000,
                threads: Some(3),
            }
        );
        assert_eq!(config.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            config.redis,
            RedisSource::External {
                url: "redis://10.0.0.5:6380/2".into()
            }
        );
        assert_eq!(config.key_prefix, "prod:");
        assert_eq!(config.max_body_bytes, 1024);
        assert_eq!(config.statsd_addr, None);
        let off = self::config(&[
            ("LIVEDASH_SELF_METRICS", "off"),
            ("LIVEDASH_LIVE_THREADS", "off"),
            ("LIVEDASH_LIVE_GATHER", "off"),
        ])
        .unwrap();
        assert_eq!(off.live.gather_ms, 0);
        assert_eq!(off.self_metrics_ms, None);
        assert_eq!(off.live.threads, None);
        let query = self::config(&[
            ("LIVEDASH_QUERY_MAX_KEYS", "5000"),
            ("LIVEDASH_QUERY_MAX_POINTS", "70000"),
        ])
        .unwrap();
        assert_eq!(
            query.limits.query,
            crate::storage::plan::QueryLimits {
                max_keys: 5000,
                max_points: 70_000
            }
        );
        assert_eq!(
            self::config(&[]).unwrap().limits.query,
            crate::storage::plan::QueryLimits::default()
        );
    }

    /// A bad value names its variable.
    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            ("LIVEDASH_ADDR", "localhost"),
            ("REDIS_URL", "http://x"),
            ("LIVEDASH_KEY_PREFIX", "a{b}"),
            ("LIVEDASH_MAX_BODY_BYTES", "lots"),
            ("LIVEDASH_MAX_BODY_BYTES", "0"),
            ("LIVEDASH_RETENTION_RAW", "forever"),
            ("LIVEDASH_RETENTION_1D", "5x"),
            ("LIVEDASH_LIVE_FRAME", "fast"),
            ("LIVEDASH_LIVE_CLIENT_BUFFER", "0"),
            ("LIVEDASH_LIVE_SLOW_CLIENT", "-1s"),
            ("LIVEDASH_LIVE_THREADS", "0"),
            ("LIVEDASH_LIVE_THREADS", "many"),
            ("LIVEDASH_LIVE_GATHER", "2s"),
            ("LIVEDASH_LIVE_GATHER", "soon"),
            ("LIVEDASH_STATSD_ADDR", "8125"),
            ("LIVEDASH_SELF_METRICS", "10ms"),
            ("LIVEDASH_SELF_METRICS", "sometimes"),
            ("LIVEDASH_QUERY_MAX_KEYS", "0"),
            ("LIVEDASH_QUERY_MAX_POINTS", "many"),
        ] {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("failed to parse {variable}="))
            );
        }
    }

    /// The ingest item limits take positive whole numbers, and nothing else (no `off`: a
    /// request's memory grows with its items).
    #[test]
    fn ingest_limits() {
        let set = config(&[
            ("LIVEDASH_MAX_BATCH_SAMPLES", "1000"),
            ("LIVEDASH_MAX_BATCH_EVENTS", "7"),
        ])
        .unwrap();
        assert_eq!(
            set.ingest,
            IngestLimits {
                max_batch_samples: 1_000,
                max_batch_events: 7
            }
        );
        for variable in ["LIVEDASH_MAX_BATCH_SAMPLES", "LIVEDASH_MAX_BATCH_EVENTS"] {
            for value in ["0", "off", "-1", "many"] {
                let error = config(&[(variable, value)]).unwrap_err();
                assert_eq!(error.variable, variable);
                assert_eq!(
                    error.to_string(),
                    format!("failed to parse {variable}={value:?}: a positive whole number")
                );
            }
        }
    }
}
