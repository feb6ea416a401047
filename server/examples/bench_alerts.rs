//! Alerts on loopback, against the release `livedash` binary: the time from an ingest request
//! to the first byte of the webhook request it causes, and what 1 000 rules cost ingest.
//!
//! 1 000 rules, one per series of `bench_alert{series="0"…"999"}` (the maximum over 2 s above
//! 10⁹, or with `BENCH_ALERT_FN=sum` the sum, which every write has evaluated; no pending
//! period, no grouping, one webhook contact point), while 10 000 points/s of
//! ordinary values arrive (100 points every 10 ms, in turn over the series). Twenty times a
//! second a probe point is written to one series with the value 10⁹ + the time it was sent;
//! its rule fires, and the receiver (a bare TCP server on a thread of its own) takes the time
//! at which the first byte of each webhook request arrives and reads the probe's send time from
//! the payload's value. Each firing resolves 2 s later, when the probe leaves the window.
//!
//! Then, on a Redis and processes of their own, ingest throughput: four writers send batches
//! of 5 000 points over the same series as fast as livedash takes them, alternately with no
//! rule and with the 1 000 rules (imported in one request, deleted after), five rounds; the
//! medians are compared, and each round's change.
//!
//! Both with one livedash process and with three on the same Redis (requests spread over
//! them in turn). `cargo run --release -p server --example bench_alerts [seconds per case,
//! default 10] [process counts, default 1,3] [throughput rounds, default 5]` (or `make bench-alerts`). It starts its own
//! `redis-server` and livedash processes (`LIVEDASH_BIN`, default `target/release/livedash`);
//! nothing else is touched. Prints Markdown tables.

mod support;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::testing::RedisServer;
use support::{Livedash, clock_ms};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SERIES: usize = 1_000;
const METRIC: &str = "bench_alert";
/// Probe values lie above this, ordinary ones far below.
const THRESHOLD: f64 = 1e9;
const WINDOW_MS: i64 = 2_000;
/// Background load: 100 points every 10 ms, several requests in flight.
const BATCH_EVERY: Duration = Duration::from_millis(10);
const BATCH_POINTS: usize = 100;
const REQUESTS_IN_FLIGHT: usize = 8;
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// Series probed in turn, this far apart, so that a series is probed again long after its
/// firing resolved.
const PROBE_STRIDE: usize = 7;
/// Throughput case: writers, and points per request.
const WRITERS: usize = 4;
const THROUGHPUT_BATCH: usize = 5_000;
/// Throughput rounds when not given.
const ROUNDS: usize = 5;
const WARM_UP: Duration = Duration::from_secs(3);

/// What the receiver saw.
#[derive(Default)]
struct Received {
    latencies: Mutex<Vec<f64>>,
    firing: AtomicU64,
    resolved: AtomicU64,
    duplicates: AtomicU64,
    ids: Mutex<HashSet<String>>,
    /// The measured span, `clock_ms` at its start and end (as `f64` bits): probes sent in it
    /// are counted, and notifications received in it.
    from: AtomicU64,
    to: AtomicU64,
}

