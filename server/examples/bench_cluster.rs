//! livedash on one Redis against a three-master Redis Cluster, with one and with three livedash
//! processes: what each stored point costs, from which a deployment can be sized.
//!
//! For each case, on a Redis (or cluster) and processes of its own:
//!
//! 1. **Ingest**: four writers post InfluxDB line protocol (`/api/v2/write`, 5 000 points a
//!    request over 10 000 series) as fast as livedash takes them, spread over the processes in
//!    turn. Points/s is the median over the seconds measured; the Redis CPU each master spent
//!    (`INFO cpu`, user and system) and livedash's own CPU (`/proc`) are divided by the points
//!    stored.
//! 2. **Live**: 10 000 points/s (100 every 10 ms, over 1 000 series, each point's value the
//!    time it was sent) while 1 000 viewers, spread over the processes, each watch one series;
//!    the time from the ingest request to the viewer's delta gives p50 and p99. The Redis CPU
//!    per stored point is measured again (every point is now also a change notice that every
//!    process receives), with the cluster bus's pub/sub messages (`CLUSTER INFO`): a classic
//!    channel (`LIVEDASH_LIVE_PARTITIONS=1`) is copied to every node, a sharded one is not.
//!
//! Ratios are against the first case (one process on one Redis), measured in the same run.
//! This machine's cores are shared by Redis, livedash and the load, so absolute figures do not
//! show scaling; the per-point costs are what carry over.
//!
//! `cargo run --release -p server --example bench_cluster [seconds per phase, default 10]`
//! (or `make bench-cluster`). It starts its own `redis-server`s and livedash processes
//! (`LIVEDASH_BIN`, default `target/release/livedash`); nothing else is touched. Prints
//! Markdown tables.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::live::{ClientMessage, LiveQuery};
use app::query::{Aggregation, Selector};
use server::testing::{RedisCluster, RedisServer, Topology};
use support::{Livedash, Samples, clock_ms, open_live, read_frames};

/// Ingest phase: writers, points per request, series written.
const WRITERS: usize = 4;
const BATCH: usize = 5_000;
const INGEST_SERIES: usize = 10_000;
/// Live phase: 100 points every 10 ms over 1 000 series, several requests in flight.
const LIVE_SERIES: usize = 1_000;
const BATCH_EVERY: Duration = Duration::from_millis(10);
const BATCH_POINTS: usize = 100;
const REQUESTS_IN_FLIGHT: usize = 8;
const VIEWERS: usize = 1_000;
const CONNECTING_AT_ONCE: usize = 200;
const WARM_UP: Duration = Duration::from_secs(2);

/// The Redis of a case.
enum Backend {
    Single(RedisServer),
    Cluster(RedisCluster),
}

impl Backend {
    fn url(&self) -> String {
        match self {
            Self::Single(redis) => redis.url(),
            Self::Cluster(cluster) => cluster.url(),
        }
    }

    /// A connection to each master.
    fn masters(&self) -> Vec<redis::Connection> {
        match self {
            Self::Single(redis) => vec![
                redis::Client::open(redis.url())
                    .and_then(|client| client.get_connection())
                    .expect("the Redis answers"),
            ],
            Self::Cluster(cluster) => (0..cluster.masters())
                .map(|index| cluster.node_connection(index))
                .collect(),
        }
    }
}

/// One case: its Redis, how many processes, how many change-log partitions.
struct Case {
    name: &'static str,
    cluster: bool,
    processes: usize,
    partitions: Option<&'static str>,
}

const CASES: [Case; 5] = [
    Case {
        name: "one Redis",
        cluster: false,
        processes: 1,
        partitions: None,
    },
    Case {
        name: "one Redis",
        cluster: false,
        processes: 3,
        partitions: None,
    },
    Case {
        name: "3-master cluster, sharded pub/sub (8 partitions)",
        cluster: true,
        processes: 1,
        partitions: None,
    },
    Case {
        name: "3-master cluster, sharded pub/sub (8 partitions)",
        cluster: true,
        processes: 3,
        partitions: None,
    },
    Case {
        name: "3-master cluster, classic pub/sub (1 partition)",
        cluster: true,
        processes: 3,
        partitions: Some("1"),
    },
];

