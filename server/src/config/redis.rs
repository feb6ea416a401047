//! Which Redis livedash uses (`REDIS_URL`, `LIVEDASH_REDIS_CLUSTER`), and the name this process
//! gives itself among several (`LIVEDASH_INSTANCE`).

use std::path::PathBuf;

use super::error::ConfigError;

/// Where Redis comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisSource {
    /// Servers someone else runs, from `REDIS_URL`: one server, or seed nodes of a Redis Cluster.
    External {
        /// Each seed's URL, in the order given.
        urls: Vec<String>,
        /// Whether they are a cluster.
        mode: ClusterMode,
    },
    /// A `redis-server` child that livedash starts, supervises and stops.
    Managed {
        /// The executable to run.
        executable: PathBuf,
        /// Its data directory.
        data_dir: PathBuf,
    },
}

/// Whether `REDIS_URL` names a Redis Cluster (`LIVEDASH_REDIS_CLUSTER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterMode {
    /// Asked of the first seed that answers (`INFO cluster`).
    Auto,
    /// A cluster.
    On,
    /// A single server (or a proxy that looks like one).
    Off,
}

/// Reads `REDIS_URL` (comma-separated seeds) and `LIVEDASH_REDIS_CLUSTER`.
pub(super) fn external(urls: &str, mode: Option<String>) -> Result<RedisSource, ConfigError> {
    let invalid = |reason: String| ConfigError {
        variable: "REDIS_URL",
        value: urls.to_owned(),
        reason,
    };
    let seeds: Vec<String> = urls
        .split(',')
        .map(str::trim)
        .filter(|seed| !seed.is_empty())
        .map(str::to_owned)
        .collect();
    for seed in &seeds {
        redis::Client::open(seed.as_str()).map_err(|error| {
            invalid(format!(
                "{seed}: {error}; expected redis://[user:password@]host[:port][/db] or \
                 redis+unix:///path, several separated by commas for a Redis Cluster"
            ))
        })?;
    }
    let mode = match mode.as_deref().map(str::trim) {
        None | Some("auto") => ClusterMode::Auto,
        Some("on") => ClusterMode::On,
        Some("off") => ClusterMode::Off,
        Some(other) => {
            return Err(ConfigError {
                variable: "LIVEDASH_REDIS_CLUSTER",
                value: other.to_owned(),
                reason: "expected auto, on or off".into(),
            });
        }
    };
    if seeds.len() > 1 && mode == ClusterMode::Off {
        return Err(invalid(
            "several servers are only usable as the seed nodes of a Redis Cluster, and \
             LIVEDASH_REDIS_CLUSTER is off"
                .into(),
        ));
    }
    if mode != ClusterMode::Off {
        for seed in &seeds {
            let db = redis::Client::open(seed.as_str())
                .map(|client| client.get_connection_info().redis_settings().db())
                .unwrap_or(0);
            if db != 0 && (seeds.len() > 1 || mode == ClusterMode::On) {
                return Err(invalid(format!(
                    "{seed} names database {db}, and a Redis Cluster has only database 0"
                )));
            }
        }
    }
    Ok(RedisSource::External { urls: seeds, mode })
}

/// How many replicas must have a write before it is acknowledged
/// (`LIVEDASH_REDIS_WAIT_REPLICAS`, default 0).
pub(super) fn wait_replicas(set: Option<String>) -> Result<u32, ConfigError> {
    let Some(set) = set else { return Ok(0) };
    set.trim().parse().map_err(|_| ConfigError {
        variable: "LIVEDASH_REDIS_WAIT_REPLICAS",
        value: set.clone(),
        reason: "expected a number of replicas (0 to not wait)".into(),
    })
}

/// Most change-log partitions.
const MAX_LIVE_PARTITIONS: usize = 64;

