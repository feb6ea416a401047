//! InfluxDB line protocol bodies (`/write`, `/api/v2/write`), in every precision.

#![no_main]

use app::model::Sample;
use libfuzzer_sys::fuzz_target;
use livedash_fuzz::{NOW_MS, check_storable};
use server::ingest::line_protocol::{Precision, parse};

const PRECISIONS: [Precision; 6] = [
    Precision::Nanoseconds,
    Precision::Microseconds,
    Precision::Milliseconds,
    Precision::Seconds,
    Precision::Minutes,
    Precision::Hours,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // The handler refuses bodies that are not UTF-8 before parsing.
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    let parsed = parse(body, PRECISIONS[usize::from(selector) % PRECISIONS.len()]);
    let lines = body.split('\n').count();
    for error in &parsed.errors {
        assert!(
            (1..=lines).contains(&error.line),
            "error on line {}",
            error.line
        );
        assert!(!error.error.is_empty(), "an error without a message");
    }
    for point in parsed.points {
        assert!(
            (1..=lines).contains(&point.line),
            "point from line {}",
            point.line
        );
        // The same validation the write handler applies to each point.
        if let Ok(observation) = Sample::gauge(point.series, point.value, point.ts).validate(NOW_MS)
        {
            check_storable(&observation.series);
        }
    }
});