/// What one Redis node has spent and passed on so far.
#[derive(Clone, Copy, Default)]
struct NodeUsage {
    cpu_seconds: f64,
    /// Pub/sub messages sent over the cluster bus.
    bus_publishes: u64,
}

fn node_usage(connection: &mut redis::Connection) -> NodeUsage {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query(connection)
        .expect("INFO cpu");
    let field = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let cpu_seconds = field(&info, "used_cpu_user") + field(&info, "used_cpu_sys");
    let cluster: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query(connection)
        .unwrap_or_default();
    NodeUsage {
        cpu_seconds,
        bus_publishes: field(&cluster, "cluster_stats_messages_publish_sent") as u64,
    }
}

fn usage(masters: &mut [redis::Connection]) -> Vec<NodeUsage> {
    masters.iter_mut().map(node_usage).collect()
}

/// Per-master CPU µs and total, and bus publishes, between two readings, per stored point.
struct Spent {
    per_master_us: Vec<f64>,
    total_us: f64,
    bus_per_point: f64,
}

fn spent(before: &[NodeUsage], after: &[NodeUsage], points: u64) -> Spent {
    let points = points.max(1) as f64;
    let per_master_us: Vec<f64> = before
        .iter()
        .zip(after)
        .map(|(b, a)| (a.cpu_seconds - b.cpu_seconds) * 1e6 / points)
        .collect();
    let bus: u64 = before
        .iter()
        .zip(after)
        .map(|(b, a)| a.bus_publishes.saturating_sub(b.bus_publishes))
        .sum();
    Spent {
        total_us: per_master_us.iter().sum(),
        per_master_us,
        bus_per_point: bus as f64 / points,
    }
}

fn livedash_cpu(processes: &[Livedash]) -> f64 {
    processes
        .iter()
        .filter_map(Livedash::cpu_seconds)
        .sum::<f64>()
}

/// Posts line protocol as fast as it is taken, over the processes in turn, until `stop`;
/// counts the points stored in `stored`.
async fn write_flat_out(
    bases: Arc<Vec<String>>,
    writer: usize,
    stored: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let client = reqwest::Client::new();
    let mut round = 0_usize;
    while !stop.load(Ordering::Relaxed) {
        let now_ns = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64)
            * 1_000_000;
        let first = (round * WRITERS + writer) * BATCH % INGEST_SERIES;
        let body: String = (0..BATCH)
            .map(|i| {
                format!(
                    "bench_cluster,series={} value={}i {}\n",
                    (first + i) % INGEST_SERIES,
                    round,
                    now_ns + i as u64
                )
            })
            .collect();
        let base = &bases[(round + writer) % bases.len()];
        let response = client
            .post(format!("{base}/api/v2/write?precision=ns"))
            .body(body)
            .send()
            .await;
        if response.is_ok_and(|r| r.status().is_success()) && !stop.load(Ordering::Relaxed) {
            stored.fetch_add(BATCH as u64, Ordering::Relaxed);
        }
        round += 1;
    }
}

