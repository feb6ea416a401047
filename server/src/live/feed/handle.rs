//! The hub's handle on a feed task: starting the task and sending it commands.

use std::sync::Arc;

use app::live::{Cursor, LiveQuery};
use tokio::sync::mpsc;

use super::command::Command;
use super::home::Home;
use super::matcher::Matcher;
use super::state::{Feed, Pending, State};

/// The hub's handle on a feed task.
#[derive(Clone)]
pub struct FeedHandle {
    pub id: u64,
    pub matcher: Arc<Matcher>,
    commands: mpsc::UnboundedSender<Command>,
}

impl FeedHandle {
    /// Starts the task for `query`; it registers nothing itself (the hub does).
    pub(in crate::live) fn spawn(
        id: u64,
        key: String,
        query: LiveQuery,
        matcher: Arc<Matcher>,
        shared: Arc<dyn Home>,
    ) -> Self {
        let (commands, inbox) = mpsc::unbounded_channel();
        let feed = Feed {
            id,
            key,
            query,
            matcher: matcher.clone(),
            store: shared.store().clone(),
            config: shared.config(),
            shared,
            state: State::default(),
            position: Cursor::default(),
            loaded_at: Cursor::default(),
            sent: Cursor::default(),
            members: Vec::new(),
            pending: Pending::default(),
            last_flush: None,
            failed: None,
        };
        tokio::spawn(feed.run(inbox));
        Self {
            id,
            matcher,
            commands,
        }
    }

    /// Sends a command; false when the feed has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}
