//! Redis faults under load: writers keep writing while Redis is killed and started again,
//! first an external server (livedash in this process), then the managed one (the real
//! binary). Every write answered with a 2xx must be in Redis afterwards, every other write must
//! have been refused with 503 and `Retry-After`, nothing may panic, and livedash must take
//! writes again by itself once Redis is back.
//!
//! The counts are printed: `cargo test --release -p server --test redis_faults -- --nocapture`.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app::query::QueryResult;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use server::testing::RedisServer;
use support::TestApp;
use support::process::{Process, managed_redis_pid, wait_for_new_managed_redis};

/// Concurrent writers.
const WRITERS: usize = 8;
/// Writes per writer at most (each at its own second, so one query at a 1 s step reads them).
const MAX_WRITES: u32 = 10_000;

/// What the writers saw.
#[derive(Debug, Default)]
struct Tally {
    /// Per writer, the write numbers answered with a 2xx.
    acknowledged: Vec<Vec<u32>>,
    /// Writes refused with 503 and `Retry-After`.
    refused: usize,
    /// Anything else: other statuses, 503 without `Retry-After`, no answer at all.
    unexpected: Vec<String>,
}

impl Tally {
    fn written(&self) -> usize {
        self.acknowledged.iter().map(Vec::len).sum::<usize>() + self.refused + self.unexpected.len()
    }

    fn acknowledged_total(&self) -> usize {
        self.acknowledged.iter().map(Vec::len).sum()
    }
}

/// The metric writer `writer` writes to.
fn metric(run: &str, writer: usize) -> String {
    format!("fault_{run}_w{writer}")
}

/// Write `number` of a writer lands at its own second after `t0` (a whole second).
fn write_ts(t0: i64, number: u32) -> i64 {
    t0 + i64::from(number) * 1_000
}

/// A whole second far enough back that [`MAX_WRITES`] seconds after it are not in the future.
fn first_second() -> i64 {
    support::now_ms() / 1_000 * 1_000 - i64::from(MAX_WRITES) * 1_000
}

