//! livedash's own metrics for Prometheus (`GET /metrics`): counted where things happen (ingest,
//! queries, Redis requests) into one set for the process, and read at scrape time together
//! with what is sampled then (live sockets, the process itself).
//!
//! Dependency rule: the counting half is a leaf that any module may call; only
//! [`exposition`] reads the shared state (hub, writer, StatsD counters) to answer a scrape.

pub mod exposition;
pub mod process;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// The ways metrics and events come in over HTTP (StatsD counts its own lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `POST /api/v1/ingest`.
    Json,
    /// `POST /api/v2/write` and `/write`.
    LineProtocol,
    /// `POST /api/v1/events`.
    Events,
}

impl Protocol {
    const ALL: [Self; 3] = [Self::Json, Self::LineProtocol, Self::Events];

    /// The `protocol` label's value.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::LineProtocol => "line_protocol",
            Self::Events => "events",
        }
    }
}

/// What one ingest request came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Items stored.
    pub accepted: usize,
    /// Items refused one by one (the rest of their request stored).
    pub refused: usize,
    /// Whether the request was refused whole (a bad body, a limit, Redis away).
    pub refused_whole: bool,
}

/// Counters and histograms of the process.
pub struct Metrics {
    accepted: [AtomicU64; 3],
    refused: [AtomicU64; 3],
    requests_refused: [AtomicU64; 3],
    ingest_seconds: [Histogram; 3],
    query_seconds: Histogram,
    queries_refused: AtomicU64,
    redis_seconds: Histogram,
    redis_unavailable: AtomicU64,
    redis_failed: AtomicU64,
    notification_seconds: Histogram,
    web_retries: AtomicU64,
}

/// Request durations from 0.5 ms to about 12 s.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.5, 12))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    accepted: Default::default(),
    refused: Default::default(),
    requests_refused: Default::default(),
    ingest_seconds: [request_buckets(), request_buckets(), request_buckets()],
    query_seconds: request_buckets(),
    queries_refused: AtomicU64::new(0),
    // Round trips from 0.1 ms to about 2.4 s.
    redis_seconds: Histogram::new(exponential_buckets(0.0001, 2.5, 12)),
    redis_unavailable: AtomicU64::new(0),
    redis_failed: AtomicU64::new(0),
    notification_seconds: request_buckets(),
    web_retries: AtomicU64::new(0),
});

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Json => 0,
        Protocol::LineProtocol => 1,
        Protocol::Events => 2,
    }
}

impl Metrics {
    /// Counts an ingest request that took `took`.
    pub fn ingested(&self, protocol: Protocol, outcome: IngestOutcome, took: Duration) {
        let at = index(protocol);
        self.accepted[at].fetch_add(outcome.accepted as u64, Ordering::Relaxed);
        self.refused[at].fetch_add(outcome.refused as u64, Ordering::Relaxed);
        if outcome.refused_whole {
            self.requests_refused[at].fetch_add(1, Ordering::Relaxed);
        }
        self.ingest_seconds[at].observe(took.as_secs_f64());
    }

    /// Counts a query that took `took`; `refused`: it was refused (a bad or too large query).
    pub fn queried(&self, took: Duration, refused: bool) {
        self.query_seconds.observe(took.as_secs_f64());
        if refused {
            self.queries_refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a notification delivered `delay_ms` after the transition it tells of.
    pub fn notification_sent(&self, delay_ms: i64) {
        self.notification_seconds
            .observe(delay_ms.max(0) as f64 / 1000.0);
    }

    /// Counts a web analytics write that found its users' data changed by another writer since
    /// it read them, and read them again.
    pub fn web_write_retried(&self) {
        self.web_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Web analytics writes read again so far.
    #[must_use]
    pub fn web_write_retries(&self) -> u64 {
        self.web_retries.load(Ordering::Relaxed)
    }

    /// Counts a Redis round trip (a command or a pipeline) that took `took`; `failure` says
    /// how it failed, if it did.
    pub fn redis_request(&self, took: Duration, failure: Option<RedisFailure>) {
        self.redis_seconds.observe(took.as_secs_f64());
        match failure {
            Some(RedisFailure::Unavailable) => {
                self.redis_unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Some(RedisFailure::Error) => {
                self.redis_failed.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
    }
}

/// How a Redis request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisFailure {
    /// Redis could not be reached, or did not answer in time.
    Unavailable,
    /// Redis answered with an error.
    Error,
}
