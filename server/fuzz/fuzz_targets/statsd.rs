//! StatsD / DogStatsD packets, as the UDP listener reads them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use livedash_fuzz::check_storable;
use server::ingest::statsd::parse_packet;

fuzz_target!(|data: &[u8]| {
    // As the listener does: a packet is read as UTF-8, invalid bytes replaced.
    let packet = String::from_utf8_lossy(data);
    let (samples, errors) = parse_packet(&packet);
    for (line, problem) in &errors {
        assert!(
            line.chars().count() <= 200,
            "an error quotes {} chars",
            line.chars().count()
        );
        assert!(!problem.is_empty(), "an error without a message");
    }
    for sample in samples {
        if sample.series.validate().is_ok() {
            check_storable(&sample.series);
        }
    }
});
