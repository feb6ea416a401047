//! `GET /metrics`: livedash's metrics for Prometheus, in the text format 0.0.4, or in
//! OpenMetrics 1.0.0 when the scraper's `Accept` header prefers it. Who may read them is decided
//! at the access edge (`http::auth`): any valid token or session, or anyone from this machine.

use std::fmt;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::process::ProcessUse;
use super::{Protocol, metrics};

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The two formats `GET /metrics` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
}

/// The format the `Accept` header prefers (by its `q` weights; the text format when it names
/// neither, or nothing).
#[must_use]
pub fn negotiate(accept: Option<&str>) -> Format {
    let mut best = (Format::Text, 0.0_f64);
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0;
        let mut version = None;
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "q" => q = value.trim().parse().unwrap_or(0.0),
                "version" => version = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let format = match media.as_str() {
            "application/openmetrics-text"
                if version
                    .as_deref()
                    .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
            {
                Format::OpenMetrics
            }
            "text/plain" | "text/*" | "*/*" => Format::Text,
            _ => continue,
        };
        // The first of equal weights wins, as the client listed them.
        if q > best.1 {
            best = (format, q);
        }
    }
    best.0
}

/// `snapshot` and the process-wide counters in `format`, with the content type to send it
/// with; `None` if a metric could not be written (a bug here: writing to a String does not
/// fail otherwise).
#[must_use]
pub fn render(snapshot: Snapshot, format: Format) -> Option<(String, &'static str)> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut body = String::new();
    let encoded = match format {
        Format::Text => prometheus_client::encoding::prometheus_text::encode(&mut body, &registry),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut body, &registry),
    };
    encoded.ok()?;
    let content_type = match format {
        Format::Text => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        Format::OpenMetrics => OPENMETRICS,
    };
    Some((body, content_type))
}

/// What a scrape reports besides the process-wide counters: read once, when it is asked for.
#[derive(Debug)]
pub struct Snapshot {
    pub live_viewers: usize,
    pub live_queries: usize,
    pub slow_clients_closed: u64,
    pub points_stored: u64,
    pub statsd_accepted: u64,
    pub statsd_malformed: u64,
    pub statsd_dropped: u64,
    pub process: ProcessUse,
}

