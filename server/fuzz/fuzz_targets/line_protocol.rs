//! InfluxDB line protocol bodies (`/write`, `/api/v2/write`), in every precision.

#![no_main]

use app::model::Observed;
use libfuzzer_sys::fuzz_target;
use livedash_fuzz::{NOW_MS, check_storable};
use server::ingest::line_protocol::{LineLimits, MAX_KEPT_LINE_ERRORS, Precision, parse};
use server::storage::MAX_ABS_VALUE;

const PRECISIONS: [Precision; 6] = [
    Precision::Nanoseconds,
    Precision::Microseconds,
    Precision::Milliseconds,
    Precision::Seconds,
    Precision::Minutes,
    Precision::Hours,
];

/// Small, so that the limits' refusals are reached too.
const LIMITS: LineLimits = LineLimits {
    max_samples: 64,
    max_series_bytes: 4096,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // Bytes that are not UTF-8 refuse their line only, so any body is parsed.
    let Ok(parsed) = parse(
        body,
        PRECISIONS[usize::from(selector) % PRECISIONS.len()],
        NOW_MS,
        LIMITS,
    ) else {
        return;
    };
    let lines = body.split(|byte| *byte == b'\n').count();
    assert!(parsed.points.len() <= LIMITS.max_samples);
    assert!(parsed.errors.len() <= MAX_KEPT_LINE_ERRORS.min(parsed.refused_lines));
    assert!(
        parsed.errors.windows(2).all(|w| w[0].line < w[1].line),
        "errors out of order"
    );
    for error in &parsed.errors {
        assert!(
            (1..=lines).contains(&error.line),
            "error on line {}",
            error.line
        );
        assert!(!error.error.is_empty(), "an error without a message");
    }
    let mut series_bytes = 0;
    for point in &parsed.points {
        assert!(
            (1..=lines).contains(&point.line),
            "point from line {}",
            point.line
        );
        assert!(
            parsed.errors.iter().all(|error| error.line != point.line),
            "line {} both refused and taken",
            point.line
        );
        let series = &point.observation.series;
        series_bytes += series.name.len()
            + series
                .labels
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        match point.observation.value {
            Observed::Number(value) => assert!(value.abs() <= MAX_ABS_VALUE, "{value}"),
            ref other => panic!("a line sample of {other:?}"),
        }
        check_storable(series);
    }
    // The limit counts the names as sent; a metric name may gain a `_` in front.
    assert!(
        series_bytes <= LIMITS.max_series_bytes + parsed.points.len(),
        "{series_bytes}"
    );
});
