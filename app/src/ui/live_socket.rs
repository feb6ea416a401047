//! The browser side of the live connection: subscribe, apply snapshots and deltas, reconnect
//! with backoff and resume from the last cursor, so charts keep their points across outages.

use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message, State, WebSocketError, futures::WebSocket};
use leptos::prelude::*;

use super::ConnectionStatus;
use crate::live::{
    Applied, ClientMessage, LIVE_PATH, LiveQuery, ServerMessage, SubscriptionId, View,
    closed_for_good, parse_frame, reconnect_delay_ms,
};

/// One thing a page shows live.
#[derive(Clone)]
pub struct LiveSubscription {
    pub id: SubscriptionId,
    pub query: LiveQuery,
    pub view: RwSignal<View>,
}

/// Keeps a live connection open for as long as the page lives, feeding every subscription's
/// view and `status`.
pub fn connect(subscriptions: Vec<LiveSubscription>, status: RwSignal<ConnectionStatus>) {
    leptos::task::spawn_local(async move {
        let mut failed_attempts = 0u32;
        // The last reason the server gave; a later bare connection failure keeps it, since
        // "server shutting down" says more than "connection refused" while it restarts.
        let mut reason: Option<String> = None;
        loop {
            match live_url().map(|url| WebSocket::open(&url)) {
                Ok(Ok(socket)) => {
                    let (received, closed_because) = run(socket, &subscriptions, status).await;
                    if received {
                        failed_attempts = 0;
                        reason = None;
                    }
                    if let Some((code, said)) = closed_because {
                        if closed_for_good(code) {
                            status.set(ConnectionStatus::Ended { reason: said });
                            return;
                        }
                        reason = Some(said);
                    }
                }
                Ok(Err(error)) => reason = reason.or_else(|| Some(error.to_string())),
                Err(error) => reason = Some(error),
            }
            failed_attempts = failed_attempts.saturating_add(1);
            let in_ms = reconnect_delay_ms(failed_attempts, js_sys::Math::random());
            status.set(ConnectionStatus::Reconnecting {
                in_ms,
                reason: reason.clone().unwrap_or_else(|| "connection lost".into()),
            });
            gloo_timers::future::TimeoutFuture::new(in_ms).await;
        }
    });
}

/// The subscribe message for `subscription`, resuming from what its view holds.
fn subscribe(subscription: &LiveSubscription) -> Option<Message> {
    let message = ClientMessage::Subscribe {
        id: subscription.id,
        query: subscription.query.clone(),
        after: subscription.view.with_untracked(|view| view.cursor),
    };
    serde_json::to_string(&message).ok().map(Message::Text)
}

/// Runs one connection until it ends. Returns whether any message arrived, and the code and
/// reason the server gave for closing it, if it gave one.
async fn run(
    mut socket: WebSocket,
    subscriptions: &[LiveSubscription],
    status: RwSignal<ConnectionStatus>,
) -> (bool, Option<(u16, String)>) {
    // Wait for the handshake; a socket that failed to open yields why instead.
    let _ = futures::future::poll_fn(|cx| socket.poll_ready_unpin(cx)).await;
    if !matches!(socket.state(), State::Open) {
        return match socket.next().await {
            Some(Err(WebSocketError::ConnectionClose(close))) if !close.reason.is_empty() => {
                (false, Some((close.code, close.reason)))
            }
            _ => (false, None),
        };
    }
    let (mut sink, mut stream) = socket.split();
    for subscription in subscriptions {
        if let Some(message) = subscribe(subscription)
            && sink.send(message).await.is_err()
        {
            return (false, None);
        }
    }
    let mut received = false;
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(Message::Text(text)) => text,
            Ok(Message::Bytes(_)) => continue,
            Err(WebSocketError::ConnectionClose(close)) => {
                return (
                    received,
                    (!close.reason.is_empty()).then_some((close.code, close.reason)),
                );
            }
            Err(_) => return (received, None),
        };
        let messages = match parse_frame(&text) {
            Ok(messages) => messages,
            Err(error) => {
                leptos::logging::warn!("livedash: unreadable live message: {error}");
                continue;
            }
        };
        received = true;
        for message in messages {
            if !apply(message, subscriptions, status, &mut sink).await {
                return (received, None);
            }
        }
    }
    (received, None)
}

/// Applies one message; false when the connection failed while answering it.
async fn apply(
    message: ServerMessage,
    subscriptions: &[LiveSubscription],
    status: RwSignal<ConnectionStatus>,
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
) -> bool {
    {
        match message {
            ServerMessage::Snapshot { id, at, data } => {
                if let Some(subscription) = subscriptions.iter().find(|s| s.id == id) {
                    subscription.view.update(|view| view.snapshot(at, data));
                }
                status.set(ConnectionStatus::Live);
            }
            ServerMessage::Delta { id, from, to, data } => {
                let Some(subscription) = subscriptions.iter().find(|s| s.id == id) else {
                    return true;
                };
                let mut applied = Applied::Ok;
                subscription
                    .view
                    .update(|view| applied = view.delta(from, to, data));
                if applied == Applied::Gap
                    && let Some(message) = subscribe(subscription)
                    && sink.send(message).await.is_err()
                {
                    return false;
                }
                status.set(ConnectionStatus::Live);
            }
            ServerMessage::Status { degraded, reason } => status.set(if degraded {
                ConnectionStatus::Degraded {
                    reason: reason.unwrap_or_else(|| "updates are delayed".into()),
                }
            } else {
                ConnectionStatus::Live
            }),
            ServerMessage::Error { id, message } => {
                leptos::logging::warn!("livedash: subscription {id:?} refused: {message}");
                if let Some(subscription) = subscriptions.iter().find(|s| Some(s.id) == id) {
                    subscription
                        .view
                        .update(|view| view.refused = Some(message));
                }
            }
            ServerMessage::Pong { .. } => {}
        }
    }
    true
}

/// `ws://host/api/v1/live`, or `wss://` when the page came over HTTPS.
fn live_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "no location.protocol")?;
    let host = location.host().map_err(|_| "no location.host")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}{LIVE_PATH}"))
}
