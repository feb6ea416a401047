//! Pure product-analytics logic: A/B test statistics, stable variant assignment and funnels.
//!
//! Everything here is deterministic, allocation-light and free of I/O so that the server and the
//! browser compute the same numbers. Only `std` is used; serialisation is the caller's business.
//!
//! # Contents
//! - [`normal`]: the normal distribution, [`normal_cdf`] and [`inverse_normal_cdf`].
//! - [`experiments`]: conversion experiments' intervals, p-values and per-variant results.
//! - [`assignment`]: stable variant assignment.
//! - [`funnels`]: the funnel rule and medians.

pub mod assignment;
pub mod experiments;
pub mod funnels;
pub mod normal;
#[cfg(test)]
mod test_support;

pub use assignment::{assign_variant, assignment_hash};
pub use experiments::{
    DEFAULT_TAU2, MIN_OUTCOMES_PER_ARM, MIN_USERS_PER_ARM, VariantCounts, VariantResult,
    always_valid_p_value, chi_square_survival, difference_interval, experiment_results,
    sample_ratio_p_value, too_small, two_proportion_p_value, wilson_interval,
};
pub use funnels::{FunnelOutcome, funnel_outcome, median};
pub use normal::{Z_95, inverse_normal_cdf, normal_cdf};
