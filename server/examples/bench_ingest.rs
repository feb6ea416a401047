//! Ingest throughput on loopback: JSON and line protocol over HTTP, StatsD over UDP, against
//! the naive one-round-trip-per-command pattern and `redis-benchmark`'s pipelined `XADD`, all in
//! one run on one machine.
//!
//! `cargo run --release -p server --example bench_ingest [seconds per case, default 10]`
//! (or `make bench-ingest`). It starts its own `redis-server` and livedash; nothing else is
//! touched. Prints a Markdown table.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::clock::now_ms;
use server::Livedash;
use server::ingest::statsd::StatsdCounters;
use server::testing::RedisServer;

const SERIES: usize = 1_000;
const BATCH: usize = 5_000;
const WRITERS: usize = 4;

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let duration = Duration::from_secs(seconds);
    let redis = RedisServer::start();
    let statsd_port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let vars = [
        ("REDIS_URL", redis.url()),
        ("LIVEDASH_STATSD_ADDR", format!("127.0.0.1:{statsd_port}")),
        ("LIVEDASH_KEY_PREFIX", "bench:".into()),
    ];
    let config = server::testing::config(&vars);
    let livedash = Livedash::start(config).await.unwrap();
    let statsd_counters = livedash.state().statsd.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let signal = stop.clone().cancelled_owned();
    let served = tokio::spawn(livedash.serve(listener, signal));

    println!("| case | writers | points | seconds | points/s |");
    println!("| --- | --- | --- | --- | --- |");
    let json = http_case(
        &base,
        "/api/v1/ingest",
        "application/json",
        json_batch,
        duration,
    )
    .await;
    report(
        "JSON over HTTP, batches of 5 000 over 1 000 series",
        WRITERS,
        json,
    );
    let lines = http_case(
        &base,
        "/api/v2/write?bucket=b&precision=ms",
        "text/plain",
        line_batch,
        duration,
    )
    .await;
    report(
        "line protocol over HTTP, batches of 5 000 over 1 000 series",
        WRITERS,
        lines,
    );
    let statsd = statsd_case(statsd_port, &statsd_counters, duration).await;
    report(
        "StatsD over UDP (gauges, 25 lines a packet; points stored)",
        1,
        statsd,
    );
    let naive = naive_case(&redis.url(), duration).await;
    report(
        "naive: SET + ZADD + ZREMRANGEBYSCORE + PUBLISH, one round trip each, per point",
        WRITERS,
        naive,
    );
    if let Some(ceiling) = redis_benchmark_xadd(redis.port()) {
        println!(
            "| `redis-benchmark -P 64` XADD (Redis alone, the ceiling) | 50 clients | | | {ceiling:.0} |"
        );
    }
    println!();
    println!(
        "line protocol / naive = {:.1}×; JSON / naive = {:.1}×",
        rate(lines) / rate(naive),
        rate(json) / rate(naive)
    );
    stop.cancel();
    let _ = served.await;
}

fn rate((points, elapsed): (u64, Duration)) -> f64 {
    points as f64 / elapsed.as_secs_f64()
}

fn report(case: &str, writers: usize, result: (u64, Duration)) {
    println!(
        "| {case} | {writers} | {} | {:.1} | {:.0} |",
        result.0,
        result.1.as_secs_f64(),
        rate(result)
    );
}

// The generators write straight into one buffer: they share the two cores with livedash and
// Redis, so they are kept cheap.
fn json_batch(round: u64) -> String {
    let ts = now_ms() - 60_000;
    let mut body = String::with_capacity(BATCH * 96);
    body.push('[');
    for i in 0..BATCH {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"name":"bench_cpu","labels":{{"host":"h{}","core":"c{}"}},"value":{}.5,"ts":{}}}"#,
            i % SERIES,
            i % 4,
            (round as usize + i) % 100,
            ts + (i / SERIES) as i64
        );
    }
    body.push(']');
    body
}

fn line_batch(round: u64) -> String {
    let ts = now_ms() - 60_000;
    let mut body = String::with_capacity(BATCH * 48);
    for i in 0..BATCH {
        let _ = writeln!(
            body,
            "bench_mem,host=h{},core=c{} used={}.25 {}",
            i % SERIES,
            i % 4,
            (round as usize + i) % 100,
            ts + (i / SERIES) as i64
        );
    }
    body
}

async fn http_case(
    base: &str,
    path: &str,
    content_type: &'static str,
    make: fn(u64) -> String,
    duration: Duration,
) -> (u64, Duration) {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let points = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|writer| {
            let (client, url, points) = (client.clone(), url.clone(), points.clone());
            tokio::spawn(async move {
                let mut round = writer;
                while started.elapsed() < duration {
                    let body = make(round);
                    round += WRITERS as u64;
                    let response = client
                        .post(&url)
                        .header("content-type", content_type)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    points.fetch_add(BATCH as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    (points.load(Ordering::Relaxed), started.elapsed())
}

async fn statsd_case(port: u16, counters: &StatsdCounters, duration: Duration) -> (u64, Duration) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let before = counters.accepted.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut round = 0usize;
    while started.elapsed() < duration {
        let mut packet = String::new();
        for i in 0..25 {
            packet.push_str(&format!(
                "bench.statsd.h{}:{}|g\n",
                (round * 25 + i) % SERIES,
                i
            ));
        }
        socket
            .send_to(packet.as_bytes(), ("127.0.0.1", port))
            .await
            .unwrap();
        round += 1;
        if round.is_multiple_of(16) {
            tokio::task::yield_now().await;
        }
    }
    let elapsed = started.elapsed();
    // Let the last batches land, then count what was stored.
    tokio::time::sleep(Duration::from_millis(500)).await;
    (counters.accepted.load(Ordering::Relaxed) - before, elapsed)
}

async fn naive_case(url: &str, duration: Duration) -> (u64, Duration) {
    let client = redis::Client::open(url).unwrap();
    let points = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (client, points) = (client.clone(), points.clone());
            tokio::spawn(async move {
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let mut i = writer;
                while started.elapsed() < duration {
                    let series = format!("naive:h{}", i % SERIES);
                    let ts = now_ms();
                    let value = (i % 100) as f64 + 0.5;
                    let member = format!("{ts}:{value}");
                    let _: () = redis::cmd("SET")
                        .arg(format!("{series}:cur"))
                        .arg(value)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    let _: () = redis::cmd("ZADD")
                        .arg(&series)
                        .arg(ts)
                        .arg(&member)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    let _: () = redis::cmd("ZREMRANGEBYSCORE")
                        .arg(&series)
                        .arg("-inf")
                        .arg(ts - 86_400_000)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    let _: () = redis::cmd("PUBLISH")
                        .arg("naive:live")
                        .arg(&member)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    points.fetch_add(1, Ordering::Relaxed);
                    i += WRITERS;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    (points.load(Ordering::Relaxed), started.elapsed())
}

fn redis_benchmark_xadd(port: u16) -> Option<f64> {
    let output = std::process::Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-n",
            "1000000",
            "-P",
            "64",
            "-q",
        ])
        .args(["XADD", "bench:ceiling", "*", "v", "42.5"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // "XADD bench:ceiling * v 42.5: 1234567.00 requests per second, p50=..."
    text.rsplit(':').find_map(|part| {
        part.split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|_| part.contains("requests per second"))
    })
}
