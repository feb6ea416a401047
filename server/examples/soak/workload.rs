//! The load: how much of each kind of traffic is sent and watched, and the bodies sent. The
//! random parts come from fixed seeds, so every run sends the same workload.

use std::fmt::Write as _;
use std::time::Duration;

use app::random::Rng;
use serde_json::json;

use crate::support::clock_ms;

// JSON ingest: 200 series (100 gauges in 10 groups, 50 counters and 50 histograms by route), a
// batch of 100 of them every 50 ms (2 000 points/s, each series 10 a second), plus one point of
// the send-time series in every batch.
pub const GAUGES: usize = 100;
pub const GAUGE_GROUPS: usize = 10;
pub const ROUTES: usize = 50;
pub const JSON_SERIES: usize = GAUGES + 2 * ROUTES;
pub const JSON_EVERY: Duration = Duration::from_millis(50);
pub const JSON_BATCH: usize = 100;
/// The series whose values are the time their request was sent ([`clock_ms`]).
pub const CLOCK_METRIC: &str = "soak_clock";

// InfluxDB line protocol: 50 hosts in 5 regions, one line of three fields each every 100 ms.
pub const INFLUX_EVERY: Duration = Duration::from_millis(100);
pub const INFLUX_HOSTS: usize = 50;
pub const REGIONS: usize = 5;
pub const INFLUX_FIELDS: usize = 3;

// StatsD: 50 lines every 100 ms (counters, timers, gauges, sets in turn), 10 to a datagram.
pub const STATSD_EVERY: Duration = Duration::from_millis(100);
pub const STATSD_LINES: usize = 50;
pub const STATSD_LINES_PER_DATAGRAM: usize = 10;

// Analytics: 10 page views every 100 ms, from 5 000 users over a dozen paths.
pub const EVENTS_EVERY: Duration = Duration::from_millis(100);
pub const EVENTS_BATCH: usize = 10;
pub const USERS: usize = 5_000;
pub const PATHS: [&str; 12] = [
    "/",
    "/pricing",
    "/docs",
    "/docs/install",
    "/docs/api",
    "/blog",
    "/blog/launch",
    "/about",
    "/signup",
    "/login",
    "/account",
    "/checkout",
];
/// Each event is stored as two points: its counter and its unique-users set.
pub const POINTS_PER_EVENT: usize = 2;

/// Requests of one kind in flight at most: a stalled server slows the load down (which the
/// points sent per second then show) instead of piling requests up.
pub const REQUESTS_IN_FLIGHT: usize = 8;
/// A request that hangs longer is counted as failed rather than stalling its sender.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub const VIEWERS: usize = 1_000;
/// Handshakes in flight while the viewers connect, as `bench_live` does.
pub const CONNECTING_AT_ONCE: usize = 200;
/// How long connecting every viewer may take before the run goes on without the stragglers.
pub const CONNECTING_PATIENCE: Duration = Duration::from_secs(120);
/// The subscription, in every viewer, to the send-time series.
pub const CLOCK_SUBSCRIPTION: usize = 0;
pub const STEP_MS: i64 = 1_000;
pub const WINDOW_MS: i64 = 60_000;

pub const SAVE_EVERY: Duration = Duration::from_secs(2);
/// Every fifth save (every 10 s) the dashboards are listed too.
pub const LIST_EVERY_SAVES: u64 = 5;

/// After the viewers connected, before the first row: the connection storm is not the steady
/// state being measured.
pub const SETTLE: Duration = Duration::from_secs(10);

/// A JSON batch: the next [`JSON_BATCH`] series from `first_slot` on, and the send time.
pub fn json_batch(first_slot: usize, rng: &mut Rng) -> (String, u64) {
    let seconds = clock_ms() / 1000.0;
    let mut items: Vec<serde_json::Value> = (first_slot..first_slot + JSON_BATCH)
        .map(|slot| slot % JSON_SERIES)
        .map(|slot| {
            if slot < GAUGES {
                let wave = (seconds / 60.0 + slot as f64).sin();
                json!({
                    "name": "soak_gauge",
                    "labels": {"series": slot.to_string(), "group": (slot % GAUGE_GROUPS).to_string()},
                    "value": 50.0 + 40.0 * wave + rng.unit(),
                })
            } else if slot < GAUGES + ROUTES {
                json!({
                    "kind": "counter",
                    "name": "soak_requests_total",
                    "labels": {"route": format!("/r{}", slot - GAUGES)},
                    "value": 1 + rng.below(5),
                })
            } else {
                json!({
                    "kind": "histogram",
                    "name": "soak_request_ms",
                    "labels": {"route": format!("/r{}", slot - GAUGES - ROUTES)},
                    "value": 2.0 + 300.0 * rng.unit() * rng.unit(),
                })
            }
        })
        .collect();
    // Last, so its value is as close as can be to the moment the request leaves.
    items.push(json!({"name": CLOCK_METRIC, "value": clock_ms()}));
    let points = items.len() as u64;
    (serde_json::Value::Array(items).to_string(), points)
}

/// One line of three fields per host, at `ts` (ms).
pub fn influx_lines(ts: i64, rng: &mut Rng) -> (String, u64) {
    let mut body = String::new();
    for host in 0..INFLUX_HOSTS {
        let _ = writeln!(
            body,
            "soak_influx,host=h{host},region=r{} cpu={:.2},mem={}i,up={} {ts}",
            host % REGIONS,
            100.0 * rng.unit(),
            1_000_000 + rng.below(1_000_000),
            rng.below(100) != 0,
        );
    }
    (body, (INFLUX_HOSTS * INFLUX_FIELDS) as u64)
}

/// Page views of random users on random paths.
pub fn event_batch(rng: &mut Rng) -> (String, u64) {
    let events: Vec<serde_json::Value> = (0..EVENTS_BATCH)
        .map(|_| {
            json!({
                "event": "page_view",
                "user_id": format!("u{}", rng.below(USERS as u64)),
                "properties": {"path": PATHS[rng.below(PATHS.len() as u64) as usize]},
            })
        })
        .collect();
    (
        serde_json::Value::Array(events).to_string(),
        (EVENTS_BATCH * POINTS_PER_EVENT) as u64,
    )
}
