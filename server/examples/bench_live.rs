//! Live push latency and memory on loopback, against the release `livedash` binary.
//!
//! While 10 000 points/s arrive over 1 000 series (JSON batches of 100 every 10 ms, each
//! point's value the time it was sent), N viewers are connected and the time from the ingest
//! request to the WebSocket message that shows it is measured, for two cases: every viewer on
//! the same 10-widget dashboard, and every viewer on one series (viewer i on series i mod
//! 1 000). A bare Redis pub/sub subscriber to the same change notices gives the floor. Each row
//! also says how many points per second were really stored while it was measured. Before the
//! rows, the server's memory per idle viewer (connected, subscribed to the dashboard, no
//! traffic) is read from `/proc`.
//!
//! `cargo run --release -p server --example bench_live [seconds per case, default 8]
//! [viewer counts, default 1,100,1000,10000]` (or `make bench-live`). It starts its own
//! `redis-server` and livedash (`LIVEDASH_BIN`, default `target/release/livedash`); nothing else
//! is touched. Prints Markdown tables.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use app::live::{ClientMessage, LiveQuery};
use app::query::{Aggregation, Selector};
use futures::StreamExt;
use serde::Deserialize;
use server::testing::RedisServer;
use support::{Livedash, Samples, clock_ms, open_live, read_frames};

const SERIES: usize = 1_000;
const GROUPS: usize = 10;
/// 10 000 points/s as many services send them: 100 points (a tenth of the series, in turn)
/// every 10 ms, several requests in flight.
const BATCH_EVERY: Duration = Duration::from_millis(10);
const BATCH_POINTS: usize = 100;
const REQUESTS_IN_FLIGHT: usize = 8;
const WARM_UP: Duration = Duration::from_secs(2);
const CONNECTING_AT_ONCE: usize = 200;

