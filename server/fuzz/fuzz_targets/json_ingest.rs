//! JSON ingest bodies: metric batches (`/api/ingest`) and analytics events (`/api/events`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use livedash_fuzz::{NOW_MS, check_event, check_storable};
use server::ingest::events::parse_events;
use server::ingest::json::{BatchError, ParsedItems, parse_batch};

/// Every item is either accepted or rejected, once, in batch order.
fn check_partition<T>(parsed: &ParsedItems<T>) {
    let accepted = parsed.accepted.iter().map(|(index, _)| *index);
    let rejected = parsed.rejected.iter().map(|item| item.index);
    let mut all: Vec<usize> = accepted.chain(rejected).collect();
    assert!(
        parsed.accepted.windows(2).all(|w| w[0].0 < w[1].0),
        "accepted out of order"
    );
    assert!(
        parsed.rejected.windows(2).all(|w| w[0].index < w[1].index),
        "rejected out of order"
    );
    all.sort_unstable();
    assert!(
        all.iter().enumerate().all(|(i, index)| i == *index),
        "items lost or doubled: {all:?}"
    );
    assert!(
        parsed.rejected.iter().all(|item| !item.error.is_empty()),
        "a refusal without a message"
    );
}

fn check_malformed(error: &BatchError) {
    assert!(!error.to_string().is_empty());
}

/// Small, so that the limit's refusal is reached too.
const MAX_ITEMS: usize = 64;

/// No more items than the limit come out.
fn check_limit<T>(parsed: &ParsedItems<T>) {
    assert!(parsed.accepted.len() + parsed.rejected.len() <= MAX_ITEMS);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        match parse_batch(body, NOW_MS, MAX_ITEMS) {
            Ok(parsed) => {
                check_partition(&parsed);
                check_limit(&parsed);
                for (_, observation) in &parsed.accepted {
                    check_storable(&observation.series);
                }
            }
            Err(error) => check_malformed(&error),
        }
    } else {
        match parse_events(body, NOW_MS, MAX_ITEMS) {
            Ok(parsed) => {
                check_partition(&parsed);
                check_limit(&parsed);
                for (_, event) in &parsed.accepted {
                    check_event(event);
                }
            }
            Err(error) => check_malformed(&error),
        }
    }
});
