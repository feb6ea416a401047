//! What analytics keeps per process: its settings, the lock that serialises funnel
//! counting, what it remembers of web analytics' users and sites, and the day's salt.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::config::EventSettings;
use crate::storage::web::cache::{SaltCache, SiteCache, UserCache};

/// The state analytics keeps per process.
#[derive(Clone, Default)]
pub(crate) struct EventState {
    pub(crate) settings: EventSettings,
    /// Funnel progress is read, recomputed and written back; one batch at a time in a process,
    /// so two requests with the same user's events cannot both count them.
    pub(super) funnel_lock: Arc<Mutex<()>>,
    pub(crate) users: Arc<UserCache>,
    pub(crate) salt: Arc<SaltCache>,
    pub(crate) sites: Arc<SiteCache>,
}

impl EventState {
    pub(crate) fn new(settings: EventSettings) -> Self {
        Self {
            settings,
            funnel_lock: Arc::default(),
            users: Arc::default(),
            salt: Arc::default(),
            sites: Arc::default(),
        }
    }
}
