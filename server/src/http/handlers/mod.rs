//! The HTTP handlers: each turns a request into a call on the layers below and its answer.

pub mod alerts;
pub mod catalog;
pub mod dashboards;
pub mod health;
pub mod influx;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod people;
