//! StatsD over UDP, with DogStatsD tags.
//!
//! One packet holds one or more lines `name:value|type[|@rate][|#tag:value,tag2]`:
//! - `c`: counter increment, divided by the sample rate (`|@0.1` counts ×10);
//! - `g`: gauge; `+N` and `-N` change the current value instead of setting it (so a negative
//!   gauge is sent as `0` then `-N`, as in StatsD);
//! - `ms`, `h`, `d`: an observation of a histogram (timers, histograms, distributions);
//! - `s`: a member of a set.
//!
//! Dots and other characters outside the metric grammar become `_`; DogStatsD tags become
//! labels (a bare tag `foo` becomes `foo="true"`). Timestamps are the time of receipt.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::model::{MetricKind, Observation, Observed, SeriesKey};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{label_name_from, metric_name_from};
use crate::storage::writer::Writer;

/// Largest UDP payload read (the IPv4 maximum).
const MAX_PACKET: usize = 65_535;
/// Most observations written in one batch.
const MAX_BATCH: usize = 5_000;
/// Longest an observation waits for its batch to fill.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Batches waiting for Redis; past this, packets are dropped (and counted), as UDP would.
const QUEUED_BATCHES: usize = 64;
/// At most one warning about bad lines per this interval.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Counters of what the listener saw, for logs and self-metrics.
#[derive(Debug, Default)]
pub struct StatsdCounters {
    /// Lines stored.
    pub accepted: AtomicU64,
    /// Lines that did not parse.
    pub malformed: AtomicU64,
    /// Lines dropped because Redis was too slow or refused them.
    pub dropped: AtomicU64,
}

/// Receives packets on `socket` until `shutdown`, and writes them in batches.
pub async fn serve(
    socket: UdpSocket,
    writer: Writer,
    counters: Arc<StatsdCounters>,
    shutdown: CancellationToken,
) {
    let (batches, mut pending) = mpsc::channel::<Vec<Observation>>(QUEUED_BATCHES);
    let writer_counters = counters.clone();
    let storing = tokio::spawn(async move {
        while let Some(batch) = pending.recv().await {
            let lines = batch.len();
            match writer.write(batch).await {
                Ok(outcome) => {
                    let refused = outcome.refused.len() as u64;
                    writer_counters
                        .accepted
                        .fetch_add(outcome.stored as u64, Ordering::Relaxed);
                    writer_counters
                        .dropped
                        .fetch_add(refused, Ordering::Relaxed);
                }
                Err(error) => {
                    writer_counters
                        .dropped
                        .fetch_add(lines as u64, Ordering::Relaxed);
                    tracing::warn!(%error, lines, "storing StatsD lines failed; dropped");
                }
            }
        }
    });
    let mut buffer = vec![0u8; MAX_PACKET];
    let mut batch: Vec<Observation> = Vec::new();
    let mut deadline = tokio::time::Instant::now() + BATCH_WINDOW;
    let mut last_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(deadline), if !batch.is_empty() => {
                send(&batches, std::mem::take(&mut batch), &counters);
            }
            received = socket.recv_from(&mut buffer) => {
                let Ok((length, peer)) = received else { continue };
                let text = String::from_utf8_lossy(&buffer[..length]);
                let (samples, errors) = parse_packet(&text);
                if !errors.is_empty() {
                    counters.malformed.fetch_add(errors.len() as u64, Ordering::Relaxed);
                    if last_warning.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                        last_warning = Some(Instant::now());
                        let (line, problem) = &errors[0];
                        tracing::warn!(
                            %peer, line, problem,
                            malformed_total = counters.malformed.load(Ordering::Relaxed),
                            "malformed StatsD line (further ones are counted, and logged at most every 10 s)"
                        );
                    }
                }
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + BATCH_WINDOW;
                }
                let now = app::clock::now_ms();
                for sample in samples {
                    let observation = Observation {
                        series: sample.series,
                        kind: sample.kind,
                        ts: now,
                        value: sample.value,
                    };
                    if observation.series.validate().is_ok() {
                        batch.push(observation);
                    } else {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if batch.len() >= MAX_BATCH {
                    send(&batches, std::mem::take(&mut batch), &counters);
                }
            }
        }
    }
    if !batch.is_empty() {
        send(&batches, batch, &counters);
    }
    drop(batches);
    let _ = storing.await;
}

fn send(
    batches: &mpsc::Sender<Vec<Observation>>,
    batch: Vec<Observation>,
    counters: &StatsdCounters,
) {
    let lines = batch.len() as u64;
    if batches.try_send(batch).is_err() {
        counters.dropped.fetch_add(lines, Ordering::Relaxed);
        tracing::warn!(
            lines,
            "StatsD batches are queueing faster than Redis takes them; dropped"
        );
    }
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsdSample {
    /// Series (name and tags).
    pub series: SeriesKey,
    /// Kind it maps to.
    pub kind: MetricKind,
    /// Value: a number, a gauge change, or a set member.
    pub value: Observed,
}

/// Parses a packet; returns the samples and, for each bad line, its text and the problem.
#[must_use]
pub fn parse_packet(packet: &str) -> (Vec<StatsdSample>, Vec<(String, String)>) {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for line in packet.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(sample) => samples.push(sample),
            Err(problem) => errors.push((line.chars().take(200).collect(), problem)),
        }
    }
    (samples, errors)
}

