//! What a feed needs from the hub that runs it, as a trait, so that feeds do not depend on the
//! hub (which holds them): the store and settings, shutdown, and leaving the registry.

use tokio_util::sync::CancellationToken;

use crate::config::LiveConfig;
use crate::storage::Store;

/// The hub, as its feeds see it.
pub trait Home: Send + Sync + 'static {
    /// Where the feed reads.
    fn store(&self) -> &Store;
    /// The live settings.
    fn config(&self) -> LiveConfig;
    /// Cancelled when the server shuts down.
    fn shutdown(&self) -> &CancellationToken;
    /// Takes feed `id` out of the registry under `key`, if it is still the one there; whether
    /// it was.
    fn remove_feed(&self, key: &str, id: u64) -> bool;
    /// Counts a socket closed because it fell behind.
    fn slow_client_closed(&self);
}
