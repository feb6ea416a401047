//! Live push: one Redis subscription per process ([`hub`]) fanned out to WebSockets ([`socket`]).

pub mod hub;
pub mod socket;

pub use hub::{Hub, HubEvent};
