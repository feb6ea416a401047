//! The live viewers: WebSocket clients that behave as the browser does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use app::clock::now_ms;
use app::live::{
    Applied, ClientMessage, LiveData, LiveQuery, ServerMessage, View, closed_for_good, parse_frame,
    reconnect_delay_ms,
};
use app::query::{Aggregation, Selector};
use app::random::Rng;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::load::{Load, clip, error_chain};
use crate::support::clock_ms;
use crate::workload::{
    CLOCK_METRIC, CLOCK_SUBSCRIPTION, CONNECTING_AT_ONCE, CONNECTING_PATIENCE, GAUGES,
    REQUEST_TIMEOUT, STEP_MS, VIEWERS, WINDOW_MS,
};

/// The subscriptions of viewer `index`: the send-time series first, then what a dashboard of
/// the load shows (shared by every viewer), then one gauge series of its own.
pub fn viewer_queries(index: usize) -> Vec<LiveQuery> {
    let range = |selector: &str, aggregation, group_by: Option<&[&str]>| LiveQuery::Range {
        selector: Selector::parse(selector).expect("the soak's selectors are valid"),
        aggregation,
        step_ms: STEP_MS,
        window_ms: WINDOW_MS,
        group_by: group_by.map(|labels| labels.iter().map(|&label| label.to_owned()).collect()),
    };
    vec![
        range(CLOCK_METRIC, Aggregation::Max, Some(&[])),
        range("soak_gauge", Aggregation::Avg, Some(&["group"])),
        range("soak_requests_total", Aggregation::Rate, Some(&[])),
        range(
            "soak_request_ms",
            Aggregation::Quantile { q: 0.99 },
            Some(&[]),
        ),
        range("soak_influx_cpu", Aggregation::Avg, Some(&["region"])),
        range(r#"events{event="page_view"}"#, Aggregation::Sum, Some(&[])),
        range(
            &format!(r#"soak_gauge{{series="{}"}}"#, index % GAUGES),
            Aggregation::Avg,
            None,
        ),
    ]
}

/// How a viewer's connection ended.
enum Ended {
    /// The run is over.
    Stopped,
    /// No socket was opened.
    ConnectFailed(String),
    /// An open socket ended; worth reconnecting unless it is `for_good`.
    Disconnected { reason: String, for_good: bool },
}

/// A viewer as the browser behaves: subscribes, applies snapshots and deltas to its views,
/// and after a disconnect reconnects with backoff and resumes from its cursors.
async fn viewer(
    index: usize,
    load: Arc<Load>,
    url: String,
    token: String,
    ready: mpsc::Sender<()>,
) {
    let queries = viewer_queries(index);
    let mut views = vec![View::default(); queries.len()];
    let mut ready = Some(ready);
    let mut rng = Rng::new(1_000 + index as u64);
    let mut attempt = 0;
    loop {
        match watch(&load, &url, &token, &queries, &mut views, &mut ready).await {
            Ended::Stopped => return,
            Ended::ConnectFailed(why) => {
                load.viewer_connects.failed(why);
                attempt += 1;
            }
            Ended::Disconnected { reason, for_good } => {
                load.disconnected(reason);
                if for_good {
                    return;
                }
                attempt = 1;
            }
        }
        let delay = reconnect_delay_ms(attempt, rng.unit());
        tokio::select! {
            () = load.stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(delay.into())) => {}
        }
    }
}

/// The newest send time a delta of the send-time series shows.
fn newest_sent(data: &LiveData) -> Option<f64> {
    let LiveData::Range { series, .. } = data else {
        return None;
    };
    series
        .iter()
        .flat_map(|line| &line.points)
        .map(|&(_, value)| value)
        .reduce(f64::max)
}

fn subscribe(id: usize, query: &LiveQuery, view: &View) -> Message {
    let message = ClientMessage::Subscribe {
        id: id as u32,
        query: query.clone(),
        after: view.cursor.clone(),
    };
    Message::Text(
        serde_json::to_string(&message)
            .expect("client messages serialize")
            .into(),
    )
}

/// One connection of a viewer, until it ends. Counts the viewer as connected once every
/// subscription has had its snapshot (or, after a reconnect, its catch-up delta).
async fn watch(
    load: &Load,
    url: &str,
    token: &str,
    queries: &[LiveQuery],
    views: &mut [View],
    ready: &mut Option<mpsc::Sender<()>>,
) -> Ended {
    let mut request = url
        .into_client_request()
        .expect("the live URL is a valid request");
    request.headers_mut().insert(
        "authorization",
        format!("Token {token}")
            .parse()
            .expect("a token is a valid header value"),
    );
    let connecting =
        tokio::time::timeout(REQUEST_TIMEOUT, tokio_tungstenite::connect_async(request));
    let mut socket = tokio::select! {
        () = load.stop.cancelled() => return Ended::Stopped,
        connected = connecting => match connected {
            Ok(Ok((socket, _))) => {
                load.viewer_connects.succeeded(None);
                socket
            }
            Ok(Err(error)) => return Ended::ConnectFailed(error_chain(&error)),
            Err(_) => return Ended::ConnectFailed("no handshake within 30 s".to_owned()),
        },
    };
    for (id, (query, view)) in queries.iter().zip(views.iter()).enumerate() {
        if let Err(error) = socket.send(subscribe(id, query, view)).await {
            return Ended::Disconnected {
                reason: format!("subscribing: {error}"),
                for_good: false,
            };
        }
    }
    let mut answered = vec![false; queries.len()];
    let mut connected = false;
    let ended = loop {
        let frame = tokio::select! {
            () = load.stop.cancelled() => {
                let _ = socket.close(None).await;
                break Ended::Stopped;
            }
            frame = socket.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                break match close {
                    Some(close) => Ended::Disconnected {
                        reason: format!("closed by livedash: {} {}", close.code, close.reason),
                        for_good: closed_for_good(close.code.into()),
                    },
                    None => Ended::Disconnected {
                        reason: "closed by livedash without a code".to_owned(),
                        for_good: false,
                    },
                };
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                break Ended::Disconnected {
                    reason: error_chain(&error),
                    for_good: false,
                };
            }
            None => {
                break Ended::Disconnected {
                    reason: "the stream ended without a close frame".to_owned(),
                    for_good: false,
                };
            }
        };
        let received = clock_ms();
        let messages = match parse_frame(&text) {
            Ok(messages) => messages,
            Err(error) => {
                load.live_messages
                    .failed(format!("unreadable frame ({error}): {}", clip(&text)));
                continue;
            }
        };
        let oldest_bucket = now_ms() - WINDOW_MS - STEP_MS;
        let mut ask_again = Vec::new();
        for message in messages {
            match message {
                ServerMessage::Snapshot { id, at, data } => {
                    let id = id as usize;
                    if let Some(view) = views.get_mut(id) {
                        view.snapshot(at, data);
                        answered[id] = true;
                        load.live_messages.succeeded(None);
                    }
                }
                ServerMessage::Delta { id, from, to, data } => {
                    let id = id as usize;
                    let Some(view) = views.get_mut(id) else {
                        continue;
                    };
                    if id == CLOCK_SUBSCRIPTION
                        && let Some(sent) = newest_sent(&data)
                    {
                        load.live_latency.push(received - sent);
                    }
                    match view.delta(from.clone(), to, data) {
                        Applied::Ok => {
                            view.trim(oldest_bucket);
                            answered[id] = true;
                            load.live_messages.succeeded(None);
                        }
                        Applied::Gap => {
                            load.live_messages.failed(format!(
                                "gap: a delta from {from} for a view at {}",
                                view.cursor
                                    .as_ref()
                                    .map_or("nothing".to_owned(), |at| at.to_string())
                            ));
                            ask_again.push(id);
                        }
                    }
                }
                ServerMessage::Status { degraded, .. } => {
                    if degraded {
                        load.degraded_notices.fetch_add(1, Ordering::Relaxed);
                    }
                }
                ServerMessage::Error { id, message } => {
                    load.live_messages
                        .failed(format!("subscription {id:?} refused: {message}"));
                }
                ServerMessage::Pong { .. } => {}
            }
        }
        // As the browser does after a gap: subscribe again from what the view holds.
        let mut resubscribing = Ok(());
        for id in ask_again {
            resubscribing = socket.send(subscribe(id, &queries[id], &views[id])).await;
            if resubscribing.is_err() {
                break;
            }
        }
        if let Err(error) = resubscribing {
            break Ended::Disconnected {
                reason: format!("subscribing again after a gap: {error}"),
                for_good: false,
            };
        }
        if !connected && answered.iter().all(|&done| done) {
            connected = true;
            load.viewers_connected.fetch_add(1, Ordering::Relaxed);
            match ready.take() {
                Some(first_time) => {
                    let _ = first_time.send(()).await;
                }
                None => {
                    load.reconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    if connected {
        load.viewers_connected.fetch_sub(1, Ordering::Relaxed);
    }
    ended
}

/// Starts the viewers, [`CONNECTING_AT_ONCE`] handshakes at a time, and waits until they are
/// connected or [`CONNECTING_PATIENCE`] has passed; their tasks, and how many connected.
pub async fn connect_viewers(
    load: &Arc<Load>,
    addr: &str,
    token: &str,
) -> (Vec<tokio::task::JoinHandle<()>>, usize) {
    let url = format!("ws://{addr}{}", app::live::LIVE_PATH);
    let (ready_tx, mut ready) = mpsc::channel(VIEWERS);
    let deadline = tokio::time::Instant::now() + CONNECTING_PATIENCE;
    let mut tasks = Vec::with_capacity(VIEWERS);
    let mut connected = 0;
    for index in 0..VIEWERS {
        tasks.push(tokio::spawn(viewer(
            index,
            load.clone(),
            url.clone(),
            token.to_owned(),
            ready_tx.clone(),
        )));
        // Past the deadline the rest start without waiting; they keep trying on their own.
        if index + 1 - connected >= CONNECTING_AT_ONCE
            && let Ok(Some(())) = tokio::time::timeout_at(deadline, ready.recv()).await
        {
            connected += 1;
        }
    }
    while connected < VIEWERS {
        match tokio::time::timeout_at(deadline, ready.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    (tasks, connected)
}
