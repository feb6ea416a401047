//! Live push: one Redis subscription per process ([`hub`]), one shared computation per distinct
//! live query ([`feed`]), and the WebSocket protocol to clients ([`socket`]).

pub mod feed;
pub mod hub;
pub mod socket;

pub use hub::Hub;
