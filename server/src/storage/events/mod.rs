//! Analytics events in Redis: rankings of property values per bucket, the raw event log,
//! funnels (with their flow by minute, which alert rules read) and experiments, and one user
//! taken out of them. (Counts per event and unique users per bucket are ordinary counter and
//! set series, written through the metrics engine: see [`event_observations`].)

mod definitions;
mod demo;
mod error;
mod flow;
mod forget;
mod log_rewrite;
mod raw_log;
mod record;
mod reports;
mod state;

pub use crate::config::EventSettings;
pub use error::AnalyticsError;
pub use flow::{Flow, conversion};
pub use record::event_observations;
pub(crate) use state::EventState;
