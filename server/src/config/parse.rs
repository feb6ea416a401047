//! Reading the configuration from the environment (or any lookup), one variable at a time.

use app::query::parse_duration_ms;

use super::error::ConfigError;
use super::proxies::TrustedProxies;
use super::redis::RedisSource;
use super::settings::{
    AlertSettings, DEFAULT_SMTP_FROM, EventSettings, QueryLimits, SeriesLimits, SmtpSettings,
};
use super::types::{
    AuthConfig, Config, ConnectionConfig, DEFAULT_ADDR, DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_BODY_TIMEOUT_MS, DEFAULT_CONNECTIONS_PER_ADDRESS, DEFAULT_DATA_DIR,
    DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_KEY_PREFIX,
    DEFAULT_MAX_BATCH_SAMPLES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SERIES,
    DEFAULT_MAX_SERIES_PER_METRIC, DEFAULT_RATE_LIMIT, DEFAULT_REDIS_SERVER,
    DEFAULT_SELF_METRICS_MS, DEFAULT_SITE_ROOT, DEFAULT_SOCKETS_PER_ADDRESS, DEFAULT_STATSD_ADDR,
    IngestLimits, LimitsConfig, LiveConfig, MIN_ADMIN_TOKEN_CHARS, RETENTION_VARIABLES, Retention,
};

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
        let addr: std::net::SocketAddr = parse(
            "LIVEDASH_ADDR",
            get("LIVEDASH_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into()),
        )?;
        let cluster_mode = get("LIVEDASH_REDIS_CLUSTER");
        let redis = match get("REDIS_URL") {
            Some(urls) => super::redis::external(&urls, cluster_mode)?,
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
        let defaults = EventSettings::default();
        let events = EventSettings {
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
            person_retention_ms: duration(
                "LIVEDASH_PERSON_RETENTION",
                defaults.person_retention_ms,
            )?,
            visit_timeout_ms: duration("LIVEDASH_VISIT_TIMEOUT", defaults.visit_timeout_ms)?,
            expected_users: count("LIVEDASH_EXPECTED_USERS", defaults.expected_users as usize)?
                as u64,
            new_user_error_ppm: match get("LIVEDASH_NEW_USER_ERROR") {
                None => defaults.new_user_error_ppm,
                Some(value) => parse_share_ppm(&value).map_err(|reason| ConfigError {
                    variable: "LIVEDASH_NEW_USER_ERROR",
                    value,
                    reason,
                })?,
            },
        };
        if !(60_000..=12 * 3_600_000).contains(&events.visit_timeout_ms) {
            return Err(ConfigError {
                variable: "LIVEDASH_VISIT_TIMEOUT",
                value: get("LIVEDASH_VISIT_TIMEOUT").unwrap_or_default(),
                reason: "a visit's timeout must be between 1m and 12h".to_owned(),
            });
        }
        let alert_defaults = AlertSettings::default();
        let alerts = AlertSettings {
            history_retention_ms: duration(
                "LIVEDASH_ALERT_HISTORY_RETENTION",
                alert_defaults.history_retention_ms,
            )?,
            retry_for_ms: duration("LIVEDASH_ALERT_RETRY_FOR", alert_defaults.retry_for_ms)?,
            claim_after_ms: duration("LIVEDASH_ALERT_CLAIM_AFTER", alert_defaults.claim_after_ms)?,
            public_url: match get("LIVEDASH_PUBLIC_URL") {
                Some(url) => {
                    let url = url.trim().trim_end_matches('/').to_owned();
                    app::alerts::contact::check_url(&url).map_err(|reason| ConfigError {
                        variable: "LIVEDASH_PUBLIC_URL",
                        value: url.clone(),
                        reason,
                    })?;
                    Some(url)
                }
                None => None,
            },
            file: get("LIVEDASH_ALERTS_FILE").map(std::path::PathBuf::from),
            smtp: smtp(get("LIVEDASH_SMTP_URL"), get("LIVEDASH_SMTP_FROM"))?,
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
            series: SeriesLimits {
                total: limit("LIVEDASH_MAX_SERIES", DEFAULT_MAX_SERIES)?,
                per_metric: limit(
                    "LIVEDASH_MAX_SERIES_PER_METRIC",
                    DEFAULT_MAX_SERIES_PER_METRIC,
                )?,
            },
            query: {
                let defaults = QueryLimits::default();
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
                QueryLimits {
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
            Some(value) => TrustedProxies::parse(&value).map_err(|reason| ConfigError {
                variable: "LIVEDASH_TRUSTED_PROXIES",
                value,
                reason,
            })?,
            None => TrustedProxies::default(),
        };
        Ok(Self {
            redis_wait_replicas: super::redis::wait_replicas(get("LIVEDASH_REDIS_WAIT_REPLICAS"))?,
            instance: super::redis::instance(get("LIVEDASH_INSTANCE"), addr.port()),
            live_partitions: super::redis::live_partitions(get("LIVEDASH_LIVE_PARTITIONS"))?,
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
            alerts,
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

/// The SMTP relay of `LIVEDASH_SMTP_URL` and the sender of `LIVEDASH_SMTP_FROM`, both checked
/// as the mailer will read them.
fn smtp(url: Option<String>, from: Option<String>) -> Result<Option<SmtpSettings>, ConfigError> {
    let Some(url) = url.map(|url| url.trim().to_owned()) else {
        return match from {
            Some(from) => Err(ConfigError {
                variable: "LIVEDASH_SMTP_FROM",
                value: from,
                reason: "set LIVEDASH_SMTP_URL too: the sender is used for email sent through it"
                    .into(),
            }),
            None => Ok(None),
        };
    };
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url).map_err(|error| {
        ConfigError {
            variable: "LIVEDASH_SMTP_URL",
            // The address may carry a password.
            value: "(hidden)".into(),
            reason: format!(
                "not an SMTP relay address (smtps://user:pass@host:465, smtp://host:587?tls=required): {error}"
            ),
        }
    })?;
    let from = from.map_or_else(
        || DEFAULT_SMTP_FROM.to_owned(),
        |from| from.trim().to_owned(),
    );
    from.parse::<lettre::message::Mailbox>()
        .map_err(|error| ConfigError {
            variable: "LIVEDASH_SMTP_FROM",
            value: from.clone(),
            reason: format!("not an email address: {error}"),
        })?;
    Ok(Some(SmtpSettings { url, from }))
}

/// A share written as a percentage (`1%`, `0.1%`) or a fraction (`0.01`), in parts per million;
/// between 0.0001 % and 50 %.
fn parse_share_ppm(value: &str) -> Result<u32, String> {
    let value = value.trim();
    let (number, scale) = match value.strip_suffix('%') {
        Some(percent) => (percent.trim(), 10_000.0),
        None => (value, 1_000_000.0),
    };
    let share: f64 = number
        .parse()
        .map_err(|_| format!("a share such as `1%` or `0.01`, not {value:?}"))?;
    let ppm = (share * scale).round();
    if (1.0..=500_000.0).contains(&ppm) {
        Ok(ppm as u32)
    } else {
        Err("between 0.0001% and 50%".to_owned())
    }
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

    /// An SMTP relay is checked at start, naming the variable; the sender needs a relay.
    #[test]
    fn smtp_relays_and_senders_are_checked() {
        assert_eq!(config(&[]).unwrap().alerts.smtp, None);
        let relay = config(&[("LIVEDASH_SMTP_URL", "smtps://u:p@mail.example.com")]).unwrap();
        assert_eq!(
            relay.alerts.smtp,
            Some(SmtpSettings {
                url: "smtps://u:p@mail.example.com".into(),
                from: DEFAULT_SMTP_FROM.into()
            })
        );
        let bad = config(&[("LIVEDASH_SMTP_URL", "http://u:secret@mail.example.com")]).unwrap_err();
        assert_eq!(bad.variable, "LIVEDASH_SMTP_URL");
        assert!(!bad.to_string().contains("secret"), "{bad}");
        let sender = config(&[
            ("LIVEDASH_SMTP_URL", "smtp://127.0.0.1:25"),
            ("LIVEDASH_SMTP_FROM", "nobody"),
        ])
        .unwrap_err();
        assert_eq!(sender.variable, "LIVEDASH_SMTP_FROM");
        let alone = config(&[("LIVEDASH_SMTP_FROM", "ops@example.com")]).unwrap_err();
        assert_eq!(alone.variable, "LIVEDASH_SMTP_FROM");
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
                urls: vec!["redis://10.0.0.5:6380/2".into()],
                mode: super::super::ClusterMode::Auto,
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
            QueryLimits {
                max_keys: 5000,
                max_points: 70_000
            }
        );
        assert_eq!(
            self::config(&[]).unwrap().limits.query,
            QueryLimits::default()
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

    #[test]
    fn shares_read_as_percentages_or_fractions() {
        assert_eq!(parse_share_ppm("1%"), Ok(10_000));
        assert_eq!(parse_share_ppm(" 0.1 % "), Ok(1_000));
        assert_eq!(parse_share_ppm("0.001"), Ok(1_000));
        assert!(parse_share_ppm("0").is_err());
        assert!(parse_share_ppm("60%").is_err());
        assert!(parse_share_ppm("one").unwrap_err().contains("\"one\""));
    }
}
