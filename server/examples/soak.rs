//! Soak benchmark: shows whether livedash's memory and latency stay flat over a long run of mixed
//! load, against the release `livedash` binary.
//!
//! `cargo run --release -p server --example soak`. It starts its own `redis-server` and livedash
//! (`LIVEDASH_BIN`, default `target/release/livedash`) with access control on; nothing else is
//! touched. For `SOAK_MINUTES` (default 30) it sends, all at once: JSON ingest, InfluxDB line
//! protocol, StatsD over UDP and analytics events, each with an ingest token; keeps 1 000 viewers
//! on live WebSockets, one of whose subscriptions shows the send time of its points (so delivery
//! latency is measured); and has an admin save a dashboard every 2 s and list the dashboards
//! every 10 s. Every `SAMPLE_SECONDS` (default 60) it records a row: memory of livedash and
//! Redis, points stored per second, latencies, errors, viewers. At the end it prints a Markdown
//! report and writes it to `SOAK_REPORT` (default `docs/soak.md`).

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::auth::CreatedToken;
use app::dashboard::{
    Dashboard, DashboardSummary, GRID_COLUMNS, GridRect, SaveOutcome, Widget, WidgetKind,
    WidgetQuery, place,
};
use app::live::{
    Applied, ClientMessage, LiveData, LiveQuery, ServerMessage, View, closed_for_good, parse_frame,
    reconnect_delay_ms,
};
use app::query::{Aggregation, QueryResult, Selector};
use futures::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use server::testing::{RedisServer, free_port};
use support::{Livedash, Samples, clock_ms, p50_p99};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

/// The admin token livedash is configured with.
const ADMIN_TOKEN: &str = "soak-admin-0123456789abcdef01234";
const _: () = assert!(
    ADMIN_TOKEN.len() >= 24,
    "livedash refuses admin tokens shorter than 24 characters"
);

// JSON ingest: 200 series (100 gauges in 10 groups, 50 counters and 50 histograms by route), a
// batch of 100 of them every 50 ms (2 000 points/s, each series 10 a second), plus one point of
// the send-time series in every batch.
const GAUGES: usize = 100;
const GAUGE_GROUPS: usize = 10;
const ROUTES: usize = 50;
const JSON_SERIES: usize = GAUGES + 2 * ROUTES;
const JSON_EVERY: Duration = Duration::from_millis(50);
const JSON_BATCH: usize = 100;
/// The series whose values are the time their request was sent ([`clock_ms`]).
const CLOCK_METRIC: &str = "soak_clock";

// InfluxDB line protocol: 50 hosts in 5 regions, one line of three fields each every 100 ms.
const INFLUX_EVERY: Duration = Duration::from_millis(100);
const INFLUX_HOSTS: usize = 50;
const REGIONS: usize = 5;
const INFLUX_FIELDS: usize = 3;

// StatsD: 50 lines every 100 ms (counters, timers, gauges, sets in turn), 10 to a datagram.
const STATSD_EVERY: Duration = Duration::from_millis(100);
const STATSD_LINES: usize = 50;
const STATSD_LINES_PER_DATAGRAM: usize = 10;

// Analytics: 10 page views every 100 ms, from 5 000 users over a dozen paths.
const EVENTS_EVERY: Duration = Duration::from_millis(100);
const EVENTS_BATCH: usize = 10;
const USERS: usize = 5_000;
const PATHS: [&str; 12] = [
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
const POINTS_PER_EVENT: usize = 2;

/// Requests of one kind in flight at most: a stalled server slows the load down (which the
/// points sent per second then show) instead of piling requests up.
const REQUESTS_IN_FLIGHT: usize = 8;
/// A request that hangs longer is counted as failed rather than stalling its sender.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const VIEWERS: usize = 1_000;
/// Handshakes in flight while the viewers connect, as `bench_live` does.
const CONNECTING_AT_ONCE: usize = 200;
/// How long connecting every viewer may take before the run goes on without the stragglers.
const CONNECTING_PATIENCE: Duration = Duration::from_secs(120);
/// The subscription, in every viewer, to the send-time series.
const CLOCK_SUBSCRIPTION: usize = 0;
const STEP_MS: i64 = 1_000;
const WINDOW_MS: i64 = 60_000;

const SAVE_EVERY: Duration = Duration::from_secs(2);
/// Every fifth save (every 10 s) the dashboards are listed too.
const LIST_EVERY_SAVES: u64 = 5;

/// After the viewers connected, before the first row: the connection storm is not the steady
/// state being measured.
const SETTLE: Duration = Duration::from_secs(10);
/// Rows at each end of the run whose medians are compared.
const ENDS: usize = 5;
/// "Flat" for memory: the last rows' median at most this times the first rows'.
const MEMORY_TOLERANCE: f64 = 1.2;
/// "Flat" for points stored per second: the last rows' median at least this times the first
/// rows'; also how much of the intended load must be reached for the figures to count.
const THROUGHPUT_TOLERANCE: f64 = 0.9;
/// "Flat" for p99 latency: at most this times the first rows' median...
const LATENCY_TOLERANCE: f64 = 1.5;
/// ...or at most this much higher, since a p99 of a few ms jitters by that much on a shared
/// machine.
const LATENCY_SLACK_MS: f64 = 10.0;

/// A small deterministic generator (SplitMix64): every run sends the same workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// In `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// An error with its causes: reqwest and tungstenite put the useful part in the sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// At most 200 characters of `text`, for failure messages.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(200).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

/// One kind of traffic: how much went through, what failed and why, and (for requests) how
/// long each took over the whole run.
struct Tally {
    name: &'static str,
    succeeded: AtomicU64,
    failed: AtomicU64,
    failed_since_row: AtomicU64,
    latencies_ms: Mutex<Vec<f64>>,
    first_failures: Mutex<Vec<String>>,
}

/// Failure messages a [`Tally`] keeps for the report.
const FAILURES_KEPT: usize = 5;

impl Tally {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failed_since_row: AtomicU64::new(0),
            latencies_ms: Mutex::new(Vec::new()),
            first_failures: Mutex::new(Vec::new()),
        }
    }

    fn succeeded(&self, latency_ms: Option<f64>) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = latency_ms {
            self.latencies_ms
                .lock()
                .expect("latencies are never poisoned")
                .push(latency);
        }
    }

    fn failed(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.failed_since_row.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_failures
            .lock()
            .expect("failures are never poisoned");
        if first.len() < FAILURES_KEPT && !first.contains(&why) {
            first.push(why);
        }
    }
}

/// What every task of the run reports to.
struct Load {
    json: Tally,
    influx: Tally,
    statsd: Tally,
    events: Tally,
    saves: Tally,
    lists: Tally,
    /// Connection attempts of viewers that did not open a socket.
    viewer_connects: Tally,
    /// Live messages applied; failures are gaps, refused subscriptions and unreadable frames.
    live_messages: Tally,
    /// Since the last row.
    ingest_latency: Samples,
    live_latency: Samples,
    save_latency: Samples,
    /// Points of successful ingest requests and of StatsD datagrams sent (which get no answer).
    points_sent: AtomicU64,
    viewers_connected: AtomicUsize,
    disconnects: AtomicU64,
    disconnects_since_row: AtomicU64,
    reconnects: AtomicU64,
    /// Why sockets ended, with how often.
    close_reasons: Mutex<BTreeMap<String, u64>>,
    /// `status` messages saying the server lost its Redis subscription.
    degraded_notices: AtomicU64,
    stop: CancellationToken,
}

