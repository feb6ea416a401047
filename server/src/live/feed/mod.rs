//! A feed: one distinct live query, computed once per frame for all the viewers that share it.
//!
//! Each feed is a task that owns the query's current state (the buckets of its window, or the
//! newest values) and its members (subscriptions of sockets). The hub hands it the changes
//! that concern it; at most once per frame it re-reads only the changed time span, compares
//! with its state, and sends the buckets that differ to every member as one serialized delta.
//! Joins are handled by the same task between frames, so a member's snapshot or catch-up and
//! the deltas that follow line up exactly. A member whose queue is full is skipped, then sent
//! the whole state once it has room again (coalesced), and closed if it stays behind.

mod catch_up;
mod command;
mod delivery;
mod handle;
mod home;
mod matcher;
mod member;
mod read;
mod state;
mod task;

pub use command::{Command, Routed};
pub use handle::FeedHandle;
pub use home::Home;
pub use matcher::Matcher;
pub use member::Member;
