//! What a feed task is asked to do, and the changes the hub routes to it.

use std::sync::Arc;

use app::live::{Cursor, SubscriptionId};
use app::model::SeriesKey;
use tokio::sync::oneshot;

use super::member::Member;
use crate::storage::changes::{Changed, Stamp};

/// A change the hub routed to this feed: the series' key and what was written.
#[derive(Debug)]
pub struct Routed {
    pub key: SeriesKey,
    pub change: Changed,
}

/// What a feed task is asked to do.
pub enum Command {
    /// Series of this feed were written, as recorded at `stamp`.
    Changed {
        stamp: Stamp,
        changes: Vec<Arc<Routed>>,
    },
    /// A subscription joins; `after` is the cursor it already holds. The answer says whether
    /// it joined, or why not.
    Join {
        member: Member,
        after: Option<Cursor>,
        joined: oneshot::Sender<Result<(), String>>,
    },
    /// A subscription leaves.
    Leave {
        socket: u64,
        subscription: SubscriptionId,
    },
    /// Updates may have been missed (the hub's subscription dropped): re-read the whole window,
    /// as of at least `cursor`.
    Refresh { cursor: Cursor },
}
