//! Ingest protocols: parsing and validating what clients send, before it reaches storage
//! (JSON batches, InfluxDB line protocol, StatsD with its UDP listener, analytics events, and
//! what a page view tells about its visit: source and device).

pub mod events;
pub mod json;
pub mod line_protocol;
mod names;
pub mod statsd;
mod too_large;
mod value;
pub mod web;

pub use names::{label_name_from, metric_name_from, metric_name_from_parts};
pub use too_large::TooLarge;
pub use value::storable;
