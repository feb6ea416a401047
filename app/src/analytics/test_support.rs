//! What the statistics' tests share: comparing floating-point results within a relative
//! tolerance.

/// Asserts `actual` is within `rel` (relative) of `expected`.
pub(super) fn close(actual: f64, expected: f64, rel: f64) {
    let tol = rel * expected.abs().max(f64::MIN_POSITIVE);
    let ok = (actual - expected).abs() <= tol;
    assert!(ok, "{actual:e} vs {expected:e}");
}