/// Sends 10 000 points/s over the live series, over the processes in turn, until `stop`.
async fn generate(bases: Arc<Vec<String>>, stored: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT));
    let mut ticks = tokio::time::interval(BATCH_EVERY);
    let mut next_series = 0;
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let sent = clock_ms();
        let points: Vec<String> = (next_series..next_series + BATCH_POINTS)
            .map(|i| {
                format!(r#"{{"name":"bench_live","labels":{{"series":"{i}"}},"value":{sent}}}"#)
            })
            .collect();
        next_series = (next_series + BATCH_POINTS) % LIVE_SERIES;
        let base = &bases[round % bases.len()];
        round += 1;
        let permit = in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let request = client
            .post(format!("{base}/api/v1/ingest"))
            .header("content-type", "application/json")
            .body(format!("[{}]", points.join(",")));
        let (stop, stored) = (stop.clone(), stored.clone());
        tokio::spawn(async move {
            let response = request.send().await;
            if !stop.load(Ordering::Relaxed) && response.is_ok_and(|r| r.status().is_success()) {
                stored.fetch_add(BATCH_POINTS as u64, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
}

/// The newest send time a frame shows, if it carries a delta.
fn newest_sent(text: &str) -> Option<f64> {
    if !text.contains(r#""type":"delta""#) {
        return None;
    }
    let messages: Vec<serde_json::Value> = if text.starts_with('[') {
        serde_json::from_str(text).ok()?
    } else {
        vec![serde_json::from_str(text).ok()?]
    };
    messages
        .iter()
        .filter_map(|message| message["data"]["series"].as_array())
        .flatten()
        .filter_map(|series| series["points"].as_array())
        .flatten()
        .filter_map(|point| point[1].as_f64())
        .reduce(f64::max)
}

/// A viewer of one series: records latencies while `measuring`, until `stop`.
async fn viewer(
    addr: String,
    series: usize,
    ready: tokio::sync::mpsc::Sender<()>,
    samples: Arc<Samples>,
    measuring: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
) {
    let subscribe = ClientMessage::Subscribe {
        id: 0,
        query: LiveQuery::Range {
            selector: Selector::parse(&format!(r#"bench_live{{series="{series}"}}"#))
                .expect("a selector"),
            aggregation: Aggregation::Max,
            step_ms: 1000,
            window_ms: 60_000,
            group_by: None,
        },
        after: None,
    };
    let socket = open_live(&addr, &[subscribe]).await;
    let mut snapshot = false;
    let mut local = Vec::new();
    read_frames(socket, &stop, |text, received| {
        if !snapshot && text.contains(r#""type":"snapshot""#) {
            snapshot = true;
            // The channel holds one place per viewer.
            let _ = ready.try_send(());
        }
        if measuring.load(Ordering::Relaxed)
            && let Some(sent) = newest_sent(text)
        {
            local.push(received - sent);
            if local.len() >= 64 {
                samples.add(&mut local);
            }
        }
    })
    .await;
    samples.add(&mut local);
}

/// What one case measured.
struct Measured {
    points_per_second: f64,
    ingest: Spent,
    livedash_us: f64,
    live_stored_per_second: f64,
    p50: f64,
    p99: f64,
    live: Spent,
}

async fn run_case(case: &Case, seconds: u64) -> Measured {
    let backend = if case.cluster {
        Backend::Cluster(RedisCluster::start(3, 0))
    } else {
        Backend::Single(RedisServer::start_as(Topology::Standalone, false))
    };
    let mut settings = vec![
        ("LIVEDASH_STATSD_ADDR", "off"),
        ("LIVEDASH_SELF_METRICS", "off"),
        ("LIVEDASH_AUTH", "off"),
        ("LIVEDASH_RATE_LIMIT", "off"),
        ("LIVEDASH_LIVE_SOCKETS_PER_ADDRESS", "off"),
        ("LIVEDASH_CONNECTIONS_PER_ADDRESS", "off"),
    ];
    if let Some(partitions) = case.partitions {
        settings.push(("LIVEDASH_LIVE_PARTITIONS", partitions));
    }
    let processes: Vec<Livedash> = (0..case.processes)
        .map(|_| Livedash::start_on(&backend.url(), &settings))
        .collect();
    let bases = Arc::new(
        processes
            .iter()
            .map(|process| format!("http://{}", process.addr))
            .collect::<Vec<_>>(),
    );
    let mut masters = backend.masters();

    // 1. Ingest flat out.
    let stored = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            tokio::spawn(write_flat_out(
                bases.clone(),
                writer,
                stored.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let (redis_before, cpu_before, points_before) = (
        usage(&mut masters),
        livedash_cpu(&processes),
        stored.load(Ordering::Relaxed),
    );
    let mut per_second = Vec::new();
    let mut last = points_before;
    for _ in 0..seconds {
        let tick = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = stored.load(Ordering::Relaxed);
        per_second.push((now - last) as f64 / tick.elapsed().as_secs_f64());
        last = now;
    }
    let points = stored.load(Ordering::Relaxed) - points_before;
    let (redis_after, cpu_after) = (usage(&mut masters), livedash_cpu(&processes));
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        let _ = writer.await;
    }
    per_second.sort_by(f64::total_cmp);
    let points_per_second = per_second.get(per_second.len() / 2).copied().unwrap_or(0.0);
    let ingest = spent(&redis_before, &redis_after, points);
    let livedash_us = (cpu_after - cpu_before) * 1e6 / points.max(1) as f64;

    // 2. Live: a steady load and 1 000 viewers.
    let stored = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let generator = {
        let (bases, stored, stop) = (bases.clone(), stored.clone(), stop.clone());
        // Services on other machines: a thread and runtime of their own, so that a send time
        // is taken when the request leaves, not behind the viewers' tasks.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(generate(bases, stored, stop));
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = Arc::new(Samples::default());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop_viewers = Arc::new(tokio::sync::Notify::new());
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(VIEWERS);
    let mut viewers = Vec::with_capacity(VIEWERS);
    let mut connected = 0;
    for index in 0..VIEWERS {
        viewers.push(tokio::spawn(viewer(
            processes[index % processes.len()].addr.clone(),
            index % LIVE_SERIES,
            ready_tx.clone(),
            samples.clone(),
            measuring.clone(),
            stop_viewers.clone(),
        )));
        if index + 1 - connected >= CONNECTING_AT_ONCE {
            ready.recv().await;
            connected += 1;
        }
    }
    while connected < VIEWERS {
        tokio::time::timeout(Duration::from_secs(120), ready.recv())
            .await
            .expect("viewers did not all get their snapshots");
        connected += 1;
    }
    tokio::time::sleep(WARM_UP).await;
    measuring.store(true, Ordering::Relaxed);
    let (redis_before, points_before, started) = (
        usage(&mut masters),
        stored.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let points = stored.load(Ordering::Relaxed) - points_before;
    let elapsed = started.elapsed().as_secs_f64();
    let redis_after = usage(&mut masters);
    measuring.store(false, Ordering::Relaxed);
    stop_viewers.notify_waiters();
    for viewer in viewers {
        let _ = viewer.await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || generator.join()).await;
    let (_, p50, p99) = samples.summary();
    for process in &processes {
        let log = process.log.lock().expect("never poisoned");
        if log.errors > 0 {
            eprintln!(
                "{}: {} errors, first: {:?}",
                case.name, log.errors, log.first
            );
        }
    }
    Measured {
        points_per_second,
        ingest,
        livedash_us,
        live_stored_per_second: points as f64 / elapsed,
        p50,
        p99,
        live: spent(&redis_before, &redis_after, points),
    }
}

fn masters_text(spent: &Spent) -> String {
    spent
        .per_master_us
        .iter()
        .map(|us| format!("{us:.1}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    clock_ms();
    let mut results = Vec::new();
    for case in &CASES {
        eprintln!("{} with {} process(es)…", case.name, case.processes);
        results.push(run_case(case, seconds).await);
    }
    let baseline = &results[0];
    println!("Ingest (line protocol, 4 writers, 5 000 points a request, {seconds} s):\n");
    println!(
        "| Redis | processes | points/s (median second) | vs one Redis, 1 process | Redis CPU µs per point, per master | Redis CPU µs per point, all | livedash CPU µs per point |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (case, measured) in CASES.iter().zip(&results) {
        println!(
            "| {} | {} | {:.0} | {:.2} | {} | {:.1} | {:.1} |",
            case.name,
            case.processes,
            measured.points_per_second,
            measured.points_per_second / baseline.points_per_second,
            masters_text(&measured.ingest),
            measured.ingest.total_us,
            measured.livedash_us,
        );
    }
    println!(
        "\nLive push (10 000 points/s over 1 000 series, {VIEWERS} viewers of one series each, spread over the processes, {seconds} s):\n"
    );
    println!(
        "| Redis | processes | points/s stored | p50 ms | p99 ms | Redis CPU µs per point, per master | Redis CPU µs per point, all | cluster-bus publishes per point |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (case, measured) in CASES.iter().zip(&results) {
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.1} | {:.2} |",
            case.name,
            case.processes,
            measured.live_stored_per_second,
            measured.p50,
            measured.p99,
            masters_text(&measured.live),
            measured.live.total_us,
            measured.live.bus_per_point,
        );
    }
}
