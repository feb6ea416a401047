//! Ingest memory: livedash's resident memory (`VmRSS`) before, during and after maximal ingest
//! requests of each kind (JSON samples, line protocol, analytics events), one at a time and ten
//! at once.
//!
//! `cargo run --release -p server --example bench_ingest_memory` (or `make
//! bench-ingest-memory`). It starts its own `redis-server` and the release `livedash` binary
//! (`LIVEDASH_BIN`, default `target/release/livedash`; build it first) with the default limits,
//! and writes its report into `docs/benchmarks.md`, between the markers of its section
//! (`BENCH_REPORT` names another file; `-` prints it only).
//!
//! It runs twice: as shipped, and with `MIMALLOC_PURGE_DELAY=0` in livedash's environment, the
//! allocator setting that gives freed memory back to the system at once (at some cost in
//! throughput), to show what each keeps resident after a burst.
//!
//! A maximal request is as large as the defaults allow: `LIVEDASH_MAX_BATCH_SAMPLES` samples
//! (`LIVEDASH_MAX_BATCH_EVENTS` events) in a body just under `LIVEDASH_MAX_BODY_BYTES`, each
//! item padded with a long label (property) to fill it. The items name 1 000 series (20 event
//! names), the same in every request, so that what stays resident afterwards is what ingest
//! keeps, not the cache of series a process has written.

mod support;

use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use server::config::{DEFAULT_MAX_BATCH_SAMPLES, DEFAULT_MAX_BODY_BYTES};
use server::testing::RedisServer;
use support::Livedash;

const ADMIN_TOKEN: &str = "bench-memory-0123456789abcdef0123";
/// Requests of each kind, and how many run at once in the burst.
const REQUESTS: usize = 10;
/// Distinct series (event names) the items name.
const SERIES: usize = 1_000;
const EVENT_NAMES: usize = 20;
/// How long livedash is left idle between measurements.
const SETTLE: Duration = Duration::from_secs(5);
/// When resident memory is read after a burst, seconds after its last answer.
const AFTER: [u64; 3] = [1, 10, 30];
const MARK_START: &str = "<!-- bench-ingest-memory: start -->";
const MARK_END: &str = "<!-- bench-ingest-memory: end -->";
const MIB: f64 = 1024.0 * 1024.0;

/// One kind of maximal request.
struct Kind {
    name: &'static str,
    path: &'static str,
    body: Vec<u8>,
    items: usize,
}

/// A JSON batch of `items` samples in just under `max_bytes`.
fn json_body(items: usize, max_bytes: usize) -> Vec<u8> {
    let item = |i: usize, pad: &str| {
        format!(
            r#"{{"name":"bench_memory","labels":{{"host":"h{}","pad":"{pad}"}},"value":{i}}}"#,
            i % SERIES
        )
    };
    fill(items, max_bytes, |i, pad, out| {
        out.push_str(if i == 0 { "[" } else { "," });
        out.push_str(&item(i, pad));
        if i + 1 == items {
            out.push(']');
        }
    })
}

/// Line protocol, one sample a line, `items` lines in just under `max_bytes`.
fn line_body(items: usize, max_bytes: usize) -> Vec<u8> {
    fill(items, max_bytes, |i, pad, out| {
        let _ = writeln!(out, "bench_memory,host=h{},pad={pad} v={i}", i % SERIES);
    })
}

