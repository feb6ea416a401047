//! The senders: HTTP ingest (JSON, InfluxDB line protocol, analytics events) and StatsD over
//! UDP, each at its own pace until the run ends.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use app::clock::now_ms;
use app::random::Rng;
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use crate::load::{Ingest, Load, clip, error_chain};
use crate::workload::{
    EVENTS_EVERY, INFLUX_EVERY, JSON_BATCH, JSON_EVERY, JSON_SERIES, REQUESTS_IN_FLIGHT,
    STATSD_EVERY, STATSD_LINES, STATSD_LINES_PER_DATAGRAM, USERS, event_batch, influx_lines,
    json_batch,
};

/// Sends one ingest request and books its outcome; its `points` count as sent if it succeeds.
async fn send_ingest(load: &Load, kind: Ingest, request: reqwest::RequestBuilder, points: u64) {
    let started = Instant::now();
    let outcome = match request.send().await {
        Ok(response) if response.status().is_success() => response
            .bytes()
            .await
            .map(|_| ())
            .map_err(|error| format!("reading the answer: {}", error_chain(&error))),
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Err(format!("{status}: {}", clip(&body)))
        }
        Err(error) => Err(error_chain(&error)),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(()) => {
            load.tally(kind).succeeded(Some(latency_ms));
            load.ingest_latency.push(latency_ms);
            load.points_sent.fetch_add(points, Ordering::Relaxed);
        }
        // Requests cut off by the end of the run do not count.
        Err(_) if load.stop.is_cancelled() => {}
        Err(why) => load.tally(kind).failed(why),
    }
}

/// Every `period` until the end, sends the request `next_request` makes (with the points it
/// holds), at most [`REQUESTS_IN_FLIGHT`] at once.
async fn keep_sending(
    load: Arc<Load>,
    kind: Ingest,
    period: Duration,
    mut next_request: impl FnMut() -> (reqwest::RequestBuilder, u64),
) {
    let in_flight = Arc::new(Semaphore::new(REQUESTS_IN_FLIGHT));
    let mut ticks = tokio::time::interval(period);
    // No catching up after a stall: the offered rate stays what it is, and a server that
    // cannot take it shows up as fewer points sent.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let permit = tokio::select! {
            () = load.stop.cancelled() => return,
            permit = in_flight.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (request, points) = next_request();
        let load = load.clone();
        tokio::spawn(async move {
            send_ingest(&load, kind, request, points).await;
            drop(permit);
        });
    }
}

/// The HTTP ingest senders, until the end of the run.
pub fn start_ingest(
    load: &Arc<Load>,
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Vec<tokio::task::JoinHandle<()>> {
    let authorization = format!("Token {token}");
    let json = {
        let (client, url, authorization) = (
            client.clone(),
            format!("{base}/api/v1/ingest"),
            authorization.clone(),
        );
        let mut rng = Rng::new(1);
        let mut next_slot = 0;
        keep_sending(load.clone(), Ingest::Json, JSON_EVERY, move || {
            let (body, points) = json_batch(next_slot, &mut rng);
            next_slot = (next_slot + JSON_BATCH) % JSON_SERIES;
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "application/json")
                .body(body);
            (request, points)
        })
    };
    let influx = {
        let (client, url, authorization) = (
            client.clone(),
            format!("{base}/api/v2/write?bucket=soak&org=soak&precision=ms"),
            authorization.clone(),
        );
        let mut rng = Rng::new(2);
        keep_sending(load.clone(), Ingest::Influx, INFLUX_EVERY, move || {
            let (body, points) = influx_lines(now_ms(), &mut rng);
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "text/plain; charset=utf-8")
                .body(body);
            (request, points)
        })
    };
    let events = {
        let (client, url) = (client.clone(), format!("{base}/api/v1/events"));
        let mut rng = Rng::new(3);
        keep_sending(load.clone(), Ingest::Events, EVENTS_EVERY, move || {
            let (body, points) = event_batch(&mut rng);
            let request = client
                .post(&url)
                .header("authorization", &authorization)
                .header("content-type", "application/json")
                .body(body);
            (request, points)
        })
    };
    vec![
        tokio::spawn(json),
        tokio::spawn(influx),
        tokio::spawn(events),
    ]
}

/// StatsD lines over UDP to `target` until the end: counters, timers, gauges and sets in turn.
pub async fn send_statsd(load: Arc<Load>, target: String) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("a UDP socket on loopback");
    let mut rng = Rng::new(4);
    let mut ticks = tokio::time::interval(STATSD_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let lines: Vec<String> = (0..STATSD_LINES)
            .map(|line| {
                let route = rng.below(10);
                match line % 4 {
                    0 => format!("soak.hits:1|c|#route:/r{route}"),
                    1 => format!(
                        "soak.latency:{:.1}|ms|#route:/r{route}",
                        1.0 + 200.0 * rng.unit()
                    ),
                    2 => format!("soak.queue:{}|g|#queue:q{}", rng.below(500), route % 5),
                    _ => format!("soak.visitors:u{}|s", rng.below(USERS as u64)),
                }
            })
            .collect();
        for datagram in lines.chunks(STATSD_LINES_PER_DATAGRAM) {
            match socket
                .send_to(datagram.join("\n").as_bytes(), &target)
                .await
            {
                Ok(_) => {
                    load.statsd.succeeded(None);
                    load.points_sent
                        .fetch_add(datagram.len() as u64, Ordering::Relaxed);
                }
                Err(error) => load.statsd.failed(format!("sending to {target}: {error}")),
            }
        }
    }
}
