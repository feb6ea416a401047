//! The one clock: milliseconds since the Unix epoch (the browser's clock in the browser).
//! A leaf: depends on nothing in the workspace.

/// Now, in ms since the Unix epoch; 0 before 1970, `i64::MAX` past the year 292 million.
#[must_use]
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
}
