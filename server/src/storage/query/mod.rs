//! Range queries: pick the storage tier, read raw points or rollup buckets, combine them per
//! step and per group.
//!
//! The tier is the coarsest whose bucket width fits in the step (raw points below 10 s), and
//! the step is rounded up to a whole number of buckets, so every bucket falls in exactly one
//! step. The still-open bucket is read like any other, so the newest step is live. Quantiles
//! merge the sketches of every bucket in a step (never an average of quantiles); unique counts
//! union the buckets' HyperLogLogs (never a sum).

mod accumulate;
mod codec;
mod compile;
mod compute;
mod error;
mod heatmap;
mod read;
mod resolve;
mod window;

pub use crate::storage::plan::{DEFAULT_POINTS, MAX_POINTS, Plan};
pub(crate) use codec::Bucket;
pub use codec::chunk_bucket_count;
pub(crate) use compile::CompiledSelector;
pub use error::{MAX_QUERY_SERIES, QueryError};
pub use heatmap::HEATMAP_ROWS;
pub use resolve::Resolved;
pub use window::{GroupSeries, GroupValue, group_labels};
