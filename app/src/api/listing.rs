//! What the catalog's listings answer, and their limits.

use serde::{Deserialize, Serialize};

use crate::model::CurrentValue;

/// Most series one listing returns; the rest is reported as truncated.
pub const MAX_LISTED_SERIES: usize = 10_000;

/// The current value of every series (up to [`MAX_LISTED_SERIES`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ValueListing {
    /// Sorted by series.
    pub values: Vec<CurrentValue>,
    /// True when more series exist than were listed.
    pub truncated: bool,
}

/// Most names one autocomplete answer offers.
pub const MAX_SUGGESTED_NAMES: usize = 20;