/// How many partitions the change log is spread over (`LIVEDASH_LIVE_PARTITIONS`): `None`
/// for `auto` (the default: one on a single Redis, [`CLUSTER_LIVE_PARTITIONS`] on a
/// cluster).
pub(super) fn live_partitions(set: Option<String>) -> Result<Option<usize>, ConfigError> {
    let Some(set) = set else { return Ok(None) };
    if set.trim() == "auto" {
        return Ok(None);
    }
    match set.trim().parse::<usize>() {
        Ok(count) if (1..=MAX_LIVE_PARTITIONS).contains(&count) => Ok(Some(count)),
        _ => Err(ConfigError {
            variable: "LIVEDASH_LIVE_PARTITIONS",
            value: set.clone(),
            reason: format!("expected auto or a number from 1 to {MAX_LIVE_PARTITIONS}"),
        }),
    }
}

/// Change-log partitions on a Redis Cluster unless set: enough to spread the live stream over
/// the masters of a cluster of up to eight, few enough that each process's subscriptions stay
/// cheap.
pub const CLUSTER_LIVE_PARTITIONS: usize = 8;

/// This process's name in its own metrics (`LIVEDASH_INSTANCE`): by default the host's name and
/// the port it listens on, or its process id when the port is chosen by the system, so that
/// several processes never write into one series.
pub(super) fn instance(set: Option<String>, port: u16) -> String {
    if let Some(set) = set {
        return set.trim().to_owned();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    if port == 0 {
        format!("{host}/{}", std::process::id())
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeds are split on commas; a cluster refuses numbered databases and `off` with seeds.
    #[test]
    fn seeds() {
        assert_eq!(
            external("redis://a:1, redis://b:2,", None).unwrap(),
            RedisSource::External {
                urls: vec!["redis://a:1".into(), "redis://b:2".into()],
                mode: ClusterMode::Auto
            }
        );
        let error = external("redis://a:1/3,redis://b:2", None).unwrap_err();
        assert!(error.reason.contains("database 3"), "{error}");
        let error = external("redis://a:1/3", Some("on".into())).unwrap_err();
        assert!(error.reason.contains("only database 0"), "{error}");
        assert!(external("redis://a:1/3", None).is_ok());
        let error = external("redis://a:1,redis://b:2", Some("off".into())).unwrap_err();
        assert!(error.reason.contains("seed nodes"), "{error}");
        let error = external("redis://a:1", Some("yes".into())).unwrap_err();
        assert_eq!(error.variable, "LIVEDASH_REDIS_CLUSTER");
        let error = external("http://a:1", None).unwrap_err();
        assert!(error.reason.contains("http://a:1"), "{error}");
    }

    /// The replica count is a number.
    #[test]
    fn replicas() {
        assert_eq!(wait_replicas(None).unwrap(), 0);
        assert_eq!(wait_replicas(Some(" 1".into())).unwrap(), 1);
        let error = wait_replicas(Some("one".into())).unwrap_err();
        assert_eq!(error.variable, "LIVEDASH_REDIS_WAIT_REPLICAS");
    }

    /// Partitions are auto or 1 to 64; anything else names the variable.
    #[test]
    fn live_partitions_are_bounded() {
        assert_eq!(live_partitions(None).unwrap(), None);
        assert_eq!(live_partitions(Some("auto".into())).unwrap(), None);
        assert_eq!(live_partitions(Some(" 6 ".into())).unwrap(), Some(6));
        for bad in ["0", "65", "many", "-1"] {
            let error = live_partitions(Some(bad.into())).unwrap_err();
            assert_eq!(error.variable, "LIVEDASH_LIVE_PARTITIONS", "{bad}");
        }
    }

    /// A set instance name wins; otherwise host and port, or host and process id.
    #[test]
    fn instance_names() {
        assert_eq!(instance(Some(" web-1 ".into()), 3000), "web-1");
        assert!(instance(None, 3000).ends_with(":3000"));
        assert!(instance(None, 0).ends_with(&format!("/{}", std::process::id())));
    }
}