/// `items` events in just under `max_bytes`, padded with properties of at most 1 000 bytes.
fn event_body(items: usize, max_bytes: usize) -> Vec<u8> {
    fill(items, max_bytes, |i, pad, out| {
        out.push_str(if i == 0 { "[" } else { "," });
        let _ = write!(
            out,
            r#"{{"event":"bench_e{}","user_id":"u{i}","properties":{{"path":"/p{}""#,
            i % EVENT_NAMES,
            i % 100
        );
        for (n, chunk) in pad.as_bytes().chunks(1_000).enumerate() {
            let chunk = std::str::from_utf8(chunk).unwrap_or_default();
            let _ = write!(out, r#","pad{n}":"{chunk}""#);
        }
        out.push_str("}}");
        if i + 1 == items {
            out.push(']');
        }
    })
}

/// Builds a body of `items` items with `write`, padding each so the whole comes to just under
/// `max_bytes`.
fn fill(items: usize, max_bytes: usize, write: impl Fn(usize, &str, &mut String)) -> Vec<u8> {
    let build = |pad: usize| {
        let pad = "x".repeat(pad);
        let mut body = String::with_capacity(max_bytes);
        for i in 0..items {
            write(i, &pad, &mut body);
        }
        body
    };
    // How the body grows with the pad (splitting a long pad adds a little), then the longest
    // pad that fits, with a margin.
    let bare = build(0).len();
    let mut pad = max_bytes.saturating_sub(bare) / items;
    loop {
        let body = build(pad);
        if body.len() + 1024 <= max_bytes || pad == 0 {
            return body.into_bytes();
        }
        pad -= (body.len() + 1024 - max_bytes).div_ceil(items).min(pad);
    }
}

/// Samples livedash's resident memory every few milliseconds while running; the highest seen.
struct PeakWatch {
    running: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl PeakWatch {
    fn start(pid: u32) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let peak = Arc::new(AtomicU64::new(0));
        let (flag, highest) = (running.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while flag.load(Ordering::Relaxed) {
                if let Some(rss) = rss_of(pid) {
                    highest.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self {
            running,
            peak,
            thread,
        }
    }

    fn stop(self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

async fn send(client: &reqwest::Client, base: &str, kind: &Kind) -> Result<(), String> {
    let response = client
        .post(format!("{base}{}", kind.path))
        .header("authorization", format!("Token {ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .body(kind.body.clone())
        .send()
        .await
        .map_err(|error| format!("{error:?}"))?;
    let status = response.status();
    let answer = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{status} {}",
            answer.chars().take(300).collect::<String>()
        ))
    }
}

/// Sends `count` requests of `kind` at once; each must be stored whole.
async fn burst(livedash: &Livedash, base: &str, kind: &Kind, count: usize) {
    // A connection of its own for each request, as separate clients would.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let answers = futures::future::join_all((0..count).map(|_| send(&client, base, kind))).await;
    for answer in answers {
        if let Err(error) = answer {
            let log = livedash.log.lock().expect("never poisoned");
            panic!("{}: {error}; livedash logged {:?}", kind.name, log.first);
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / MIB)
}

/// What one kind measured, bytes.
struct Row {
    before: u64,
    one_peak: u64,
    burst_peak: u64,
    /// At each of [`AFTER`].
    after: Vec<u64>,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|name| name.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {:.0} GiB", kb / MIB));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let redis = command_output("redis-server", &["--version"])
        .and_then(|text| {
            text.split_whitespace()
                .find_map(|word| word.strip_prefix("v="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into());
    format!("{cores} cores ({cpu}){memory}, Redis {redis}")
}

/// The resident memory around bursts of each kind, livedash run with `environment` on top.
struct Run {
    rows: Vec<Row>,
    /// After the warm-up, and at the end.
    start: u64,
    end: u64,
}

async fn measure(kinds: &[Kind], environment: &[(&str, &str)]) -> Run {
    let redis = RedisServer::start();
    let mut settings = vec![
        ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
        ("LIVEDASH_STATSD_ADDR", "off"),
        ("LIVEDASH_RATE_LIMIT", "off"),
    ];
    settings.extend_from_slice(environment);
    let livedash = Livedash::start(&redis, &settings);
    let base = format!("http://{}", livedash.addr);
    let pid = livedash.pid();
    // The first request of each kind makes what lives as long as the process (connections,
    // the loaded script, the series this process has written): not what a request costs.
    for kind in kinds {
        burst(&livedash, &base, kind, 1).await;
    }
    tokio::time::sleep(SETTLE).await;
    let start = rss_of(pid).expect("livedash runs");
    let mut rows = Vec::new();
    for kind in kinds {
        let before = rss_of(pid).expect("livedash runs");
        let watch = PeakWatch::start(pid);
        burst(&livedash, &base, kind, 1).await;
        let one_peak = watch.stop();
        tokio::time::sleep(SETTLE).await;
        let watch = PeakWatch::start(pid);
        let started = Instant::now();
        burst(&livedash, &base, kind, REQUESTS).await;
        let burst_peak = watch.stop();
        eprintln!(
            "{environment:?} {}: {REQUESTS} at once in {:.1} s",
            kind.name,
            started.elapsed().as_secs_f64()
        );
        let ended = Instant::now();
        let mut after = Vec::new();
        for seconds in AFTER {
            tokio::time::sleep(Duration::from_secs(seconds).saturating_sub(ended.elapsed())).await;
            after.push(rss_of(pid).expect("livedash runs"));
        }
        rows.push(Row {
            before,
            one_peak,
            burst_peak,
            after,
        });
    }
    let end = rss_of(pid).expect("livedash runs");
    let log = livedash.log.lock().expect("never poisoned");
    assert_eq!(log.errors, 0, "livedash logged errors: {:?}", log.first);
    Run { rows, start, end }
}

/// The table of one run.
fn table(report: &mut String, kinds: &[Kind], run: &Run) {
    let after_columns: String = AFTER.iter().map(|s| format!(" after {s} s |")).collect();
    let _ = writeln!(
        report,
        "| kind | body MiB | items | before | peak, one | peak, {REQUESTS} at once |{after_columns}"
    );
    let _ = writeln!(
        report,
        "| --- | --- | --- | --- | --- | --- |{}",
        " --- |".repeat(AFTER.len())
    );
    for (kind, row) in kinds.iter().zip(&run.rows) {
        let after: String = row
            .after
            .iter()
            .map(|rss| format!(" {} |", mib(*rss)))
            .collect();
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} (+{}) | {} (+{}) |{after}",
            kind.name,
            mib(kind.body.len() as u64),
            kind.items,
            mib(row.before),
            mib(row.one_peak),
            mib(row.one_peak.saturating_sub(row.before)),
            mib(row.burst_peak),
            mib(row.burst_peak.saturating_sub(row.before)),
        );
    }
    let _ = writeln!(
        report,
        "\nResident after the warm-up: {} MiB; after all {} requests: {} MiB.\n",
        mib(run.start),
        REQUESTS * kinds.len() + kinds.len(),
        mib(run.end)
    );
}

#[tokio::main]
async fn main() {
    let max_body = DEFAULT_MAX_BODY_BYTES;
    let max_events = app::events::MAX_EVENTS_PER_BATCH;
    let kinds = [
        Kind {
            name: "JSON samples (`/api/v1/ingest`)",
            path: "/api/v1/ingest",
            body: json_body(DEFAULT_MAX_BATCH_SAMPLES, max_body),
            items: DEFAULT_MAX_BATCH_SAMPLES,
        },
        Kind {
            name: "line protocol (`/api/v2/write`)",
            path: "/api/v2/write?bucket=b",
            body: line_body(DEFAULT_MAX_BATCH_SAMPLES, max_body),
            items: DEFAULT_MAX_BATCH_SAMPLES,
        },
        Kind {
            name: "events (`/api/v1/events`)",
            path: "/api/v1/events",
            body: event_body(max_events, max_body),
            items: max_events,
        },
    ];
    let shipped = measure(&kinds, &[]).await;
    let purging = measure(&kinds, &[("MIMALLOC_PURGE_DELAY", "0")]).await;

    let commit = command_output("git", &["rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let dirty =
        command_output("git", &["status", "--porcelain"]).is_some_and(|status| !status.is_empty());
    let date = command_output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{MARK_START}\n\n`make bench-ingest-memory` (`server/examples/bench_ingest_memory.rs`): the \
         release `livedash` binary with its own `redis-server`, default limits; its resident \
         memory (`VmRSS`) sampled every 2 ms. {date}, commit `{commit}`{}, {}.\n",
        if dirty {
            " with uncommitted changes"
        } else {
            ""
        },
        machine()
    );
    let _ = writeln!(
        report,
        "Each request is maximal: {DEFAULT_MAX_BATCH_SAMPLES} samples \
         (`LIVEDASH_MAX_BATCH_SAMPLES`) or {max_events} events (`LIVEDASH_MAX_BATCH_EVENTS`) in a \
         body just under `LIVEDASH_MAX_BODY_BYTES` ({} MiB), over {SERIES} series ({EVENT_NAMES} \
         event names). \"One\": a request alone; \"{REQUESTS} at once\": {REQUESTS} sent \
         together, each on a connection of its own; \"after N s\": N s after the last of them \
         was answered, livedash idle but for its own metrics. MiB.\n",
        mib(max_body as u64),
    );
    let _ = writeln!(report, "As shipped (mimalloc's defaults):\n");
    table(&mut report, &kinds, &shipped);
    let _ = writeln!(
        report,
        "With `MIMALLOC_PURGE_DELAY=0` in livedash's environment (mimalloc gives freed memory \
         back to the system at once, instead of after a delay and once the thread that held it \
         allocates again):\n"
    );
    table(&mut report, &kinds, &purging);
    let _ = writeln!(report, "{MARK_END}");
    print!("{report}");
    let target = std::env::var("BENCH_REPORT").unwrap_or_else(|_| "docs/benchmarks.md".into());
    if target != "-" {
        let document = std::fs::read_to_string(&target).unwrap_or_default();
        let updated = match (document.find(MARK_START), document.find(MARK_END)) {
            (Some(start), Some(end)) if start < end => format!(
                "{}{}{}",
                &document[..start],
                report.trim_end(),
                &document[end + MARK_END.len()..]
            ),
            _ => panic!("{target} has no {MARK_START} … {MARK_END} section to fill"),
        };
        std::fs::write(&target, updated).expect("the report is writable");
        eprintln!("written to {target}");
    }
}