fn parse_line(line: &str) -> Result<StatsdSample, String> {
    let (name, rest) = line.split_once(':').ok_or("expected name:value|type")?;
    let mut sections = rest.split('|');
    let value = sections.next().unwrap_or_default();
    let kind_code = sections.next().ok_or("missing |type")?;
    let mut rate = 1.0;
    let mut labels = BTreeMap::new();
    for section in sections {
        if let Some(text) = section.strip_prefix('@') {
            rate = text
                .parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0 && *r <= 1.0)
                .ok_or_else(|| format!("sample rate {text:?} is not in (0, 1]"))?;
        } else if let Some(tags) = section.strip_prefix('#') {
            for tag in tags.split(',').filter(|t| !t.is_empty()) {
                let (key, value) = tag.split_once(':').unwrap_or((tag, "true"));
                labels.insert(label_name_from(key), value.to_owned());
            }
        }
        // Other DogStatsD sections (container id `c:`, timestamp `T`) carry nothing we use.
    }
    let name = metric_name_from(name);
    if name.is_empty() {
        return Err("empty metric name".into());
    }
    let number = |text: &str| {
        let number = text
            .parse::<f64>()
            .map_err(|_| format!("value {text:?} is not a number"))?;
        super::storable(number).map_err(|reason| format!("value {reason}"))
    };
    let (kind, value) = match kind_code {
        // Scaled up by the sample rate, an increment can leave the range it was sent in.
        "c" => (
            MetricKind::Counter,
            Observed::Number(
                super::storable(number(value)? / rate)
                    .map_err(|reason| format!("value / sample rate: {reason}"))?,
            ),
        ),
        "g" if value.starts_with(['+', '-']) => {
            (MetricKind::Gauge, Observed::Change(number(value)?))
        }
        "g" => (MetricKind::Gauge, Observed::Number(number(value)?)),
        "ms" | "h" | "d" => (MetricKind::Histogram, Observed::Number(number(value)?)),
        "s" if !value.is_empty() => (MetricKind::Set, Observed::Member(value.to_owned())),
        "s" => return Err("empty set member".into()),
        other => {
            return Err(format!(
                "unknown type {other:?}; expected c, g, ms, h, d or s"
            ));
        }
    };
    if kind == MetricKind::Counter && matches!(value, Observed::Number(x) if x < 0.0) {
        return Err("a counter increment must not be negative".into());
    }
    Ok(StatsdSample {
        series: SeriesKey { name, labels },
        kind,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> StatsdSample {
        let (samples, errors) = parse_packet(line);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(samples.len(), 1);
        samples.into_iter().next().unwrap()
    }

    /// Every type, sample rates, gauge changes and DogStatsD tags.
    #[test]
    fn every_type() {
        let counter = one("api.requests:3|c|@0.5|#route:/login,method:POST");
        assert_eq!(counter.series.name, "api_requests");
        assert_eq!(counter.kind, MetricKind::Counter);
        assert_eq!(counter.value, Observed::Number(6.0));
        assert_eq!(counter.series.labels["route"], "/login");
        assert_eq!(counter.series.labels["method"], "POST");
        assert_eq!(one("queue:12|g").value, Observed::Number(12.0));
        assert_eq!(one("queue:-4|g").value, Observed::Change(-4.0));
        assert_eq!(one("queue:+2.5|g").value, Observed::Change(2.5));
        let timer = one("render:320|ms|#canary");
        assert_eq!(
            (timer.kind, timer.value),
            (MetricKind::Histogram, Observed::Number(320.0))
        );
        assert_eq!(timer.series.labels["canary"], "true");
        assert_eq!(one("size:7|h").kind, MetricKind::Histogram);
        assert_eq!(one("size:7|d").kind, MetricKind::Histogram);
        let set = one("users:alice|s");
        assert_eq!(
            (set.kind, set.value),
            (MetricKind::Set, Observed::Member("alice".into()))
        );
    }

    /// Several lines per packet; bad lines are reported and do not stop the others.
    #[test]
    fn packets_with_bad_lines() {
        let (samples, errors) =
            parse_packet("a:1|c\nbroken\nb:x|g\nc:1|zz\nd:1|c|@2\n\ne:-1|c\nf:2|g\r\n");
        let names: Vec<_> = samples.iter().map(|s| s.series.name.as_str()).collect();
        assert_eq!(names, ["a", "f"]);
        let problems: Vec<_> = errors.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            problems,
            [
                "expected name:value|type",
                "value \"x\" is not a number",
                "unknown type \"zz\"; expected c, g, ms, h, d or s",
                "sample rate \"2\" is not in (0, 1]",
                "a counter increment must not be negative",
            ]
        );
    }

    /// Values whose sums could become infinite are refused, also when the sample rate scales
    /// a counter increment past the largest magnitude.
    #[test]
    fn values_beyond_the_largest_magnitude() {
        let (samples, errors) = parse_packet("a:1e100|g\nb:2e100|g\nc:5e99|c|@0.25\nd:+1e101|g\n");
        let names: Vec<_> = samples.iter().map(|s| s.series.name.as_str()).collect();
        assert_eq!(names, ["a"]);
        let problems: Vec<_> = errors.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            problems,
            [
                "value 2e100 is beyond ±1e100, the largest magnitude livedash stores (so that \
                 totals and sums of values stay finite)",
                "value / sample rate: 2e100 is beyond ±1e100, the largest magnitude livedash \
                 stores (so that totals and sums of values stay finite)",
                "value 1e101 is beyond ±1e100, the largest magnitude livedash stores (so that \
                 totals and sums of values stay finite)",
            ]
        );
    }
}
