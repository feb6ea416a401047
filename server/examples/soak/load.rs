//! What every task of the run reports to: a tally of each kind of traffic, and the counters
//! the rows and the report read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use crate::support::Samples;

/// An error with its causes: reqwest and tungstenite put the useful part in the sources.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// At most 200 characters of `text`, for failure messages.
pub fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(200).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

/// One kind of traffic: how much went through, what failed and why, and (for requests) how
/// long each took over the whole run.
pub struct Tally {
    pub name: &'static str,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    failed_since_row: AtomicU64,
    pub latencies_ms: Mutex<Vec<f64>>,
    pub first_failures: Mutex<Vec<String>>,
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

    pub fn succeeded(&self, latency_ms: Option<f64>) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = latency_ms {
            self.latencies_ms
                .lock()
                .expect("latencies are never poisoned")
                .push(latency);
        }
    }

    pub fn failed(&self, why: String) {
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
pub struct Load {
    pub json: Tally,
    pub influx: Tally,
    pub statsd: Tally,
    pub events: Tally,
    pub saves: Tally,
    pub lists: Tally,
    /// Connection attempts of viewers that did not open a socket.
    pub viewer_connects: Tally,
    /// Live messages applied; failures are gaps, refused subscriptions and unreadable frames.
    pub live_messages: Tally,
    /// Since the last row.
    pub ingest_latency: Samples,
    pub live_latency: Samples,
    pub save_latency: Samples,
    /// Points of successful ingest requests and of StatsD datagrams sent (which get no answer).
    pub points_sent: AtomicU64,
    pub viewers_connected: AtomicUsize,
    pub disconnects: AtomicU64,
    pub disconnects_since_row: AtomicU64,
    pub reconnects: AtomicU64,
    /// Why sockets ended, with how often.
    pub close_reasons: Mutex<BTreeMap<String, u64>>,
    /// `status` messages saying the server lost its Redis subscription.
    pub degraded_notices: AtomicU64,
    pub stop: CancellationToken,
}

impl Load {
    pub fn new() -> Self {
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

    pub fn tallies(&self) -> [&Tally; 8] {
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

    pub fn tally(&self, kind: Ingest) -> &Tally {
        match kind {
            Ingest::Json => &self.json,
            Ingest::Influx => &self.influx,
            Ingest::Events => &self.events,
        }
    }

    /// Failures since the last row, in all; starts counting anew.
    pub fn take_errors(&self) -> u64 {
        self.tallies()
            .iter()
            .map(|tally| tally.failed_since_row.swap(0, Ordering::Relaxed))
            .sum()
    }

    pub fn disconnected(&self, reason: String) {
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
pub enum Ingest {
    Json,
    Influx,
    Events,
}