impl Load {
    fn new() -> Self {
        Self {
            json: Tally::new("JSON ingest requests (`/api/v1/ingest`)"),
            influx: Tally::new("InfluxDB writes (`/api/v2/write`)"),
            statsd: Tally::new("StatsD datagrams"),
            events: Tally::new("event batches (`/api/v1/events`)"),
            saves: Tally::new("dashboard saves (`save_dashboard`)"),
            lists: Tally::new("dashboard lists (`dashboards`)"),
            viewer_connects: Tally::new("viewer connection attempts"),
            live_messages: Tally::new("live snapshots and deltas applied"),
            ingest_latency: Samples::default(),
            live_latency: Samples::default(),
            save_latency: Samples::default(),
            points_sent: AtomicU64::new(0),
            viewers_connected: AtomicUsize::new(0),
            disconnects: AtomicU64::new(0),
            disconnects_since_row: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            close_reasons: Mutex::new(BTreeMap::new()),
            degraded_notices: AtomicU64::new(0),
            stop: CancellationToken::new(),
        }
    }

    fn tallies(&self) -> [&Tally; 8] {
        [
            &self.json,
            &self.influx,
            &self.statsd,
            &self.events,
            &self.saves,
            &self.lists,
            &self.viewer_connects,
            &self.live_messages,
        ]
    }

    fn tally(&self, kind: Ingest) -> &Tally {
        match kind {
            Ingest::Json => &self.json,
            Ingest::Influx => &self.influx,
            Ingest::Events => &self.events,
        }
    }

    /// Failures since the last row, in all; starts counting anew.
    fn take_errors(&self) -> u64 {
        self.tallies()
            .iter()
            .map(|tally| tally.failed_since_row.swap(0, Ordering::Relaxed))
            .sum()
    }

    fn disconnected(&self, reason: String) {
        self.disconnects.fetch_add(1, Ordering::Relaxed);
        self.disconnects_since_row.fetch_add(1, Ordering::Relaxed);
        *self
            .close_reasons
            .lock()
            .expect("close reasons are never poisoned")
            .entry(reason)
            .or_default() += 1;
    }
}

/// The HTTP ingest kinds.
#[derive(Clone, Copy)]
enum Ingest {
    Json,
    Influx,
    Events,
}

/// Sends one ingest request and books its outcome; its `points` count as sent if it succeeds.
async fn send_ingest(load: &Load, kind: Ingest, request: reqwest::RequestBuilder, points: u64) {
    let started = Instant::now();
    let outcome = match request.send().await {
        Ok(response) if response.status().is_success() => response
            .bytes()
            .await
            .map(|_| ())
            .map_err(|error| format!("reading the answer: {}", error_chain(&error))),
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Err(format!("{status}: {}", clip(&body)))
        }
        Err(error) => Err(error_chain(&error)),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(()) => {
            load.tally(kind).succeeded(Some(latency_ms));
            load.ingest_latency.push(latency_ms);
            load.points_sent.fetch_add(points, Ordering::Relaxed);
        }
        // Requests cut off by the end of the run do not count.
        Err(_) if load.stop.is_cancelled() => {}
        Err(why) => load.tally(kind).failed(why),
    }
}

/// Every `period` until the end, sends the request `next_request` makes (with the points it
/// holds), at most [`REQUESTS_IN_FLIGHT`] at once.
async fn keep_sending(
    load: Arc<Load>,
    kind: Ingest,
    period: Duration,
    mut next_request: impl FnMut() -> (reqwest::RequestBuilder, u64),
) {
    let in_flight = Arc::new(Semaphore::new(REQUESTS_IN_FLIGHT));
    let mut ticks = tokio::time::interval(period);
    // No catching up after a stall: the offered rate stays what it is, and a server that
    // cannot take it shows up as fewer points sent.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let permit = tokio::select! {
            () = load.stop.cancelled() => return,
            permit = in_flight.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (request, points) = next_request();
        let load = load.clone();
        tokio::spawn(async move {
            send_ingest(&load, kind, request, points).await;
            drop(permit);
        });
    }
}

/// A JSON batch: the next [`JSON_BATCH`] series from `first_slot` on, and the send time.
fn json_batch(first_slot: usize, rng: &mut Rng) -> (String, u64) {
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
fn influx_lines(ts: i64, rng: &mut Rng) -> (String, u64) {
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
fn event_batch(rng: &mut Rng) -> (String, u64) {
    let events: Vec<serde_json::Value> = (0..EVENTS_BATCH)
        .map(|_| {
            json!({
                "event": "page_view",
                "user_id": format!("u{}", rng.below(USERS)),
                "properties": {"path": PATHS[rng.below(PATHS.len())]},
            })
        })
        .collect();
    (
        serde_json::Value::Array(events).to_string(),
        (EVENTS_BATCH * POINTS_PER_EVENT) as u64,
    )
}

/// The HTTP ingest senders, until the end of the run.
fn start_ingest(
    load: &Arc<Load>,
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Vec<tokio::task::JoinHandle<()>> {
    let authorization = format!("Token {token}");
    let json = {
        let (client, url, authorization) = (
            client.clone(),
            format!("{base}/api/v1/ingest"),
            authorization.clone(),
        );
        let mut rng = Rng(1);
        let mut next_slot = 0;
        keep_sending(load.clone(), Ingest::Json, JSON_EVERY, move || {
            let (body, points) = json_batch(next_slot, &mut rng);
            next_slot = (next_slot + JSON_BATCH) % JSON_SERIES;
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "application/json")
                .body(body);
            (request, points)
        })
    };
    let influx = {
        let (client, url, authorization) = (
            client.clone(),
            format!("{base}/api/v2/write?bucket=soak&org=soak&precision=ms"),
            authorization.clone(),
        );
        let mut rng = Rng(2);
        keep_sending(load.clone(), Ingest::Influx, INFLUX_EVERY, move || {
            let (body, points) = influx_lines(unix_ms(), &mut rng);
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "text/plain; charset=utf-8")
                .body(body);
            (request, points)
        })
    };
    let events = {
        let (client, url) = (client.clone(), format!("{base}/api/v1/events"));
        let mut rng = Rng(3);
        keep_sending(load.clone(), Ingest::Events, EVENTS_EVERY, move || {
            let (body, points) = event_batch(&mut rng);
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "application/json")
                .body(body);
            (request, points)
        })
    };
    vec![
        tokio::spawn(json),
        tokio::spawn(influx),
        tokio::spawn(events),
    ]
}

