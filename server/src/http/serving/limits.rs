//! The limits connections are served under: the timeouts, and the cap per address before
//! signing in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::ConnectionConfig;
use crate::config::proxies::TrustedProxies;

use super::admission::Admission;

/// How connections are limited: the timeouts, and the cap per address before signing in.
#[derive(Clone)]
pub struct ConnectionLimits {
    pub(super) timeouts: Timeouts,
    pub(super) admission: Arc<Admission>,
}

impl ConnectionLimits {
    /// The limits of `config`; connections from `trusted` proxies carry many clients, so they
    /// are not counted against the proxy's address (the proxy should limit its own clients).
    #[must_use]
    pub fn new(config: &ConnectionConfig, trusted: TrustedProxies) -> Self {
        let duration = |ms: i64| Duration::from_millis(ms.unsigned_abs());
        Self {
            timeouts: Timeouts {
                header: duration(config.header_timeout_ms),
                body: duration(config.body_timeout_ms),
                idle: duration(config.idle_timeout_ms),
            },
            admission: Arc::new(Admission {
                limit: config.per_address,
                trusted,
                pending: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How many connections from `address` have not signed in yet.
    #[must_use]
    pub fn pending(&self, address: IpAddr) -> usize {
        self.admission
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&address.to_canonical())
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    pub(super) header: Duration,
    pub(super) body: Duration,
    pub(super) idle: Duration,
}
