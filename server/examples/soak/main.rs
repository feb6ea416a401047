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

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod ingest;
mod load;
mod measure;
mod report;
mod viewers;
mod workload;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use app::dashboard::Dashboard;
use serde_json::json;
use server::testing::{RedisServer, free_port};
use tokio::time::MissedTickBehavior;

use crate::admin::{call_fn, create_token, edit_dashboard, soak_dashboard};
use crate::ingest::{send_statsd, start_ingest};
use crate::load::Load;
use crate::measure::{StoredPoints, redis_info, redis_used_memory};
use crate::report::{Row, Run, TABLE_HEADER, minutes_phrase, minutes_text, report, row_line};
use crate::support::{Livedash, clock_ms};
use crate::viewers::connect_viewers;
use crate::workload::{REQUEST_TIMEOUT, SETTLE, VIEWERS};

/// The admin token livedash is configured with.
const ADMIN_TOKEN: &str = "soak-admin-0123456789abcdef01234";
const _: () = assert!(
    ADMIN_TOKEN.len() >= 24,
    "livedash refuses admin tokens shorter than 24 characters"
);

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
    let mut previous_ms = app::clock::now_ms();
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
        let now_ms = app::clock::now_ms();
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