/// StatsD lines over UDP to `target` until the end: counters, timers, gauges and sets in turn.
async fn send_statsd(load: Arc<Load>, target: String) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a UDP socket on loopback");
    let mut rng = Rng(4);
    let mut ticks = tokio::time::interval(STATSD_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let lines: Vec<String> = (0..STATSD_LINES)
            .map(|line| {
                let route = rng.below(10);
                match line % 4 {
                    0 => format!("soak.hits:1|c|#route:/r{route}"),
                    1 => format!(
                        "soak.latency:{:.1}|ms|#route:/r{route}",
                        1.0 + 200.0 * rng.unit()
                    ),
                    2 => format!("soak.queue:{}|g|#queue:q{}", rng.below(500), route % 5),
                    _ => format!("soak.visitors:u{}|s", rng.below(USERS)),
                }
            })
            .collect();
        for datagram in lines.chunks(STATSD_LINES_PER_DATAGRAM) {
            match socket
                .send_to(datagram.join("\n").as_bytes(), &target)
                .await
            {
                Ok(_) => {
                    load.statsd.succeeded(None);
                    load.points_sent
                        .fetch_add(datagram.len() as u64, Ordering::Relaxed);
                }
                Err(error) => load.statsd.failed(format!("sending to {target}: {error}")),
            }
        }
    }
}

/// Calls server function `name` as the admin: its answer, or why not.
async fn call_fn<T: DeserializeOwned>(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    args: serde_json::Value,
) -> Result<T, String> {
    let response = client
        .post(format!("{base}/api/fn/{name}"))
        .header("authorization", format!("Token {ADMIN_TOKEN}"))
        .json(&args)
        .send()
        .await
        .map_err(|error| format!("{name}: {}", error_chain(&error)))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| format!("{name}: reading the answer: {}", error_chain(&error)))?;
    if !status.is_success() {
        return Err(format!("{name}: {status}: {}", clip(&text)));
    }
    serde_json::from_str(&text)
        .map_err(|error| format!("{name}: unreadable answer ({error}): {}", clip(&text)))
}

