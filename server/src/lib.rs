//! The livedash server: takes metrics in, keeps them in Redis, pushes changes to browsers.
//!
//! # Layout
//! - [`runtime`]: one livedash process: start-up (Redis connected or launched, the hub, the
//!   writer and the background jobs started), serving, and an orderly stop.
//! - [`http`]: the HTTP edge: the route table with the access each route needs, the router
//!   built from it, the access guard, the handlers, the server functions' backend, the one
//!   mapping of failures to responses, connection serving and rate limits.
//! - [`alerts`]: alert rules evaluated as data arrives (through the live hub's tap), their
//!   deadlines, and notifications delivered from a queue in Redis.
//! - [`jobs`]: what runs in the background and writes as a client would: livedash's own
//!   metrics and the demo.
//! - [`live`]: the single Redis subscription per process, the shared live queries, and each
//!   live socket's loop.
//! - [`ingest`]: parsing and validating what clients send (JSON, InfluxDB line protocol,
//!   StatsD, events), and the StatsD listener.
//! - [`storage`]: all Redis access; [`storage::keys`] builds every key name.
//! - [`telemetry`]: livedash's own counters and their Prometheus exposition.
//! - [`config`]: environment variables, parsed once at start-up, and the settings types.
//! - [`failure`]: the one classification of failures (invalid, not found, conflict,
//!   unavailable, internal) from which every answer's status is derived.
//! - [`testing`] (feature `testing`): a throwaway `redis-server` or Redis Cluster for tests and
//!   benchmarks.
//!
//! # Dependency rule
//!
//! A module uses only modules on lower lines, never one on its own line or above; `app` (the
//! shared types and UI) is below all of them. `docs/architecture.md` explains the layers.
//!
//! ```text
//! runtime | testing
//! http
//! jobs | alerts
//! live | ingest
//! storage
//! telemetry
//! config | failure
//! ```
// Leptos view types of the app nest deeply; the server monomorphises them.
#![recursion_limit = "512"]

pub mod alerts;
pub mod config;
pub mod failure;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod runtime;
pub mod storage;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use runtime::{Livedash, OUTPUT_NAME, StartError};
