//! What the benchmarks that run the release `livedash` binary share (`bench_live`, `soak`): the
//! child process, the clock that latency-probe points carry, and latency percentiles.

// Each example compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use app::live::ClientMessage;
use futures::{SinkExt, StreamExt};
use server::testing::RedisServer;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the benchmark started: what latency-probe points carry as their value, so
/// whoever is shown such a point can tell how long ago it was sent.
pub fn clock_ms() -> f64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// How many log lines livedash wrote at warning and error level, with the first few of them.
#[derive(Default)]
pub struct LogTally {
    pub warnings: u64,
    pub errors: u64,
    pub first: Vec<String>,
}

/// How many warning or error lines [`LogTally`] keeps word for word.
const LOG_LINES_KEPT: usize = 10;

/// The release `livedash` binary as a child process, killed on drop.
pub struct Livedash {
    child: Child,
    /// Where it serves, `127.0.0.1:<port>`.
    pub addr: String,
    pub log: Arc<Mutex<LogTally>>,
}

impl Livedash {
    /// Starts `LIVEDASH_BIN` (default `target/release/livedash`) on a free port against `redis`,
    /// with `settings` (environment variables) on top, and waits until it serves.
    ///
    /// # Panics
    /// The binary is missing or exits before it serves.
    pub fn start(redis: &RedisServer, settings: &[(&str, &str)]) -> Self {
        Self::start_on(&redis.url(), settings)
    }

    /// As [`Livedash::start`], against the Redis at `redis_url` (a single server, or a
    /// cluster's seed nodes).
    ///
    /// # Panics
    /// The binary is missing or exits before it serves.
    pub fn start_on(redis_url: &str, settings: &[(&str, &str)]) -> Self {
        let binary =
            std::env::var("LIVEDASH_BIN").unwrap_or_else(|_| "target/release/livedash".into());
        let mut command = Command::new(&binary);
        command
            .env("REDIS_URL", redis_url)
            .env("LIVEDASH_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn,livedash=info")
            .env("NO_COLOR", "1");
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("{binary}: {error}; build it with `make server`"));
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut lines = stdout.lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("livedash exited before it served")
                .expect("livedash's log is text");
            if let Some(at) = line.find("serving on http://") {
                break line[at + "serving on http://".len()..].trim().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe, and keep count of what
        // went wrong: a long run is judged by its log too.
        let log = Arc::new(Mutex::new(LogTally::default()));
        let tally = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                // `<timestamp> <LEVEL> <target>: <message>`
                let level = line.split_whitespace().nth(1).unwrap_or("");
                if level != "WARN" && level != "ERROR" {
                    continue;
                }
                let mut tally = tally.lock().expect("the log tally is never poisoned");
                if level == "WARN" {
                    tally.warnings += 1;
                } else {
                    tally.errors += 1;
                }
                if tally.first.len() < LOG_LINES_KEPT {
                    tally.first.push(line);
                }
            }
        });
        Self { child, addr, log }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, bytes; `None` once the process is gone.
    pub fn rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    }

    /// CPU time it has used (user and system), seconds; `None` once the process is gone.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces) start at the state, field 3;
        // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
        let after_name = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    /// Open file descriptors (sockets included); `None` once the process is gone.
    pub fn open_files(&self) -> Option<usize> {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .ok()
            .map(Iterator::count)
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Livedash {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The median and the 99th percentile of `values` (sorted in place), NaN when there are none.
pub fn p50_p99(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if values.is_empty() {
            f64::NAN
        } else {
            values[((values.len() - 1) as f64 * q).round() as usize]
        }
    };
    (at(0.5), at(0.99))
}

/// Latency samples, ms, gathered from many tasks until [`Samples::summary`] takes them.
#[derive(Default)]
pub struct Samples {
    values: Mutex<Vec<f64>>,
}

impl Samples {
    /// Moves `local` in (tasks gather a few first, so they take the lock less often).
    pub fn add(&self, local: &mut Vec<f64>) {
        self.values
            .lock()
            .expect("samples are never poisoned")
            .append(local);
    }

    pub fn push(&self, value: f64) {
        self.values
            .lock()
            .expect("samples are never poisoned")
            .push(value);
    }

    /// How many were gathered, their median and 99th percentile; starts gathering anew.
    pub fn summary(&self) -> (usize, f64, f64) {
        let mut values = std::mem::take(&mut *self.values.lock().expect("never poisoned"));
        let (p50, p99) = p50_p99(&mut values);
        (values.len(), p50, p99)
    }
}

/// A viewer's live socket.
pub type LiveSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a live socket to livedash at `addr` and sends `messages` (its subscriptions).
///
/// # Panics
/// It cannot connect or send.
pub async fn open_live(addr: &str, messages: &[ClientMessage]) -> LiveSocket {
    // A browser reads into a small buffer; tungstenite's default zeroes 128 KiB before every
    // read, which made the clients, not livedash, a fifth of this machine's CPU.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/api/v1/live"),
        Some(config),
        false,
    )
    .await
    .expect("connect");
    for message in messages {
        let text = serde_json::to_string(message).expect("client messages serialize");
        socket.send(Message::Text(text.into())).await.expect("send");
    }
    socket
}

/// Hands each text frame of `socket` to `frame` with the time it arrived ([`clock_ms`]), until
/// `stop` is notified or the socket ends; then closes it.
pub async fn read_frames(
    mut socket: LiveSocket,
    stop: &tokio::sync::Notify,
    mut frame: impl FnMut(&str, f64),
) {
    let stopped = stop.notified();
    tokio::pin!(stopped);
    loop {
        let next = tokio::select! {
            () = &mut stopped => break,
            next = socket.next() => next,
        };
        match next {
            Some(Ok(Message::Text(text))) => frame(&text, clock_ms()),
            None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    let _ = socket.close(None).await;
}
