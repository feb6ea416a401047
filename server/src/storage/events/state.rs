//! What analytics keeps per process: its settings and the lock that serialises funnel
//! counting.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::config::EventSettings;

/// The state analytics keeps per process.
#[derive(Clone, Default)]
pub(crate) struct EventState {
    pub(crate) settings: EventSettings,
    /// Funnel progress is read, recomputed and written back; one batch at a time in a process,
    /// so two requests with the same user's events cannot both count them.
    pub(super) funnel_lock: Arc<Mutex<()>>,
}

impl EventState {
    pub(crate) fn new(settings: EventSettings) -> Self {
        Self {
            settings,
            funnel_lock: Arc::default(),
        }
    }
}
