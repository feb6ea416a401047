//! All Redis access: writing samples (raw points, rollups, current values), reading them back
//! for queries and listings, dashboards, analytics, access and share links, and checking that
//! Redis is there. Files by job; this one only declares them and re-exports what the layers
//! above use.

pub mod access;
mod admission;
pub mod alerts;
pub mod catalog;
pub mod changes;
mod connection;
pub mod dashboards;
mod error;
pub mod events;
mod fold;
mod hll;
pub mod keys;
pub mod layout;
mod listing;
mod partitions;
pub mod people;
pub mod plan;
pub mod query;
pub mod retention;
mod salt;
mod scripts;
pub mod seen;
mod series_cache;
pub mod sharded;
pub mod shares;
pub mod sketch;
mod slots;
mod store;
mod target;
mod usage_clock;
pub mod visits;
mod web;
mod write;
pub mod writer;

pub use crate::config::SeriesLimits;
pub use admission::MAX_ABS_VALUE;
pub use error::StorageError;
pub use keys::{Keys, SeriesId};
pub use store::{DEFAULT_RESUME_WINDOW_MS, Store};
pub use target::{DedicatedConnection, RedisTarget};
pub use write::{Token, WriteOutcome, idempotency_token};