/// Points the generator had accepted so far: what arrived really, against the 10 000/s meant.
static POINTS_STORED: AtomicU64 = AtomicU64::new(0);
/// Deltas the viewers received while measuring (a WebSocket frame carries one or more).
static DELTAS_RECEIVED: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Dashboard,
    PerSeries,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Self::Dashboard => "same 10-widget dashboard",
            Self::PerSeries => "one series each",
        }
    }

    /// The subscriptions of viewer `index`.
    fn queries(self, index: usize) -> Vec<LiveQuery> {
        let range = |selector: String, group_by: Option<Vec<String>>| LiveQuery::Range {
            selector: Selector::parse(&selector).unwrap(),
            aggregation: Aggregation::Max,
            step_ms: 1000,
            window_ms: 60_000,
            group_by,
        };
        match self {
            Self::Dashboard => (0..GROUPS)
                .map(|group| {
                    range(
                        format!(r#"bench_live{{group="{group}"}}"#),
                        Some(Vec::new()),
                    )
                })
                .collect(),
            Self::PerSeries => vec![range(
                format!(r#"bench_live{{series="{}"}}"#, index % SERIES),
                None,
            )],
        }
    }
}

/// Only what latency needs from a message: the bucket values.
#[derive(Deserialize)]
struct Light {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<LightData>,
}

#[derive(Deserialize)]
struct LightData {
    #[serde(default)]
    series: Vec<LightSeries>,
}

#[derive(Deserialize)]
struct LightSeries {
    points: Vec<(i64, f64)>,
}

/// The newest send time a frame shows, if it carries a delta, and how many deltas it carries.
fn newest_sent(text: &str) -> Option<(f64, u64)> {
    let messages: Vec<Light> = if text.starts_with('[') {
        serde_json::from_str(text).ok()?
    } else {
        vec![serde_json::from_str(text).ok()?]
    };
    let deltas = messages.iter().filter(|message| message.kind == "delta");
    let newest = deltas
        .clone()
        .filter_map(|message| message.data.as_ref())
        .flat_map(|data| &data.series)
        .flat_map(|series| &series.points)
        .map(|(_, value)| *value)
        .reduce(f64::max)?;
    Some((newest, deltas.count() as u64))
}

/// Sends 10 000 points/s over the 1 000 series while `paused` is false, until `stop`.
async fn generate(base: String, paused: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT));
    let mut ticks = tokio::time::interval(BATCH_EVERY);
    let mut next_series = 0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        if paused.load(Ordering::Relaxed) {
            continue;
        }
        let sent = clock_ms();
        let points: Vec<String> = (next_series..next_series + BATCH_POINTS)
            .map(|i| {
                format!(
                    r#"{{"name":"bench_live","labels":{{"series":"{i}","group":"{}"}},"value":{sent}}}"#,
                    i % GROUPS
                )
            })
            .collect();
        next_series = (next_series + BATCH_POINTS) % SERIES;
        let body = format!("[{}]", points.join(","));
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let request = client
            .post(format!("{base}/api/v1/ingest"))
            .header("content-type", "application/json")
            .body(body);
        let stop = stop.clone();
        tokio::spawn(async move {
            let response = request.send().await;
            // Requests cut off by the end of the run do not count.
            if !stop.load(Ordering::Relaxed) {
                assert!(
                    response.is_ok_and(|r| r.status().is_success()),
                    "ingest failed"
                );
                POINTS_STORED.fetch_add(BATCH_POINTS as u64, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
}

/// A bare subscriber to livedash's change notices: the time from the ingest request to the
/// notice reaching a Redis client.
async fn floor_subscriber(redis_url: String, samples: Arc<Samples>, measuring: Arc<AtomicBool>) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("ld:live").await.unwrap();
    let mut messages = pubsub.into_on_message();
    let mut local = Vec::new();
    while let Some(message) = messages.next().await {
        let received = clock_ms();
        let payload: Vec<u8> = message.get_payload_bytes().to_vec();
        let Ok((_, notice)) = server::storage::changes::parse_published(&payload) else {
            continue;
        };
        if let Some(sent) = notice
            .series
            .iter()
            .filter_map(|change| change.current.map(|(value, _)| value))
            .reduce(f64::max)
            && measuring.load(Ordering::Relaxed)
        {
            local.push(received - sent);
            samples.add(&mut local);
        }
    }
}

/// Connects viewer `index`, subscribes, waits for its snapshots, then records latencies while
/// `measuring` holds, until `stop`.
async fn viewer(
    addr: String,
    queries: Vec<LiveQuery>,
    ready: tokio::sync::mpsc::Sender<()>,
    samples: Arc<Samples>,
    measuring: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
) {
    let messages: Vec<ClientMessage> = queries
        .iter()
        .enumerate()
        .map(|(id, query)| ClientMessage::Subscribe {
            id: id as u32,
            query: query.clone(),
            after: None,
        })
        .collect();
    let socket = open_live(&addr, &messages).await;
    let mut snapshots = 0;
    let mut local = Vec::new();
    read_frames(socket, &stop, |text, received| {
        if snapshots < queries.len() {
            snapshots += text.matches(r#""type":"snapshot""#).count();
            if snapshots >= queries.len() {
                // The channel holds one place per viewer.
                let _ = ready.try_send(());
            }
        }
        if measuring.load(Ordering::Relaxed)
            && let Some((sent, deltas)) = newest_sent(text)
        {
            DELTAS_RECEIVED.fetch_add(deltas, Ordering::Relaxed);
            local.push(received - sent);
            if local.len() >= 256 {
                samples.add(&mut local);
            }
        }
    })
    .await;
    samples.add(&mut local);
}

/// Connects `count` viewers of `case` and waits until each has its snapshots.
async fn connect_viewers(
    addr: &str,
    case: Case,
    count: usize,
    samples: &Arc<Samples>,
    measuring: &Arc<AtomicBool>,
    stop: &Arc<tokio::sync::Notify>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(count.max(1));
    let mut tasks = Vec::with_capacity(count);
    let mut connected = 0;
    for index in 0..count {
        tasks.push(tokio::spawn(viewer(
            addr.to_owned(),
            case.queries(index),
            ready_tx.clone(),
            samples.clone(),
            measuring.clone(),
            stop.clone(),
        )));
        // A bounded number of handshakes in flight.
        if index + 1 - connected >= CONNECTING_AT_ONCE {
            ready.recv().await;
            connected += 1;
        }
    }
    while connected < count {
        tokio::time::timeout(Duration::from_secs(120), ready.recv())
            .await
            .expect("viewers did not all get their snapshots");
        connected += 1;
    }
    tasks
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let counts: Vec<usize> = args
        .next()
        .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 100, 1_000, 10_000]);
    clock_ms();
    let redis = RedisServer::start();
    let livedash = Livedash::start(
        &redis,
        &[
            ("LIVEDASH_STATSD_ADDR", "off"),
            ("LIVEDASH_SELF_METRICS", "off"),
            // The push and write paths are measured, not access control or its limits.
            ("LIVEDASH_AUTH", "off"),
            ("LIVEDASH_RATE_LIMIT", "off"),
            ("LIVEDASH_LIVE_SOCKETS_PER_ADDRESS", "off"),
            // Thousands of viewers connect at once, all from 127.0.0.1.
            ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "off"),
        ],
    );
    let base = format!("http://{}", livedash.addr);
    println!(
        "livedash {} (pid {}), {seconds} s per case\n",
        livedash.addr,
        livedash.pid()
    );

    let stop_generator = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let floor = Arc::new(Samples::default());
    let floor_measuring = Arc::new(AtomicBool::new(false));
    // The generator stands for services on other machines, and the floor subscriber for a
    // Redis client with nothing else to do: both get a thread and runtime of their own, so
    // that a send time is taken when the request really leaves, not before it waits behind
    // thousands of viewer tasks of this same process.
    let generator = {
        let (base, paused, stop) = (base.clone(), paused.clone(), stop_generator.clone());
        let (redis_url, floor, floor_measuring) =
            (redis.url(), floor.clone(), floor_measuring.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the generator")
                .block_on(async move {
                    tokio::spawn(floor_subscriber(redis_url, floor, floor_measuring));
                    generate(base, paused, stop).await;
                });
        })
    };

    // Memory per idle viewer first, before any traffic to viewers has grown the heap: the
    // series exist, nothing arrives, viewers connect and subscribe to the dashboard.
    tokio::time::sleep(Duration::from_secs(2)).await;
    paused.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = *counts.iter().max().unwrap_or(&1_000);
    let before = livedash.rss().expect("livedash is running");
    let samples = Arc::new(Samples::default());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(tokio::sync::Notify::new());
    let tasks = connect_viewers(
        &livedash.addr,
        Case::Dashboard,
        idle,
        &samples,
        &measuring,
        &stop,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = livedash.rss().expect("livedash is running");
    println!(
        "Server memory with {idle} idle viewers on the 10-widget dashboard: {:.1} MB before, \
         {:.1} MB after: {:.1} KB per viewer.\n",
        before as f64 / 1e6,
        after as f64 / 1e6,
        after.saturating_sub(before) as f64 / idle as f64 / 1024.0
    );
    stop.notify_waiters();
    for task in tasks {
        let _ = task.await;
    }
    paused.store(false, Ordering::Relaxed);

    println!(
        "| viewers | case | points/s stored | frames measured | deltas/s received | p50 ms | p99 ms | Redis pub/sub floor p50 / p99 ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for &count in &counts {
        for case in [Case::Dashboard, Case::PerSeries] {
            let samples = Arc::new(Samples::default());
            let measuring = Arc::new(AtomicBool::new(false));
            let stop = Arc::new(tokio::sync::Notify::new());
            let tasks =
                connect_viewers(&livedash.addr, case, count, &samples, &measuring, &stop).await;
            tokio::time::sleep(WARM_UP).await;
            measuring.store(true, Ordering::Relaxed);
            floor_measuring.store(true, Ordering::Relaxed);
            let stored_before = POINTS_STORED.load(Ordering::Relaxed);
            let deltas_before = DELTAS_RECEIVED.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let stored = POINTS_STORED.load(Ordering::Relaxed) - stored_before;
            let deltas = DELTAS_RECEIVED.load(Ordering::Relaxed) - deltas_before;
            measuring.store(false, Ordering::Relaxed);
            floor_measuring.store(false, Ordering::Relaxed);
            stop.notify_waiters();
            for task in tasks {
                let _ = task.await;
            }
            let (n, p50, p99) = samples.summary();
            let (_, floor50, floor99) = floor.summary();
            println!(
                "| {count} | {} | {:.0} | {n} | {:.0} | {p50:.1} | {p99:.1} | {floor50:.1} / {floor99:.1} |",
                case.name(),
                stored as f64 / seconds as f64,
                deltas as f64 / seconds as f64
            );
        }
    }

    stop_generator.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || generator.join()).await;
}
