//! Throwaway Redis for integration tests and benchmarks: a `redis-server` on a free port, or a
//! Redis Cluster of several (with replicas for failover tests), no persistence unless asked
//! for, stopped on drop; and the configuration tests start livedash with. The binary can be
//! overridden with `LIVEDASH_TEST_REDIS_SERVER`; `LIVEDASH_TEST_TOPOLOGY` (`standalone`,
//! `cluster1`: one node owning every slot, which refuses every cross-slot command; `cluster3`:
//! three masters) chooses what [`RedisServer::start`] starts, so that every suite runs on each.
//! Tests of several nodes' behaviour (failover) start a [`RedisCluster`] themselves.
//! Nothing here touches a Redis it did not start itself.

mod cluster;
mod node;
mod redis_server;

pub use cluster::RedisCluster;
pub use redis_server::{RedisServer, TestConnection, Topology};

use std::net::{Ipv4Addr, TcpListener};

/// Configuration read from `vars` alone, not the environment (a later entry overrides an earlier
/// one), as tests and benchmarks set it; livedash's own metrics, access control and its limits
/// are off unless `vars` turn them on.
///
/// # Panics
/// A variable is unusable.
#[must_use]
pub fn config(vars: &[(&str, String)]) -> crate::config::Config {
    crate::config::Config::from_lookup(|name| {
        vars.iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
            // Tests see only the series they write, unless they ask for livedash's own; access
            // control and limits are tested on their own (tests/access.rs), so others run
            // without them.
            .or_else(|| {
                matches!(
                    name,
                    "LIVEDASH_SELF_METRICS"
                        | "LIVEDASH_AUTH"
                        | "LIVEDASH_RATE_LIMIT"
                        | "LIVEDASH_AUTH_FAILURE_LIMIT"
                        | "LIVEDASH_LIVE_SOCKETS_PER_ADDRESS"
                )
                .then(|| "off".to_owned())
            })
    })
    .expect("a valid test configuration")
}

/// A port nobody listens on right now.
///
/// # Panics
/// The machine has no free port.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}