impl Received {
    /// One webhook body, whose first byte arrived at `at`.
    fn take(&self, body: &[u8], at: f64) {
        let Ok(payload) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let id = payload["livedash"]["notificationId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !self.ids.lock().expect("never poisoned").insert(id) {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let measured = |time: f64| time >= self.at(&self.from) && time < self.at(&self.to);
        match payload["status"].as_str() {
            Some("firing") => {
                if let Some(value) = payload["livedash"]["value"].as_f64()
                    && value >= THRESHOLD
                    && measured(value - THRESHOLD)
                {
                    self.firing.fetch_add(1, Ordering::Relaxed);
                    self.latencies
                        .lock()
                        .expect("never poisoned")
                        .push(at - (value - THRESHOLD));
                }
            }
            Some("resolved") if measured(at) => {
                self.resolved.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

impl Received {
    fn at(&self, bound: &AtomicU64) -> f64 {
        f64::from_bits(bound.load(Ordering::Relaxed))
    }

    fn measure(&self, from: f64, to: f64) {
        self.from.store(from.to_bits(), Ordering::Relaxed);
        self.to.store(to.to_bits(), Ordering::Relaxed);
    }
}

/// Where a request's head ends and how long its body is, once the head is complete.
fn head(buffer: &[u8]) -> Option<(usize, usize)> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&buffer[..end]).ok()?;
    let length = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    Some((end, length))
}

/// One connection of the receiver: HTTP/1.1 requests one after another, each answered 200.
async fn receive(mut socket: tokio::net::TcpStream, received: Arc<Received>) {
    let mut buffer = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut first_byte: Option<f64> = None;
    loop {
        while let Some((end, length)) = head(&buffer) {
            if buffer.len() < end + length {
                break;
            }
            let at = first_byte.take().unwrap_or_else(clock_ms);
            received.take(&buffer[end..end + length], at);
            buffer.drain(..end + length);
            if !buffer.is_empty() {
                first_byte = Some(clock_ms());
            }
            if socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
        let Ok(read) = socket.read(&mut chunk).await else {
            return;
        };
        if read == 0 {
            return;
        }
        if buffer.is_empty() && first_byte.is_none() {
            first_byte = Some(clock_ms());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The receiver on a thread and runtime of its own, so that arrival times are taken when the
/// bytes arrive; its address.
fn start_receiver(received: Arc<Received>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the receiver")
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((socket, _)) = listener.accept().await {
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(receive(socket, received.clone()));
                }
            });
    });
    format!("http://{addr}/hook")
}

/// The rules' aggregation: `BENCH_ALERT_FN`, `max` (a write of ordinary values cannot move
/// such a rule, so most writes need no evaluation) or `sum` (every write is evaluated).
fn aggregation() -> String {
    match std::env::var("BENCH_ALERT_FN").as_deref() {
        Ok("sum") => "sum".to_owned(),
        Ok("max") | Err(_) => "max".to_owned(),
        Ok(other) => panic!("BENCH_ALERT_FN={other}: use max or sum"),
    }
}

/// The 1 000 rules as one alerting document.
fn rules_document() -> Value {
    let aggregation = aggregation();
    let rules: Vec<Value> = (0..SERIES)
        .map(|i| {
            json!({
                "id": format!("bench-{i}"),
                "name": format!("series {i} high"),
                "source": {
                    "kind": "metric",
                    "selector": format!(r#"{METRIC}{{series="{i}"}}"#),
                    "aggregation": {"fn": aggregation},
                    "window_ms": WINDOW_MS,
                    "group_by": [],
                },
                "condition": {"op": "above", "critical": {"raise": THRESHOLD}},
                "summary": "{{ $value }}",
                "contact_points": ["receiver"],
            })
        })
        .collect();
    json!({ "rules": rules })
}

/// Requests to livedash processes in turn.
struct Processes {
    client: reqwest::Client,
    bases: Vec<String>,
    next: AtomicU64,
}

impl Processes {
    fn base(&self) -> &str {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) as usize;
        &self.bases[turn % self.bases.len()]
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base()))
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("livedash answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn ingest(&self, body: String) {
        self.send(reqwest::Method::POST, "/api/v1/ingest", Some(body))
            .await;
    }

    async fn add_rules(&self) {
        let document = rules_document().to_string();
        self.send(
            reqwest::Method::POST,
            "/api/v1/alerts/import",
            Some(document),
        )
        .await;
    }

    async fn delete_rules(&self) {
        for i in 0..SERIES {
            self.send(
                reqwest::Method::DELETE,
                &format!("/api/v1/alerts/rules/bench-{i}"),
                None,
            )
            .await;
        }
    }
}

/// `count` points of ordinary values, from series `from` on in turn. Zeros for sums, so
/// that a window's sum is its probe's value, which carries the probe's send time.
fn batch(from: usize, count: usize, value: usize) -> String {
    let zeros = aggregation() == "sum";
    let mut body = String::with_capacity(count * 64);
    body.push('[');
    for i in 0..count {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"name":"{METRIC}","labels":{{"series":"{}"}},"value":{}}}"#,
            (from + i) % SERIES,
            if zeros { 0 } else { (value + i) % 100 }
        );
    }
    body.push(']');
    body
}

