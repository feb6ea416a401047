//! Which numbers livedash stores: finite, and within [`MAX_ABS_VALUE`] so that totals stay finite.

use crate::storage::MAX_ABS_VALUE;

/// `value` if livedash stores it: finite and within [`MAX_ABS_VALUE`]; otherwise why not.
///
/// # Errors
/// NaN, an infinity, or a magnitude beyond [`MAX_ABS_VALUE`].
pub fn storable(value: f64) -> Result<f64, String> {
    if !value.is_finite() {
        return Err(format!("{value} is not a finite number"));
    }
    if value.abs() > MAX_ABS_VALUE {
        return Err(format!(
            "{value:e} is beyond ±{MAX_ABS_VALUE:e}, the largest magnitude livedash stores (so \
             that totals and sums of values stay finite)"
        ));
    }
    Ok(value)
}
