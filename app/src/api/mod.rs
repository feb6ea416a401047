//! Server functions, the error type they share with the browser, and (under `ssr`) the backend
//! trait through which they reach storage and the way each is served.

#[cfg(feature = "ssr")]
pub mod backend;
mod csrf_client;
mod error;
mod functions;
mod listing;
#[cfg(feature = "ssr")]
mod serve;

pub use csrf_client::CsrfClient;
pub use error::ApiError;
// Every server function, with the type leptos makes of each.
pub use functions::*;
pub use listing::{MAX_LISTED_SERIES, MAX_SUGGESTED_NAMES, ValueListing};
