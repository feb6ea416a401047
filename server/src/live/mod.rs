//! Live push: one Redis subscription per process ([`hub`]), one shared computation per distinct
//! live query ([`feed`]), each socket's queue ([`outbox`]) and the WebSocket loop that drains it
//! ([`socket`]).

pub mod feed;
pub mod hub;
pub mod outbox;
pub mod socket;

pub use hub::{Hub, Tapped, TappedSeries};