/// One metric without labels.
fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &impl EncodeMetric,
) -> fmt::Result {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One metric per value of its only label.
fn by_label<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    label: &str,
    values: &[(&str, M)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (value, metric) in values {
        let labels = [(label, *value)];
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge_if(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: Option<f64>,
) -> fmt::Result {
    match value {
        Some(value) => single(encoder, name, help, &ConstGauge::new(value)),
        None => Ok(()),
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let all = metrics();
        let per_protocol = |counts: &[std::sync::atomic::AtomicU64; 3], statsd: Option<u64>| {
            let mut values: Vec<(&str, ConstCounter)> = Protocol::ALL
                .iter()
                .zip(counts)
                .map(|(protocol, count)| {
                    (
                        protocol.label(),
                        ConstCounter::new(count.load(Ordering::Relaxed)),
                    )
                })
                .collect();
            if let Some(statsd) = statsd {
                values.push(("statsd", ConstCounter::new(statsd)));
            }
            values
        };
        by_label(
            &mut encoder,
            (
                "livedash_ingest_accepted",
                "Items stored, by protocol: points (json, line_protocol, statsd lines) or events.",
                MetricType::Counter,
            ),
            "protocol",
            &per_protocol(&all.accepted, Some(self.statsd_accepted)),
        )?;
        by_label(
            &mut encoder,
            (
                "livedash_ingest_refused",
                "Items refused one by one while the rest of their request was stored (a bad \
                 value, another kind than the series', a series cap; for statsd, lines that did \
                 not parse or could not be written), by protocol.",
                MetricType::Counter,
            ),
            "protocol",
            &per_protocol(
                &all.refused,
                Some(self.statsd_malformed + self.statsd_dropped),
            ),
        )?;
        by_label(
            &mut encoder,
            (
                "livedash_ingest_requests_refused",
                "Ingest requests refused whole (an unreadable body, a limit, Redis away), by \
                 protocol.",
                MetricType::Counter,
            ),
            "protocol",
            &per_protocol(&all.requests_refused, None),
        )?;
        let ingest: Vec<_> = Protocol::ALL
            .iter()
            .zip(&all.ingest_seconds)
            .map(|(protocol, histogram)| (protocol.label(), histogram.clone()))
            .collect();
        by_label(
            &mut encoder,
            (
                "livedash_ingest_duration_seconds",
                "Time to answer an ingest request, by protocol.",
                MetricType::Histogram,
            ),
            "protocol",
            &ingest,
        )?;
        single(
            &mut encoder,
            "livedash_points_stored",
            "Points written to Redis (every protocol, livedash's own metrics included).",
            &ConstCounter::new(self.points_stored),
        )?;
        single(
            &mut encoder,
            "livedash_query_duration_seconds",
            "Time to answer a query of series (the HTTP API, dashboard widgets, share links).",
            &all.query_seconds,
        )?;
        single(
            &mut encoder,
            "livedash_queries_refused",
            "Queries refused as invalid or over a limit (LIVEDASH_QUERY_MAX_KEYS, \
             LIVEDASH_QUERY_MAX_POINTS).",
            &ConstCounter::new(all.queries_refused.load(Ordering::Relaxed)),
        )?;
        single(
            &mut encoder,
            "livedash_web_write_retries",
            "Web analytics writes that found their users' visits or retention records changed by \
             another writer since they read them, and read them again.",
            &ConstCounter::new(all.web_write_retries()),
        )?;
        single(
            &mut encoder,
            "livedash_alert_notification_delay_seconds",
            "Time from an alert's transition to its notification's 2xx answer (retries included).",
            &all.notification_seconds,
        )?;
        single(
            &mut encoder,
            "livedash_live_viewers",
            "Open live sockets (dashboards and share links being watched).",
            &ConstGauge::new(self.live_viewers as i64),
        )?;
        single(
            &mut encoder,
            "livedash_live_queries",
            "Distinct queries being pushed live.",
            &ConstGauge::new(self.live_queries as i64),
        )?;
        single(
            &mut encoder,
            "livedash_live_slow_clients_closed",
            "Live sockets closed because their client fell behind (LIVEDASH_LIVE_SLOW_CLIENT).",
            &ConstCounter::new(self.slow_clients_closed),
        )?;
        single(
            &mut encoder,
            "livedash_redis_request_duration_seconds",
            "Round-trip time of Redis requests (a command or a pipeline).",
            &all.redis_seconds,
        )?;
        by_label(
            &mut encoder,
            (
                "livedash_redis_errors",
                "Redis requests that failed: unavailable (no connection, a timeout) or error (an \
                 error answer).",
                MetricType::Counter,
            ),
            "kind",
            &[
                (
                    "unavailable",
                    ConstCounter::new(all.redis_unavailable.load(Ordering::Relaxed)),
                ),
                (
                    "error",
                    ConstCounter::new(all.redis_failed.load(Ordering::Relaxed)),
                ),
            ],
        )?;
        let process = &self.process;
        gauge_if(
            &mut encoder,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            process.resident_bytes,
        )?;
        gauge_if(
            &mut encoder,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            process.virtual_bytes,
        )?;
        if let Some(seconds) = process.cpu_seconds {
            single(
                &mut encoder,
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                &ConstCounter::new(seconds),
            )?;
        }
        gauge_if(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            process.start_time_seconds,
        )?;
        gauge_if(
            &mut encoder,
            "process_open_fds",
            "Number of open file descriptors.",
            process.open_fds,
        )?;
        gauge_if(
            &mut encoder,
            "process_threads",
            "Number of OS threads in the process.",
            process.threads,
        )?;
        by_label(
            &mut encoder,
            (
                "livedash_build_info",
                "The running livedash's version (always 1).",
                MetricType::Gauge,
            ),
            "version",
            &[(env!("CARGO_PKG_VERSION"), ConstGauge::new(1_i64))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(negotiate(None), Format::Text);
        assert_eq!(negotiate(Some("")), Format::Text);
        assert_eq!(negotiate(Some("*/*")), Format::Text);
        assert_eq!(negotiate(Some("text/plain;version=0.0.4")), Format::Text);
        assert_eq!(
            negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        // What Prometheus sends.
        let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,\
                          application/openmetrics-text;version=0.0.1;q=0.4,\
                          text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(
            negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Format::Text
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text; version=2.0.0")),
            Format::Text
        );
        assert_eq!(negotiate(Some("application/json")), Format::Text);
    }
}