/// A new API token for `role`, made with the admin token (which livedash stores as it starts
/// serving, so the first calls may come too early).
async fn create_token(client: &reqwest::Client, base: &str, role: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let made = call_fn::<CreatedToken>(
            client,
            base,
            "create_token",
            json!({"role": role, "label": format!("soak {role}")}),
        )
        .await;
        match made {
            Ok(created) => return created.token,
            Err(why) if Instant::now() > deadline => panic!("no {role} token: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The dashboard the admin edits: widgets on what the load writes, tiled row by row.
fn soak_dashboard() -> Dashboard {
    let query = |selector: &str, aggregation, group_by: Option<&[&str]>| WidgetQuery {
        selector: selector.to_owned(),
        aggregation,
        step_ms: None,
        group_by: group_by.map(|labels| labels.iter().map(|&label| label.to_owned()).collect()),
    };
    let contents = [
        (
            WidgetKind::Line,
            "Send time",
            Some(query(CLOCK_METRIC, Aggregation::Max, Some(&[]))),
        ),
        (
            WidgetKind::Line,
            "Gauges by group",
            Some(query("soak_gauge", Aggregation::Avg, Some(&["group"]))),
        ),
        (
            WidgetKind::Stat,
            "Requests/s",
            Some(query("soak_requests_total", Aggregation::Rate, Some(&[]))),
        ),
        (
            WidgetKind::Gauge,
            "CPU",
            Some(query("soak_influx_cpu", Aggregation::Avg, Some(&[]))),
        ),
        (
            WidgetKind::Bar,
            "Page views",
            Some(query(
                r#"events{event="page_view"}"#,
                Aggregation::Sum,
                Some(&[]),
            )),
        ),
        (
            WidgetKind::Table,
            "Memory by region",
            Some(query(
                "soak_influx_mem",
                Aggregation::Last,
                Some(&["region"]),
            )),
        ),
        (
            WidgetKind::TopN,
            "Busiest gauges",
            Some(query("soak_gauge", Aggregation::Last, None)),
        ),
        (WidgetKind::Text, "Notes", None),
    ];
    let mut dashboard = Dashboard::new("Soak");
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    for (index, (kind, title, query)) in contents.into_iter().enumerate() {
        let (w, h) = kind.default_size();
        if x + w > GRID_COLUMNS {
            (x, y, row_height) = (0, y + row_height, 0);
        }
        dashboard.widgets.push(Widget {
            id: format!("w{index}"),
            kind,
            title: title.to_owned(),
            layout: GridRect { x, y, w, h },
            query,
            display: Default::default(),
            text: if kind == WidgetKind::Text {
                "Edited by the soak benchmark every 2 s.".to_owned()
            } else {
                String::new()
            },
            source: None,
        });
        x += w;
        row_height = row_height.max(h);
    }
    dashboard
}

/// Edit number `number`: moves a widget somewhere (the others make room, as when it is dragged
/// in the editor) or retitles one. Returns the summary to save it with.
fn edit(dashboard: &mut Dashboard, number: u64, rng: &mut Rng) -> String {
    let index = rng.below(dashboard.widgets.len());
    let widget_id = dashboard.widgets[index].id.clone();
    if number.is_multiple_of(2) {
        let rects: Vec<GridRect> = dashboard.widgets.iter().map(|w| w.layout).collect();
        let from = rects[index];
        let to = GridRect {
            x: rng.below((GRID_COLUMNS - from.w + 1) as usize) as u32,
            y: rng.below(24) as u32,
            ..from
        };
        for (widget, rect) in dashboard.widgets.iter_mut().zip(place(&rects, index, to)) {
            widget.layout = rect;
        }
        format!("moved {widget_id} to column {}, row {}", to.x, to.y)
    } else {
        let widget = &mut dashboard.widgets[index];
        let base = widget
            .title
            .split_once(" #")
            .map_or(widget.title.as_str(), |(base, _)| base)
            .to_owned();
        widget.title = format!("{base} #{number}");
        format!("retitled {widget_id}")
    }
}

/// Saves `dashboard` with one edit every [`SAVE_EVERY`], and lists the dashboards every
/// [`LIST_EVERY_SAVES`] saves, checking the list shows the version just saved.
async fn edit_dashboard(
    load: Arc<Load>,
    client: reqwest::Client,
    base: String,
    mut dashboard: Dashboard,
) {
    let mut rng = Rng(5);
    let mut ticks = tokio::time::interval(SAVE_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut number = 0;
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        number += 1;
        let summary = edit(&mut dashboard, number, &mut rng);
        let started = Instant::now();
        let saved = call_fn::<SaveOutcome>(
            &client,
            &base,
            "save_dashboard",
            json!({"dashboard": dashboard, "summary": summary}),
        )
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match saved {
            Ok(SaveOutcome::Saved { version }) => {
                dashboard.version = version.version;
                load.saves.succeeded(Some(latency_ms));
                load.save_latency.push(latency_ms);
            }
            // Nobody else edits it, so a conflict is livedash's mistake; carry on from the
            // version it says is current.
            Ok(SaveOutcome::Conflict { current }) => {
                load.saves.failed(format!(
                    "conflict: saved from version {}, livedash says {} is current",
                    dashboard.version, current.version
                ));
                dashboard.version = current.version;
            }
            Err(_) if load.stop.is_cancelled() => return,
            Err(why) => load.saves.failed(why),
        }
        if !number.is_multiple_of(LIST_EVERY_SAVES) {
            continue;
        }
        let started = Instant::now();
        let listed =
            call_fn::<Vec<DashboardSummary>>(&client, &base, "dashboards", json!({})).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match listed {
            Ok(list) => match list.iter().find(|entry| entry.id == dashboard.id) {
                Some(entry) if entry.version == dashboard.version => {
                    load.lists.succeeded(Some(latency_ms));
                }
                Some(entry) => load.lists.failed(format!(
                    "the list shows version {} of the dashboard, {} was saved last",
                    entry.version, dashboard.version
                )),
                None => load
                    .lists
                    .failed("the list lacks the dashboard being edited".to_owned()),
            },
            Err(_) if load.stop.is_cancelled() => return,
            Err(why) => load.lists.failed(why),
        }
    }
}

/// The subscriptions of viewer `index`: the send-time series first, then what a dashboard of
/// the load shows (shared by every viewer), then one gauge series of its own.
fn viewer_queries(index: usize) -> Vec<LiveQuery> {
    let range = |selector: &str, aggregation, group_by: Option<&[&str]>| LiveQuery::Range {
        selector: Selector::parse(selector).expect("the soak's selectors are valid"),
        aggregation,
        step_ms: STEP_MS,
        window_ms: WINDOW_MS,
        group_by: group_by.map(|labels| labels.iter().map(|&label| label.to_owned()).collect()),
    };
    vec![
        range(CLOCK_METRIC, Aggregation::Max, Some(&[])),
        range("soak_gauge", Aggregation::Avg, Some(&["group"])),
        range("soak_requests_total", Aggregation::Rate, Some(&[])),
        range(
            "soak_request_ms",
            Aggregation::Quantile { q: 0.99 },
            Some(&[]),
        ),
        range("soak_influx_cpu", Aggregation::Avg, Some(&["region"])),
        range(r#"events{event="page_view"}"#, Aggregation::Sum, Some(&[])),
        range(
            &format!(r#"soak_gauge{{series="{}"}}"#, index % GAUGES),
            Aggregation::Avg,
            None,
        ),
    ]
}

/// How a viewer's connection ended.
enum Ended {
    /// The run is over.
    Stopped,
    /// No socket was opened.
    ConnectFailed(String),
    /// An open socket ended; worth reconnecting unless it is `for_good`.
    Disconnected { reason: String, for_good: bool },
}

/// A viewer as the browser behaves: subscribes, applies snapshots and deltas to its views,
/// and after a disconnect reconnects with backoff and resumes from its cursors.
async fn viewer(
    index: usize,
    load: Arc<Load>,
    url: String,
    token: String,
    ready: mpsc::Sender<()>,
) {
    let queries = viewer_queries(index);
    let mut views = vec![View::default(); queries.len()];
    let mut ready = Some(ready);
    let mut rng = Rng(1_000 + index as u64);
    let mut attempt = 0;
    loop {
        match watch(&load, &url, &token, &queries, &mut views, &mut ready).await {
            Ended::Stopped => return,
            Ended::ConnectFailed(why) => {
                load.viewer_connects.failed(why);
                attempt += 1;
            }
            Ended::Disconnected { reason, for_good } => {
                load.disconnected(reason);
                if for_good {
                    return;
                }
                attempt = 1;
            }
        }
        let delay = reconnect_delay_ms(attempt, rng.unit());
        tokio::select! {
            () = load.stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(delay.into())) => {}
        }
    }
}

/// The newest send time a delta of the send-time series shows.
fn newest_sent(data: &LiveData) -> Option<f64> {
    let LiveData::Range { series, .. } = data else {
        return None;
    };
    series
        .iter()
        .flat_map(|line| &line.points)
        .map(|&(_, value)| value)
        .reduce(f64::max)
}

fn subscribe(id: usize, query: &LiveQuery, view: &View) -> Message {
    let message = ClientMessage::Subscribe {
        id: id as u32,
        query: query.clone(),
        after: view.cursor,
    };
    Message::Text(
        serde_json::to_string(&message)
            .expect("client messages serialize")
            .into(),
    )
}

/// One connection of a viewer, until it ends. Counts the viewer as connected once every
/// subscription has had its snapshot (or, after a reconnect, its catch-up delta).
async fn watch(
    load: &Load,
    url: &str,
    token: &str,
    queries: &[LiveQuery],
    views: &mut [View],
    ready: &mut Option<mpsc::Sender<()>>,
) -> Ended {
    let mut request = url
        .into_client_request()
        .expect("the live URL is a valid request");
    request.headers_mut().insert(
        "authorization",
        format!("Token {token}")
            .parse()
            .expect("a token is a valid header value"),
    );
    let connecting =
        tokio::time::timeout(REQUEST_TIMEOUT, tokio_tungstenite::connect_async(request));
    let mut socket = tokio::select! {
        () = load.stop.cancelled() => return Ended::Stopped,
        connected = connecting => match connected {
            Ok(Ok((socket, _))) => {
                load.viewer_connects.succeeded(None);
                socket
            }
            Ok(Err(error)) => return Ended::ConnectFailed(error_chain(&error)),
            Err(_) => return Ended::ConnectFailed("no handshake within 30 s".to_owned()),
        },
    };
    for (id, (query, view)) in queries.iter().zip(views.iter()).enumerate() {
        if let Err(error) = socket.send(subscribe(id, query, view)).await {
            return Ended::Disconnected {
                reason: format!("subscribing: {error}"),
                for_good: false,
            };
        }
    }
    let mut answered = vec![false; queries.len()];
    let mut connected = false;
    let ended = loop {
        let frame = tokio::select! {
            () = load.stop.cancelled() => {
                let _ = socket.close(None).await;
                break Ended::Stopped;
            }
            frame = socket.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                break match close {
                    Some(close) => Ended::Disconnected {
                        reason: format!("closed by livedash: {} {}", close.code, close.reason),
                        for_good: closed_for_good(close.code.into()),
                    },
                    None => Ended::Disconnected {
                        reason: "closed by livedash without a code".to_owned(),
                        for_good: false,
                    },
                };
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                break Ended::Disconnected {
                    reason: error_chain(&error),
                    for_good: false,
                };
            }
            None => {
                break Ended::Disconnected {
                    reason: "the stream ended without a close frame".to_owned(),
                    for_good: false,
                };
            }
        };
        let received = clock_ms();
        let messages = match parse_frame(&text) {
            Ok(messages) => messages,
            Err(error) => {
                load.live_messages
                    .failed(format!("unreadable frame ({error}): {}", clip(&text)));
                continue;
            }
        };
        let oldest_bucket = unix_ms() - WINDOW_MS - STEP_MS;
        let mut ask_again = Vec::new();
        for message in messages {
            match message {
                ServerMessage::Snapshot { id, at, data } => {
                    let id = id as usize;
                    if let Some(view) = views.get_mut(id) {
                        view.snapshot(at, data);
                        answered[id] = true;
                        load.live_messages.succeeded(None);
                    }
                }
                ServerMessage::Delta { id, from, to, data } => {
                    let id = id as usize;
                    let Some(view) = views.get_mut(id) else {
                        continue;
                    };
                    if id == CLOCK_SUBSCRIPTION
                        && let Some(sent) = newest_sent(&data)
                    {
                        load.live_latency.push(received - sent);
                    }
                    match view.delta(from, to, data) {
                        Applied::Ok => {
                            view.trim(oldest_bucket);
                            answered[id] = true;
                            load.live_messages.succeeded(None);
                        }
                        Applied::Gap => {
                            load.live_messages.failed(format!(
                                "gap: a delta from {from} for a view at {}",
                                view.cursor
                                    .map_or("nothing".to_owned(), |at| at.to_string())
                            ));
                            ask_again.push(id);
                        }
                    }
                }
                ServerMessage::Status { degraded, .. } => {
                    if degraded {
                        load.degraded_notices.fetch_add(1, Ordering::Relaxed);
                    }
                }
                ServerMessage::Error { id, message } => {
                    load.live_messages
                        .failed(format!("subscription {id:?} refused: {message}"));
                }
                ServerMessage::Pong { .. } => {}
            }
        }
        // As the browser does after a gap: subscribe again from what the view holds.
        let mut resubscribing = Ok(());
        for id in ask_again {
            resubscribing = socket.send(subscribe(id, &queries[id], &views[id])).await;
            if resubscribing.is_err() {
                break;
            }
        }
        if let Err(error) = resubscribing {
            break Ended::Disconnected {
                reason: format!("subscribing again after a gap: {error}"),
                for_good: false,
            };
        }
        if !connected && answered.iter().all(|&done| done) {
            connected = true;
            load.viewers_connected.fetch_add(1, Ordering::Relaxed);
            match ready.take() {
                Some(first_time) => {
                    let _ = first_time.send(()).await;
                }
                None => {
                    load.reconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    if connected {
        load.viewers_connected.fetch_sub(1, Ordering::Relaxed);
    }
    ended
}

/// Starts the viewers, [`CONNECTING_AT_ONCE`] handshakes at a time, and waits until they are
/// connected or [`CONNECTING_PATIENCE`] has passed; their tasks, and how many connected.
async fn connect_viewers(
    load: &Arc<Load>,
    addr: &str,
    token: &str,
) -> (Vec<tokio::task::JoinHandle<()>>, usize) {
    let url = format!("ws://{addr}{}", app::live::LIVE_PATH);
    let (ready_tx, mut ready) = mpsc::channel(VIEWERS);
    let deadline = tokio::time::Instant::now() + CONNECTING_PATIENCE;
    let mut tasks = Vec::with_capacity(VIEWERS);
    let mut connected = 0;
    for index in 0..VIEWERS {
        tasks.push(tokio::spawn(viewer(
            index,
            load.clone(),
            url.clone(),
            token.to_owned(),
            ready_tx.clone(),
        )));
        // Past the deadline the rest start without waiting; they keep trying on their own.
        if index + 1 - connected >= CONNECTING_AT_ONCE
            && let Ok(Some(())) = tokio::time::timeout_at(deadline, ready.recv()).await
        {
            connected += 1;
        }
    }
    while connected < VIEWERS {
        match tokio::time::timeout_at(deadline, ready.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    (tasks, connected)
}

/// livedash's own count of points stored (`livedash_points_stored_total`: every 10 s, the
/// points stored since its previous record), by the second of each record.
#[derive(Default)]
struct StoredPoints {
    records: BTreeMap<i64, f64>,
}

impl StoredPoints {
    /// Reads the records from `from_ms` on, through the query API.
    async fn refresh(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        from_ms: i64,
    ) -> Result<(), String> {
        let url = format!(
            "{base}/api/v1/query?query=livedash_points_stored_total&agg=sum&step=1s&group_by=\
             &from={from_ms}&to={}",
            unix_ms() + 1_000
        );
        let response = client
            .get(url)
            .header("authorization", format!("Token {ADMIN_TOKEN}"))
            .send()
            .await
            .map_err(|error| error_chain(&error))?;
        let status = response.status();
        let text = response.text().await.map_err(|error| error_chain(&error))?;
        if !status.is_success() {
            return Err(format!("{status}: {}", clip(&text)));
        }
        let result: QueryResult = serde_json::from_str(&text)
            .map_err(|error| format!("unreadable answer ({error}): {}", clip(&text)))?;
        for line in result.series {
            self.records.extend(line.points);
        }
        Ok(())
    }

    /// Points stored per second in `(from_ms, to_ms]`. Each record counts what was stored since
    /// the one before, so the span runs from the last record before the window to the last one
    /// in it.
    fn per_second(&self, from_ms: i64, to_ms: i64) -> Option<f64> {
        let mut inside = self.records.range(from_ms + 1..=to_ms);
        let start = match self.records.range(..=from_ms).next_back() {
            Some((&at, _)) => at,
            None => *inside.next()?.0,
        };
        let counted: Vec<(&i64, &f64)> = inside.collect();
        let &(&end, _) = counted.last()?;
        let points: f64 = counted.iter().map(|&(_, &points)| points).sum();
        (end > start).then(|| points * 1000.0 / (end - start) as f64)
    }
}

/// A field of Redis's `INFO <section>`.
fn redis_info(connection: &mut redis::Connection, section: &str, field: &str) -> Option<String> {
    // A blocking call of a millisecond on loopback; the runtime is told so.
    let info: String =
        tokio::task::block_in_place(|| redis::cmd("INFO").arg(section).query(connection).ok())?;
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
}

fn redis_used_memory(connection: &mut redis::Connection) -> Option<u64> {
    redis_info(connection, "memory", "used_memory")?
        .parse()
        .ok()
}

/// One interval of the run.
struct Row {
    /// Minutes since the soak started, at the end of the interval.
    minute: f64,
    rss: Option<u64>,
    redis_memory: Option<u64>,
    /// Growth of Redis's memory in the interval per point stored in it.
    redis_bytes_per_point: Option<f64>,
    open_files: Option<usize>,
    sent_per_second: f64,
    stored_per_second: Option<f64>,
    /// (samples, p50, p99), ms.
    ingest: (usize, f64, f64),
    live: (usize, f64, f64),
    save: (usize, f64, f64),
    errors: u64,
    viewers: usize,
    disconnects: u64,
}

const TABLE_HEADER: &str = "| minute | livedash RSS MB | Redis used_memory MB | points/s sent / stored | \
HTTP ingest p50 / p99 ms | live delivery p50 / p99 ms | dashboard save p50 / p99 ms | errors | \
viewers connected | disconnects |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";

/// `1`, `1.33`: minutes without trailing zeros.
fn minutes_text(minutes: f64) -> String {
    let text = format!("{minutes:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `1 minute`, `2.5 minutes`.
fn minutes_phrase(minutes: f64) -> String {
    match minutes_text(minutes).as_str() {
        "1" => "1 minute".to_owned(),
        text => format!("{text} minutes"),
    }
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("–".to_owned(), |bytes| {
        format!("{:.1}", bytes as f64 / 1e6)
    })
}

fn in_megabytes(bytes: Option<u64>) -> f64 {
    bytes.map_or(f64::NAN, |bytes| bytes as f64 / 1e6)
}

/// A number with `decimals`, or a dash for none.
fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "–".to_owned()
    }
}

fn row_line(row: &Row) -> String {
    let pair =
        |(_, p50, p99): (usize, f64, f64)| format!("{} / {}", number(p50, 1), number(p99, 1));
    format!(
        "| {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
        minutes_text(row.minute),
        megabytes(row.rss),
        megabytes(row.redis_memory),
        number(row.sent_per_second, 0),
        number(row.stored_per_second.unwrap_or(f64::NAN), 0),
        pair(row.ingest),
        pair(row.live),
        pair(row.save),
        row.errors,
        row.viewers,
        row.disconnects,
    )
}

/// The median of the finite values, NaN when there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|value| value.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// How a measure counts as flat.
#[derive(Clone, Copy)]
enum Flat {
    /// The last rows' median at most this times the first rows'.
    AtMost(f64),
    /// The last rows' median at least this times the first rows'.
    AtLeast(f64),
    /// A latency: [`LATENCY_TOLERANCE`] times, or [`LATENCY_SLACK_MS`] more.
    Latency,
    /// Not expected to be flat; the text says why.
    NotExpected(&'static str),
}

impl Flat {
    fn rule(self) -> String {
        match self {
            Self::AtMost(most) => format!("ratio ≤ {most}"),
            Self::AtLeast(least) => format!("ratio ≥ {least}"),
            Self::Latency => {
                format!("ratio ≤ {LATENCY_TOLERANCE} or at most {LATENCY_SLACK_MS} ms more")
            }
            Self::NotExpected(why) => why.to_owned(),
        }
    }

    /// `None` when it cannot be judged (no values, or not expected to be flat).
    fn holds(self, first: f64, last: f64) -> Option<bool> {
        if !first.is_finite() || !last.is_finite() {
            return None;
        }
        match self {
            Self::AtMost(most) => Some(last <= first * most),
            Self::AtLeast(least) => Some(last >= first * least),
            Self::Latency => {
                Some(last <= first * LATENCY_TOLERANCE || last - first <= LATENCY_SLACK_MS)
            }
            Self::NotExpected(_) => None,
        }
    }
}

/// What the report says about the run besides its rows.
struct Run {
    started: SystemTime,
    minutes: f64,
    sample_seconds: u64,
    binary: String,
    redis_version: String,
    cores: usize,
    viewers_ready: usize,
    connecting: Duration,
    /// Why the run stopped before its time, if it did.
    cut_short: Option<String>,
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_text(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs()) as i64;
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil: one date does not warrant a date crate.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3_600,
        of_day % 3_600 / 60
    )
}

/// The command as run, with the settings that were given.
fn command_line() -> String {
    let mut parts: Vec<String> = [
        "LIVEDASH_BIN",
        "SOAK_MINUTES",
        "SAMPLE_SECONDS",
        "SOAK_REPORT",
    ]
    .into_iter()
    .filter_map(|name| Some(format!("{name}={}", std::env::var(name).ok()?)))
    .collect();
    parts.push("cargo run --release -p server --example soak".to_owned());
    parts.join(" ")
}

fn per_second(every: Duration, count: usize) -> f64 {
    count as f64 / every.as_secs_f64()
}

/// Points a second the load should have livedash store.
fn intended_points_per_second() -> f64 {
    per_second(JSON_EVERY, JSON_BATCH + 1)
        + per_second(INFLUX_EVERY, INFLUX_HOSTS * INFLUX_FIELDS)
        + per_second(STATSD_EVERY, STATSD_LINES)
        + per_second(EVENTS_EVERY, EVENTS_BATCH * POINTS_PER_EVENT)
}

fn workload_text(run: &Run) -> String {
    let json_points = per_second(JSON_EVERY, JSON_BATCH);
    let influx_lines = per_second(INFLUX_EVERY, INFLUX_HOSTS);
    let statsd_lines = per_second(STATSD_EVERY, STATSD_LINES);
    let events = per_second(EVENTS_EVERY, EVENTS_BATCH);
    let expected = intended_points_per_second();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "For {}, all at once, against livedash with access control on (an ingest token \
         for the writes, a viewer token for the sockets, the admin token for the dashboard), \
         rate limits and the per-address socket cap off, its own metrics on:\n",
        minutes_phrase(run.minutes)
    );
    let _ = writeln!(
        text,
        "- **JSON ingest** (`/api/v1/ingest`): a batch every {} ms of {JSON_BATCH} points of \
         {JSON_SERIES} series in turn ({GAUGES} gauges in {GAUGE_GROUPS} groups, {ROUTES} \
         counters, {ROUTES} histograms), {json_points:.0} points/s, plus in every batch one \
         point of `{CLOCK_METRIC}` whose value is the time the request was sent.",
        JSON_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **InfluxDB line protocol** (`/api/v2/write`, precision ms): every {} ms a line of \
         {INFLUX_FIELDS} fields for each of {INFLUX_HOSTS} hosts in {REGIONS} regions, \
         {influx_lines:.0} lines/s.",
        INFLUX_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **StatsD** over UDP: every {} ms {STATSD_LINES} lines ({STATSD_LINES_PER_DATAGRAM} a \
         datagram; counters, `ms` timers, gauges and sets in turn, with tags), \
         {statsd_lines:.0} lines/s.",
        STATSD_EVERY.as_millis()
    );
    let _ = writeln!(
        text,
        "- **Analytics events** (`/api/v1/events`): every {} ms {EVENTS_BATCH} `page_view`s \
         from {USERS} users over {} paths, {events:.0} events/s.",
        EVENTS_EVERY.as_millis(),
        PATHS.len()
    );
    let _ = writeln!(
        text,
        "- **{VIEWERS} live viewers** (`/api/v1/live`), each with {} range subscriptions \
         (1 s steps over a 1-minute window): `{CLOCK_METRIC}` (max), the gauges by group, the \
         counters' rate, the histograms' p99, the InfluxDB CPU by region, the page views, and \
         one gauge series of its own. They apply snapshots and deltas as the browser does and, \
         when a socket ends, reconnect with the browser's backoff and resume from their \
         cursors. Live delivery latency: from sending an ingest request to a viewer receiving \
         the delta that shows its `{CLOCK_METRIC}` point. Connecting them took {:.1} s \
         ({} of {VIEWERS} connected; {CONNECTING_AT_ONCE} handshakes at a time).",
        viewer_queries(0).len(),
        run.connecting.as_secs_f64(),
        run.viewers_ready,
    );
    let _ = writeln!(
        text,
        "- **Editing**: an admin saves an {}-widget dashboard every {} s, a widget moved or \
         retitled each time (from the version it last saved), and lists the dashboards every \
         {} s, checking the list shows that version.\n",
        soak_dashboard().widgets.len(),
        SAVE_EVERY.as_secs(),
        SAVE_EVERY.as_secs() * LIST_EVERY_SAVES
    );
    let _ = writeln!(
        text,
        "That is about {expected:.0} points/s stored (an event is two: its counter and its \
         unique-users set). HTTP requests of one kind are at most {REQUESTS_IN_FLIGHT} in flight, \
         and a tick missed is skipped, not made up: when livedash or the machine cannot keep \
         up, fewer points are sent. The load generator, livedash and Redis share \
         the machine's {} cores. Rows start {} s after the viewers connected. \"Points/s \
         stored\" is livedash's own `livedash_points_stored_total`; \"errors\" counts non-2xx \
         answers and transport errors of every kind, failed or conflicting saves, stale lists, \
         failed viewer connections and live protocol faults (gaps, refused subscriptions).",
        run.cores,
        SETTLE.as_secs()
    );
    text
}

fn report(run: &Run, rows: &[Row], load: &Load, livedash: &Livedash) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Soak: {} of mixed load\n",
        minutes_phrase(run.minutes)
    );
    let _ = writeln!(
        text,
        "Run {} with `{}` (livedash `{}`, Redis {}, {} cores).\n",
        utc_text(run.started),
        command_line(),
        run.binary,
        run.redis_version,
        run.cores
    );
    if let Some(why) = &run.cut_short {
        let _ = writeln!(text, "**The run was cut short: {why}.**\n");
    }
    let _ = writeln!(text, "## Workload\n\n{}", workload_text(run));
    let _ = writeln!(text, "## Every {} s\n\n{TABLE_HEADER}", run.sample_seconds);
    for row in rows {
        let _ = writeln!(text, "{}", row_line(row));
    }
    text.push_str(&summary(run, rows, load));
    text.push_str(&totals(load, livedash));
    text
}

fn summary(run: &Run, rows: &[Row], load: &Load) -> String {
    let mut text = String::from("\n## Summary\n\n");
    // Never overlapping, so a short run compares its halves.
    let ends = ENDS.min(rows.len() / 2);
    if ends == 0 {
        let _ = writeln!(
            text,
            "Too few rows to compare the start of the run with its end: nothing is judged."
        );
        return text;
    }
    let (first, last) = (&rows[..ends], &rows[rows.len() - ends..]);
    let _ = writeln!(
        text,
        "The median of the first {ends} rows against the median of the last {ends}:\n\n\
         | measure | first {ends} | last {ends} | ratio | flat means | verdict |\n\
         | --- | --- | --- | --- | --- | --- |"
    );
    // Name, unit, what counts as flat, and the value in a row.
    type Measure = (&'static str, &'static str, Flat, fn(&Row) -> f64);
    let measures: [Measure; 8] = [
        (
            "livedash RSS",
            " MB",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| in_megabytes(row.rss),
        ),
        (
            "Redis used_memory",
            " MB",
            Flat::NotExpected("not expected: it holds the data kept (raw points 24 h, events 7 d)"),
            |row| in_megabytes(row.redis_memory),
        ),
        (
            "Redis growth per point stored",
            " B",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| row.redis_bytes_per_point.unwrap_or(f64::NAN),
        ),
        (
            "livedash open files",
            "",
            Flat::AtMost(MEMORY_TOLERANCE),
            |row| row.open_files.map_or(f64::NAN, |files| files as f64),
        ),
        (
            "points stored",
            "/s",
            Flat::AtLeast(THROUGHPUT_TOLERANCE),
            |row| row.stored_per_second.unwrap_or(f64::NAN),
        ),
        ("HTTP ingest p99", " ms", Flat::Latency, |row| row.ingest.2),
        ("live delivery p99", " ms", Flat::Latency, |row| row.live.2),
        ("dashboard save p99", " ms", Flat::Latency, |row| row.save.2),
    ];
    let mut not_flat = Vec::new();
    let mut unjudged = Vec::new();
    for (name, unit, flat, value) in measures {
        let before = median(first.iter().map(value));
        let after = median(last.iter().map(value));
        let decimals = usize::from(unit == " MB" || unit == " ms");
        let verdict = match flat.holds(before, after) {
            Some(true) => "flat",
            Some(false) => {
                not_flat.push(name);
                "**NOT flat**"
            }
            None if matches!(flat, Flat::NotExpected(_)) => "–",
            None => {
                unjudged.push(name);
                "no data"
            }
        };
        let _ = writeln!(
            text,
            "| {name} | {}{unit} | {}{unit} | {} | {} | {verdict} |",
            number(before, decimals),
            number(after, decimals),
            number(after / before, 2),
            flat.rule()
        );
    }
    let _ = write!(text, "\n**Verdict:** ");
    if not_flat.is_empty() && unjudged.is_empty() {
        let _ = write!(
            text,
            "memory, throughput and latency stayed flat within the tolerances above"
        );
    }
    if !not_flat.is_empty() {
        let _ = write!(
            text,
            "the tolerance is **not met** for {}",
            not_flat.join(", ")
        );
    }
    if !unjudged.is_empty() {
        let _ = write!(
            text,
            "{}no data to judge {}",
            if not_flat.is_empty() { "" } else { "; " },
            unjudged.join(", ")
        );
    }
    if run.cut_short.is_some() {
        let _ = write!(text, " (in a run cut short)");
    }
    let errors: u64 = load
        .tallies()
        .iter()
        .map(|tally| tally.failed.load(Ordering::Relaxed))
        .sum();
    let _ = writeln!(
        text,
        "; {errors} errors and {} viewer disconnects in all (warm-up included).",
        load.disconnects.load(Ordering::Relaxed)
    );
    let stored = median(rows.iter().filter_map(|row| row.stored_per_second));
    let intended = intended_points_per_second();
    let _ = writeln!(
        text,
        "\nPoints stored: a median of {} a second, {}% of the {intended:.0} intended{}",
        number(stored, 0),
        number(100.0 * stored / intended, 0),
        if stored >= intended * THROUGHPUT_TOLERANCE {
            "."
        } else {
            ": **the intended load was not reached** (livedash, or the machine it shares \
             with the load generator and Redis, did not keep up), so the figures above are for \
             less load than described."
        }
    );
    text
}

fn totals(load: &Load, livedash: &Livedash) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n## Over the whole run (warm-up included)\n\n| traffic | succeeded | failed | p50 ms | \
         p99 ms | first failures |\n| --- | --- | --- | --- | --- | --- |"
    );
    for tally in load.tallies() {
        let mut latencies =
            std::mem::take(&mut *tally.latencies_ms.lock().expect("never poisoned"));
        let (p50, p99) = p50_p99(&mut latencies);
        let failures = tally.first_failures.lock().expect("never poisoned");
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            tally.name,
            tally.succeeded.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed),
            number(p50, 1),
            number(p99, 1),
            failures
                .iter()
                .map(|why| format!("`{}`", why.replace(['|', '`', '\n'], " ")))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let reasons = load.close_reasons.lock().expect("never poisoned");
    let _ = writeln!(
        text,
        "\nLive viewers: {} disconnects, {} reconnects, {} notices of a degraded stream.",
        load.disconnects.load(Ordering::Relaxed),
        load.reconnects.load(Ordering::Relaxed),
        load.degraded_notices.load(Ordering::Relaxed),
    );
    for (reason, count) in reasons.iter() {
        let _ = writeln!(text, "- {count} × {reason}");
    }
    let log = livedash.log.lock().expect("never poisoned");
    let _ = writeln!(
        text,
        "\nlivedash logged {} warnings and {} errors{}",
        log.warnings,
        log.errors,
        if log.first.is_empty() {
            ".".to_owned()
        } else {
            format!(
                "; the first {}:\n\n```text\n{}\n```",
                log.first.len(),
                log.first.join("\n")
            )
        }
    );
    text
}

/// A number from the environment, or `default`.
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

#[tokio::main]
async fn main() {
    let minutes: f64 = setting("SOAK_MINUTES", 30.0);
    let sample_seconds: u64 = setting("SAMPLE_SECONDS", 60);
    assert!(
        minutes > 0.0 && sample_seconds > 0,
        "SOAK_MINUTES and SAMPLE_SECONDS must be positive"
    );
    let report_path = std::env::var("SOAK_REPORT").unwrap_or_else(|_| "docs/soak.md".into());
    let rows_wanted = (minutes * 60.0 / sample_seconds as f64).round().max(1.0) as usize;
    clock_ms();
    let started = SystemTime::now();

    let redis = RedisServer::start();
    let mut redis_connection = redis.connection();
    let statsd_addr = format!("127.0.0.1:{}", free_port());
    let mut livedash = Livedash::start(
        &redis,
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
            // One load generator sends thousands of requests a second with one token.
            ("LIVEDASH_RATE_LIMIT", "off"),
            // The 1 000 viewers all come from 127.0.0.1.
            ("LIVEDASH_LIVE_SOCKETS_PER_ADDRESS", "off"),
            // They connect together, before their first request signs them in.
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "off"),
            ("LIVEDASH_STATSD_ADDR", &statsd_addr),
        ],
    );
    let base = format!("http://{}", livedash.addr);
    println!(
        "livedash {} (pid {}), Redis on port {}, StatsD to {statsd_addr}; {}, a row \
         every {sample_seconds} s",
        livedash.addr,
        livedash.pid(),
        redis.port(),
        minutes_phrase(minutes)
    );
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let ingest_token = create_token(&client, &base, "ingest").await;
    let viewer_token = create_token(&client, &base, "viewer").await;
    let dashboard: Dashboard = call_fn(
        &client,
        &base,
        "create_dashboard",
        json!({"dashboard": soak_dashboard(), "summary": "made by the soak benchmark"}),
    )
    .await
    .unwrap_or_else(|why| panic!("creating the dashboard to edit: {why}"));

    let load = Arc::new(Load::new());
    let mut tasks = start_ingest(&load, &client, &base, &ingest_token);
    tasks.push(tokio::spawn(send_statsd(load.clone(), statsd_addr)));
    tasks.push(tokio::spawn(edit_dashboard(
        load.clone(),
        client.clone(),
        base.clone(),
        dashboard,
    )));
    let connecting = Instant::now();
    let (viewer_tasks, viewers_ready) = connect_viewers(&load, &livedash.addr, &viewer_token).await;
    let connecting = connecting.elapsed();
    println!(
        "{viewers_ready} of {VIEWERS} viewers connected in {:.1} s; {} s to settle",
        connecting.as_secs_f64(),
        SETTLE.as_secs()
    );
    tokio::time::sleep(SETTLE).await;

    // The rows measure from here on: what came before is the warm-up.
    load.take_errors();
    load.disconnects_since_row.store(0, Ordering::Relaxed);
    for samples in [&load.ingest_latency, &load.live_latency, &load.save_latency] {
        samples.summary();
    }
    let soak_started = Instant::now();
    let redis_memory_at_start = redis_used_memory(&mut redis_connection);
    let mut previous_ms = unix_ms();
    let mut previous_sent = load.points_sent.load(Ordering::Relaxed);
    let mut previous_instant = Instant::now();
    let mut previous_redis_memory = redis_memory_at_start;
    let mut stored = StoredPoints::default();
    let mut rows: Vec<Row> = Vec::with_capacity(rows_wanted);
    let mut cut_short = None;
    let period = Duration::from_secs(sample_seconds);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    println!("\n{TABLE_HEADER}");
    while rows.len() < rows_wanted {
        ticks.tick().await;
        if let Some(status) = livedash.exited() {
            cut_short = Some(format!(
                "livedash exited ({status}) after {} minutes",
                minutes_text(soak_started.elapsed().as_secs_f64() / 60.0)
            ));
            break;
        }
        let now_ms = unix_ms();
        let sent = load.points_sent.load(Ordering::Relaxed);
        let seconds = previous_instant.elapsed().as_secs_f64();
        let redis_memory = redis_used_memory(&mut redis_connection);
        // The record before the window is needed too; self metrics come every 10 s.
        if let Err(why) = stored.refresh(&client, &base, previous_ms - 30_000).await {
            eprintln!("reading livedash_points_stored_total: {why}");
        }
        let stored_per_second = stored.per_second(previous_ms, now_ms);
        let redis_bytes_per_point = match (redis_memory, previous_redis_memory, stored_per_second) {
            (Some(now), Some(before), Some(rate)) if rate > 0.0 => {
                Some((now as f64 - before as f64) / (rate * seconds))
            }
            _ => None,
        };
        let row = Row {
            minute: soak_started.elapsed().as_secs_f64() / 60.0,
            rss: livedash.rss(),
            redis_memory,
            redis_bytes_per_point,
            open_files: livedash.open_files(),
            sent_per_second: (sent - previous_sent) as f64 / seconds,
            stored_per_second,
            ingest: load.ingest_latency.summary(),
            live: load.live_latency.summary(),
            save: load.save_latency.summary(),
            errors: load.take_errors(),
            viewers: load.viewers_connected.load(Ordering::Relaxed),
            disconnects: load.disconnects_since_row.swap(0, Ordering::Relaxed),
        };
        println!("{}", row_line(&row));
        rows.push(row);
        (previous_ms, previous_sent, previous_instant) = (now_ms, sent, Instant::now());
        previous_redis_memory = redis_memory;
    }

    load.stop.cancel();
    let ending = futures::future::join_all(tasks.into_iter().chain(viewer_tasks));
    if tokio::time::timeout(Duration::from_secs(15), ending)
        .await
        .is_err()
    {
        eprintln!("some load tasks did not end within 15 s");
    }
    let run = Run {
        started,
        minutes,
        sample_seconds,
        binary: std::env::var("LIVEDASH_BIN").unwrap_or_else(|_| "target/release/livedash".into()),
        redis_version: redis_info(&mut redis_connection, "server", "redis_version")
            .unwrap_or_else(|| "(unknown version)".to_owned()),
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        viewers_ready,
        connecting,
        cut_short,
    };
    let text = report(&run, &rows, &load, &livedash);
    println!("\n{text}");
    if let Err(error) = std::fs::write(&report_path, &text) {
        eprintln!("writing the report to {report_path}: {error}");
        std::process::exit(1);
    }
    println!("Written to {report_path}.");
}
