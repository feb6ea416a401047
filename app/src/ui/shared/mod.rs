//! What several pages use: the browser-side plumbing (JSON reading, the live socket, tasks), the
//! live connection's status, who the browser is, and the metric name picker.

pub mod browser;
pub mod identity;
pub mod json;
#[cfg(feature = "hydrate")]
pub mod live_socket;
pub mod metric_picker;
pub mod status;