/// Points per second taken by livedash from four writers sending as fast as it answers.
async fn throughput(processes: &Arc<Processes>, duration: Duration) -> f64 {
    let points = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (processes, points) = (processes.clone(), points.clone());
            tokio::spawn(async move {
                let mut round = writer;
                while started.elapsed() < duration {
                    processes.ingest(batch(0, THROUGHPUT_BATCH, round)).await;
                    round += WRITERS;
                    points.fetch_add(THROUGHPUT_BATCH as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    points.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// 10 000 ordinary points/s and twenty probes/s until `stop`; counts the probes sent while
/// `measuring`.
async fn load(
    processes: Arc<Processes>,
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
    probes: Arc<AtomicU64>,
) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT));
    let prober = {
        let (processes, stop) = (processes.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PROBE_EVERY);
            let mut series = 0;
            while !stop.load(Ordering::Relaxed) {
                ticks.tick().await;
                series = (series + PROBE_STRIDE) % SERIES;
                let sent = clock_ms();
                let body = format!(
                    r#"[{{"name":"{METRIC}","labels":{{"series":"{series}"}},"value":{}}}]"#,
                    THRESHOLD + sent
                );
                let counted = measuring.load(Ordering::Relaxed);
                let processes = processes.clone();
                let probes = probes.clone();
                tokio::spawn(async move {
                    processes.ingest(body).await;
                    if counted {
                        probes.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        })
    };
    let mut ticks = tokio::time::interval(BATCH_EVERY);
    let mut next = 0;
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let body = batch(next, BATCH_POINTS, round);
        next = (next + BATCH_POINTS) % SERIES;
        round += 1;
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let processes = processes.clone();
        tokio::spawn(async move {
            processes.ingest(body).await;
            drop(permit);
        });
    }
    let _ = prober.await;
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `count` processes on a fresh Redis, with the webhook contact point to a new receiver and
/// every series written once.
async fn start(count: usize) -> (RedisServer, Vec<Livedash>, Arc<Processes>, Arc<Received>) {
    let redis = RedisServer::start();
    let settings = [
        ("LIVEDASH_STATSD_ADDR", "off"),
        ("LIVEDASH_SELF_METRICS", "off"),
        // Alerting and ingest are measured, not access control or its limits.
        ("LIVEDASH_AUTH", "off"),
        ("LIVEDASH_RATE_LIMIT", "off"),
    ];
    let livedash: Vec<Livedash> = (0..count)
        .map(|_| Livedash::start(&redis, &settings))
        .collect();
    let processes = Arc::new(Processes {
        client: reqwest::Client::new(),
        bases: livedash
            .iter()
            .map(|process| format!("http://{}", process.addr))
            .collect(),
        next: AtomicU64::new(0),
    });
    let received = Arc::new(Received::default());
    let hook = start_receiver(received.clone());
    processes
        .send(
            reqwest::Method::POST,
            "/api/v1/alerts/contact-points",
            Some(json!({"name": "receiver", "kind": "webhook", "url": hook}).to_string()),
        )
        .await;
    processes.ingest(batch(0, SERIES, 0)).await;
    (redis, livedash, processes, received)
}

/// Ingest throughput of `count` processes, without rules and with them.
async fn throughput_case(count: usize, seconds: u64, rounds: usize) -> String {
    let (_redis, _livedash, processes, _) = start(count).await;
    let duration = Duration::from_secs(seconds);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        without.push(throughput(&processes, duration).await);
        processes.add_rules().await;
        // Every process reloads the rules within a second.
        tokio::time::sleep(Duration::from_secs(2)).await;
        with.push(throughput(&processes, duration).await);
        processes.delete_rules().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Each round's change, against the round without rules just before it: what the
    // machine's other load did to both halves of a round mostly cancels out.
    let paired: Vec<String> = without
        .iter()
        .zip(&with)
        .map(|(without, with)| format!("{:+.1}", (with / without - 1.0) * 100.0))
        .collect();
    let (without, with) = (median(&mut without), median(&mut with));
    format!(
        "| {count} | {without:.0} | {with:.0} | {:+.1} % | {} |",
        (with / without - 1.0) * 100.0,
        paired.join(" / ")
    )
}

/// Write-to-webhook latency with `count` processes, on a Redis of its own.
async fn latency_case(count: usize, seconds: u64) -> String {
    let (_redis, livedash, processes, received) = start(count).await;
    let duration = Duration::from_secs(seconds);
    processes.add_rules().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let probes = Arc::new(AtomicU64::new(0));
    // The senders stand for services on other machines: a thread and runtime of their own, so
    // that a probe's send time is taken when its request leaves.
    let sender = {
        let (processes, stop, measuring, probes) = (
            processes.clone(),
            stop.clone(),
            measuring.clone(),
            probes.clone(),
        );
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the senders")
                .block_on(load(processes, stop, measuring, probes));
        })
    };
    tokio::time::sleep(WARM_UP).await;
    let from = clock_ms();
    received.measure(from, f64::INFINITY);
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(duration).await;
    measuring.store(false, Ordering::Relaxed);
    received.measure(from, clock_ms());
    // Notifications of the last probes still on their way.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || sender.join()).await;
    let mut latencies = std::mem::take(&mut *received.latencies.lock().expect("never poisoned"));
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    let at = |q: f64| latencies[((n.max(1) - 1) as f64 * q).round() as usize];
    assert!(n > 0, "no firing webhook arrived");
    let row = format!(
        "| {count} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        probes.load(Ordering::Relaxed),
        received.firing.load(Ordering::Relaxed),
        received.resolved.load(Ordering::Relaxed),
        received.duplicates.load(Ordering::Relaxed),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
    );
    for process in &livedash {
        let log = process.log.lock().expect("never poisoned");
        if log.errors > 0 {
            eprintln!("livedash logged {} errors: {:?}", log.errors, log.first);
        }
    }
    row
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let counts: Vec<usize> = args
        .next()
        .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 3]);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(ROUNDS);
    clock_ms();
    let mut latency = Vec::new();
    let mut throughput = Vec::new();
    for &count in &counts {
        latency.push(latency_case(count, seconds).await);
        throughput.push(throughput_case(count, seconds, rounds).await);
    }
    println!(
        "Rules: {}(bench_alert{{series=\"i\"}}[2s]) above 10⁹.\n",
        aggregation()
    );
    println!("Write to webhook, {seconds} s measured per case:\n");
    println!(
        "| processes | probes sent | firing webhooks | resolved webhooks | duplicates | p50 ms | p90 ms | p99 ms | max ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in latency {
        println!("{row}");
    }
    println!("\nIngest throughput, points/s, median of {rounds} rounds of {seconds} s each:\n");
    println!("| processes | no rules | 1 000 rules | change | change per round, % |");
    println!("| --- | --- | --- | --- | --- |");
    for row in throughput {
        println!("{row}");
    }
}
