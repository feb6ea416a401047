//! The JSON bodies of the server functions anyone can reach (the share link's, the query every
//! chart runs and the analytics every analytics widget runs), decoded as server_fn decodes them: a body that does not decode is the
//! request's fault (a 400 that says why); one that does must plan within the limits.

#![no_main]

use app::api::{Analytics, ApiError, RunQuery, SharedDashboard};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use libfuzzer_sys::fuzz_target;
use livedash_fuzz::{NOW_MS, check_planned};

/// What server_fn makes of a body it cannot decode must be a 400 naming the problem.
fn refused(error: serde_json::Error) {
    let error =
        ApiError::from_server_fn_error(ServerFnErrorErr::Deserialization(error.to_string()));
    assert_eq!(error.status(), 400, "{error:?}");
    assert!(error.to_string().contains("could not be read"), "{error}");
}

fuzz_target!(|data: &[u8]| {
    match serde_json::from_slice::<RunQuery>(data) {
        Ok(arguments) => {
            for series in [1, 2_000] {
                check_planned(&arguments.query, NOW_MS, series);
            }
        }
        Err(error) => refused(error),
    }
    if let Err(error) = serde_json::from_slice::<SharedDashboard>(data) {
        refused(error);
    }
    match serde_json::from_slice::<Analytics>(data) {
        Ok(arguments) => {
            if let app::events::AnalyticsQuery::Heatmap {
                from, to, step_ms, ..
            } = arguments.query
                && server::storage::plan::check_times(from, to).is_ok()
            {
                let query = app::query::Query {
                    selector: app::query::Selector {
                        name: "h".into(),
                        matchers: Vec::new(),
                    },
                    range: app::query::TimeRange::Absolute { from, to },
                    step_ms: Some(step_ms),
                    aggregation: app::query::Aggregation::Quantile { q: 0.5 },
                    group_by: None,
                };
                check_planned(&query, NOW_MS, 100);
            }
        }
        Err(error) => refused(error),
    }
});
