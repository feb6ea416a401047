//! `GET /api/v1/query`'s parameters as a client may send them, read as the server reads them
//! and planned: whatever is accepted must plan within the limits, and nothing may panic or
//! overflow (the targets are built with overflow checks).

#![no_main]

use app::query::Aggregation;
use libfuzzer_sys::fuzz_target;
use livedash_fuzz::{NOW_MS, check_planned};
use server::http::query_params::QueryParams;

fuzz_target!(|data: &[u8]| {
    // axum's `Query` extractor reads the query string with serde_urlencoded, as here.
    let Ok(params) = serde_urlencoded::from_bytes::<QueryParams>(data) else {
        return;
    };
    let query = match params.into_query() {
        Ok(query) => query,
        Err(bad) => {
            assert!(!bad.reason.is_empty(), "a refusal without a reason");
            return;
        }
    };
    // The series count is the only thing storage adds to the plan; try a few.
    for series in [0, 1, 37, 2_000] {
        check_planned(&query, NOW_MS, series);
    }
    let _ = Aggregation::from_name("avg");
});
