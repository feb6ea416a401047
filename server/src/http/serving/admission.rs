//! The per-address count of connections that have not signed in (nor become live sockets).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::config::proxies::TrustedProxies;

use super::refusal::ConnectionError;

/// Connections per address that have not signed in.
pub(super) struct Admission {
    pub(super) limit: Option<usize>,
    pub(super) trusted: TrustedProxies,
    pub(super) pending: Mutex<HashMap<IpAddr, usize>>,
}

impl Admission {
    /// Counts one more connection from `address`; `Ok(None)` when such connections are not
    /// counted.
    pub(super) fn admit(
        self: &Arc<Self>,
        address: IpAddr,
    ) -> Result<Option<Pending>, ConnectionError> {
        let address = address.to_canonical();
        let Some(limit) = self.limit else {
            return Ok(None);
        };
        if self.trusted.trusts(address) {
            return Ok(None);
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let count = pending.entry(address).or_insert(0);
        if *count >= limit {
            return Err(ConnectionError::TooManyPending { limit });
        }
        *count += 1;
        Ok(Some(Pending {
            admission: self.clone(),
            address,
        }))
    }
}

/// Counts a connection against its address until it signs in, becomes a live socket or ends.
pub(super) struct Pending {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut pending = self
            .admission
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = pending.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                pending.remove(&self.address);
            }
        }
    }
}