/// Writes from [`WRITERS`] tasks until `until`, one request after another: each write one
/// gauge point whose value is its number. Refused writes are not retried (the next write is a new one), but the writer waits
/// a little as `Retry-After` asks, so a Redis outage is not a busy loop.
async fn write_until(base: &str, run: &str, t0: i64, until: Instant) -> Tally {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let writers = (0..WRITERS).map(|writer| {
        let client = client.clone();
        let url = format!("{base}/api/v1/ingest");
        let name = metric(run, writer);
        async move {
            let mut tally = Tally {
                acknowledged: vec![Vec::new()],
                ..Tally::default()
            };
            for number in 0..MAX_WRITES {
                if Instant::now() >= until {
                    break;
                }
                let body = serde_json::json!([{
                    "name": name, "value": number, "ts": write_ts(t0, number),
                }]);
                match client.post(&url).json(&body).send().await {
                    Ok(response) if response.status().is_success() => {
                        tally.acknowledged[0].push(number);
                    }
                    Ok(response)
                        if response.status() == 503
                            && response.headers().contains_key("retry-after") =>
                    {
                        tally.refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(response) => {
                        let status = response.status();
                        let text = response.text().await.unwrap_or_default();
                        tally
                            .unexpected
                            .push(format!("write {number}: {status} {text}"));
                    }
                    Err(error) => tally.unexpected.push(format!("write {number}: {error}")),
                }
                // Paced, so the writers still write when the last fault comes on a fast machine.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tally
        }
    });
    let mut total = Tally::default();
    for tally in futures::future::join_all(writers).await {
        total.acknowledged.extend(tally.acknowledged);
        total.refused += tally.refused;
        total.unexpected.extend(tally.unexpected);
    }
    total
}

/// Waits until a write is acknowledged again (livedash recovers by itself); how long it took.
async fn wait_for_recovery(base: &str, run: &str) -> Duration {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let body = serde_json::json!([{ "name": format!("fault_{run}_probe"), "value": 1 }]);
        if let Ok(response) = client
            .post(format!("{base}/api/v1/ingest"))
            .json(&body)
            .send()
            .await
            && response.status().is_success()
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "livedash did not take writes again within 30 s of Redis coming back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Acknowledged writes missing from what livedash reads back (value and second).
async fn count_lost(base: &str, run: &str, t0: i64, tally: &Tally) -> usize {
    let client = reqwest::Client::new();
    let mut lost = 0;
    for (writer, numbers) in tally.acknowledged.iter().enumerate() {
        let Some(last) = numbers.last() else {
            continue;
        };
        let url = format!(
            "{base}/api/v1/query?query={}&agg=max&step=1s&from={t0}&to={}",
            metric(run, writer),
            write_ts(t0, last + 1)
        );
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let result: QueryResult = response.json().await.unwrap();
        let stored: BTreeMap<i64, f64> = result
            .series
            .into_iter()
            .flat_map(|line| line.points)
            .collect();
        lost += numbers
            .iter()
            .filter(|number| stored.get(&write_ts(t0, **number)) != Some(&f64::from(**number)))
            .count();
    }
    lost
}

/// Prints the counts and checks them: writes got through, none was lost, none got another
/// answer than a 2xx or a refusal; with `outage`, Redis was down long enough under load that
/// some writes must have been refused.
fn report(setup: &str, tally: &Tally, lost: usize, recovery: Duration, outage: bool) {
    println!(
        "redis faults ({setup}): written {}, acknowledged {}, refused {}, lost {lost}, \
         other answers {}; writes taken again {} ms after Redis was back",
        tally.written(),
        tally.acknowledged_total(),
        tally.refused,
        tally.unexpected.len(),
        recovery.as_millis(),
    );
    assert!(
        tally.unexpected.is_empty(),
        "writes neither acknowledged nor refused with 503 and Retry-After: {:?}",
        &tally.unexpected[..tally.unexpected.len().min(10)]
    );
    assert_eq!(lost, 0, "acknowledged writes missing from Redis");
    assert!(tally.acknowledged_total() > 0, "no write was acknowledged");
    if outage {
        assert!(
            tally.refused > 0,
            "no write was refused: Redis was never down under load"
        );
    }
}

/// Panics anywhere in this process (livedash's tasks included), counted by a hook.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

/// An external Redis (append-only file fsynced at every write) is killed twice under load:
/// once for three seconds, once started again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_survive_an_external_redis_killed_under_load() {
    count_panics();
    let mut redis = RedisServer::start_durable();
    let app = TestApp::start(&redis.url()).await;
    let base = app.url("");
    let t0 = first_second();

    let load_ends = Instant::now() + Duration::from_secs(12);
    let load = tokio::spawn({
        let base = base.clone();
        async move { write_until(&base, "external", t0, load_ends).await }
    });
    let faults = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(2));
        redis.kill();
        std::thread::sleep(Duration::from_secs(3));
        redis.start_again();
        std::thread::sleep(Duration::from_secs(3));
        redis.kill();
        redis.start_again();
        redis
    });
    let redis = faults.await.unwrap();
    let tally = load.await.unwrap();
    let recovery = wait_for_recovery(&base, "external").await;
    let lost = count_lost(&base, "external", t0, &tally).await;
    report("external redis-server", &tally, lost, recovery, true);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "livedash panicked");
    app.stop().await;
    drop(redis);
}

/// The managed Redis of a real livedash process is killed twice under load; livedash starts it
/// again on its data each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_survive_the_managed_redis_killed_under_load() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_owned();
    let process = tokio::task::spawn_blocking(move || Process::start(&data_dir))
        .await
        .unwrap();
    let base = process.url("");
    let t0 = first_second();

    let load_ends = Instant::now() + Duration::from_secs(12);
    let load = tokio::spawn({
        let base = base.clone();
        async move { write_until(&base, "managed", t0, load_ends).await }
    });
    let data_dir = data.path().to_owned();
    tokio::task::spawn_blocking(move || {
        for pause in [2, 4] {
            std::thread::sleep(Duration::from_secs(pause));
            let pid = managed_redis_pid(&data_dir).expect("the managed Redis writes a pid file");
            kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
            wait_for_new_managed_redis(&data_dir, pid, Duration::from_secs(30));
        }
    })
    .await
    .unwrap();
    let tally = load.await.unwrap();
    let recovery = wait_for_recovery(&base, "managed").await;
    let lost = count_lost(&base, "managed", t0, &tally).await;
    // livedash restarts its Redis within a fraction of a second, so writes may only have waited.
    report("managed redis-server", &tally, lost, recovery, false);
    let panics: Vec<String> = process
        .output()
        .into_iter()
        .filter(|line| line.contains("panicked"))
        .collect();
    assert!(panics.is_empty(), "livedash panicked: {panics:?}");
    tokio::task::spawn_blocking(move || process.terminate())
        .await
        .unwrap();
}
