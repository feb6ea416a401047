//! One subscription of one socket, as a feed keeps it.

use std::time::Instant;

use app::live::SubscriptionId;

use crate::live::outbox::Outbox;

/// One subscription of one socket.
#[derive(Clone)]
pub struct Member {
    pub socket: u64,
    pub subscription: SubscriptionId,
    pub outbox: Outbox,
    /// Since when its queue has been full (it is being skipped), if it is.
    pub(super) behind_since: Option<Instant>,
}

impl Member {
    pub fn new(socket: u64, subscription: SubscriptionId, outbox: Outbox) -> Self {
        Self {
            socket,
            subscription,
            outbox,
            behind_since: None,
        }
    }
}
