//! Analytics event ingest throughput on loopback: `POST /api/v1/events` in batches of 1 000
//! (with a funnel and an experiment defined, so every event also goes through them; sent as a
//! browser's page events, with the page's address, a referrer and a browser's user agent, so
//! each also gets its source and device, moves its user's visit, is checked against the
//! filter of users seen and marks its user's cohort and activity), against
//! the naive way (one Redis round trip per command per event: count, unique users, ranking,
//! log) in the same run.
//!
//! `cargo run --release -p server --example bench_events [seconds per case, default 10]` (or
//! `make bench-events`). It starts its own `redis-server` and livedash; nothing else is touched.
//! Prints a Markdown table.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use server::Livedash;
use server::testing::RedisServer;

const BATCH: usize = 1_000;
const WRITERS: usize = 4;
const USERS: u64 = 100_000;
const PAGES: usize = 50;
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let duration = Duration::from_secs(seconds);
    let redis = RedisServer::start();
    let vars = [
        ("REDIS_URL", redis.url()),
        ("LIVEDASH_STATSD_ADDR", "off".into()),
        ("LIVEDASH_SELF_METRICS", "off".into()),
        ("LIVEDASH_KEY_PREFIX", "bench:".into()),
    ];
    let livedash = Livedash::start(server::testing::config(&vars))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let served = tokio::spawn(livedash.serve(listener, stop.clone().cancelled_owned()));
    let client = reqwest::Client::new();
    for change in [
        serde_json::json!({"CreateFunnel": {"funnel": {"name": "Sign-up", "window_ms": 1_800_000, "steps": [
            {"event": "page_view", "filter": ["path", "/pricing"]}, {"event": "signup_started"}, {"event": "signup_completed"}
        ]}, "backfill": false}}),
        serde_json::json!({"CreateExperiment": {"experiment": {"id": "bench", "name": "Bench", "goal_event": "signup_completed",
            "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]}}}),
    ] {
        let response = client
            .post(format!("{base}/api/fn/change_analytics"))
            .json(&serde_json::json!({ "change": change }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    println!("| case | writers | events | seconds | events/s |");
    println!("| --- | --- | --- | --- | --- |");
    let livedash_rate = http_case(&client, &format!("{base}/api/v1/events"), duration).await;
    report(
        "livedash: POST /api/v1/events, batches of 1 000 (counts, unique users, top pages, log, a funnel, an experiment)",
        livedash_rate,
    );
    let naive = naive_case(&redis.url(), duration).await;
    report(
        "naive: INCR + PFADD + ZINCRBY + XADD, one round trip each, per event",
        naive,
    );
    println!();
    println!(
        "livedash / naive = {:.1}×",
        rate(livedash_rate) / rate(naive)
    );
    stop.cancel();
    let _ = served.await;
}

fn rate((events, elapsed): (u64, Duration)) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

fn report(case: &str, result: (u64, Duration)) {
    println!(
        "| {case} | {WRITERS} | {} | {:.1} | {:.0} |",
        result.0,
        result.1.as_secs_f64(),
        rate(result)
    );
}

/// Mixed traffic: page views over 50 paths, some sign-ups, from 100 000 users.
fn event_of(round: u64, i: usize) -> (String, u64, usize) {
    let n = round.wrapping_mul(BATCH as u64) + i as u64;
    let user = n.wrapping_mul(2_654_435_761) % USERS;
    let name = match n % 20 {
        0 => "signup_started",
        1 => "signup_completed",
        _ => "page_view",
    };
    (name.to_owned(), user, (n % PAGES as u64) as usize)
}

fn batch(round: u64) -> String {
    let ts = app::clock::now_ms();
    let mut body = String::with_capacity(BATCH * 96);
    body.push('[');
    for i in 0..BATCH {
        if i > 0 {
            body.push(',');
        }
        let (name, user, page) = event_of(round, i);
        let path = if page == 0 {
            "/pricing".to_owned()
        } else {
            format!("/p{page}")
        };
        // Every tenth user lands from a campaign, every fifth from a search engine.
        let (query, referrer) = match user % 10 {
            0 => ("?utm_source=newsletter&utm_medium=email", ""),
            1 | 2 => ("", "https://www.google.com/"),
            _ => ("", ""),
        };
        let _ = write!(
            body,
            r#"{{"event":"{name}","user_id":"u{user}","ts":{ts},"properties":{{"path":"{path}","url":"https://shop.example{path}{query}","referrer":"{referrer}"}}}}"#
        );
    }
    body.push(']');
    body
}

async fn http_case(client: &reqwest::Client, url: &str, duration: Duration) -> (u64, Duration) {
    let events = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|writer| {
            let (client, url, events) = (client.clone(), url.to_owned(), events.clone());
            tokio::spawn(async move {
                let mut round = writer;
                while started.elapsed() < duration {
                    let body = batch(round);
                    round += WRITERS as u64;
                    let response = client
                        .post(&url)
                        .header("user-agent", BROWSER)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    events.fetch_add(BATCH as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    (events.load(Ordering::Relaxed), started.elapsed())
}

async fn naive_case(url: &str, duration: Duration) -> (u64, Duration) {
    let client = redis::Client::open(url).unwrap();
    let events = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|writer| {
            let (client, events) = (client.clone(), events.clone());
            tokio::spawn(async move {
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let mut round = writer;
                while started.elapsed() < duration {
                    for i in 0..BATCH {
                        let (name, user, page) = event_of(round, i);
                        let minute = app::clock::now_ms() / 60_000;
                        let _: i64 = redis::cmd("INCR")
                            .arg(format!("naive:count:{name}:{minute}"))
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                        let _: i64 = redis::cmd("PFADD")
                            .arg(format!("naive:users:{name}:{minute}"))
                            .arg(format!("u{user}"))
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                        let _: f64 = redis::cmd("ZINCRBY")
                            .arg(format!("naive:top:{name}:{minute}"))
                            .arg(1)
                            .arg(format!("/p{page}"))
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                        let _: String = redis::cmd("XADD")
                            .arg("naive:events")
                            .arg("MAXLEN")
                            .arg("~")
                            .arg(1_000_000)
                            .arg("*")
                            .arg("e")
                            .arg(&name)
                            .arg("u")
                            .arg(user)
                            .query_async(&mut connection)
                            .await
                            .unwrap();
                        events.fetch_add(1, Ordering::Relaxed);
                        if started.elapsed() >= duration {
                            break;
                        }
                    }
                    round += WRITERS as u64;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    (events.load(Ordering::Relaxed), started.elapsed())
}
