//! The browser side of the live connection: connect, apply messages, reconnect with backoff.

use std::collections::BTreeMap;

use futures::StreamExt;
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use leptos::prelude::*;

use super::ConnectionStatus;
use crate::live::{LIVE_PATH, ServerMessage, reconnect_delay_ms};
use crate::model::{CurrentValue, SeriesKey};

/// Keeps a live connection open for as long as the page lives, feeding `live` and `status`.
pub fn connect(
    live: RwSignal<BTreeMap<SeriesKey, CurrentValue>>,
    status: RwSignal<ConnectionStatus>,
) {
    leptos::task::spawn_local(async move {
        let mut failed_attempts = 0u32;
        // The last reason the server gave; a later bare connection failure keeps it, since
        // "server shutting down" says more than "connection refused" while it restarts.
        let mut reason: Option<String> = None;
        loop {
            match live_url().map(|url| WebSocket::open(&url)) {
                Ok(Ok(socket)) => {
                    let (received, closed_because) = run(socket, live, status).await;
                    if received {
                        failed_attempts = 0;
                        reason = None;
                    }
                    reason = closed_because.or(reason);
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

/// Reads one connection until it ends. Returns whether any message arrived, and the reason the
/// server gave for closing it, if it gave one.
async fn run(
    mut socket: WebSocket,
    live: RwSignal<BTreeMap<SeriesKey, CurrentValue>>,
    status: RwSignal<ConnectionStatus>,
) -> (bool, Option<String>) {
    let mut received = false;
    while let Some(frame) = socket.next().await {
        match frame {
            Ok(Message::Text(text)) => match serde_json::from_str::<ServerMessage>(&text) {
                Ok(message) => {
                    received = true;
                    apply(message, live);
                    status.set(ConnectionStatus::Live);
                }
                Err(error) => {
                    leptos::logging::warn!("livedash: unreadable live message: {error}");
                }
            },
            Ok(Message::Bytes(_)) => {}
            Err(WebSocketError::ConnectionClose(close)) => {
                return (received, (!close.reason.is_empty()).then_some(close.reason));
            }
            Err(_) => return (received, None),
        }
    }
    (received, None)
}

fn apply(message: ServerMessage, live: RwSignal<BTreeMap<SeriesKey, CurrentValue>>) {
    match message {
        // A snapshot is complete, but the page may hold newer values that arrived in between;
        // `supersedes` keeps whichever is more recent.
        ServerMessage::Snapshot { values, .. } | ServerMessage::Update { values } => {
            live.update(|live| {
                for value in values {
                    match live.get(&value.series) {
                        Some(known) if !value.supersedes(known) => {}
                        _ => {
                            live.insert(value.series.clone(), value);
                        }
                    }
                }
            });
        }
    }
}

/// `ws://host/api/v1/live`, or `wss://` when the page came over HTTPS.
fn live_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "no location.protocol")?;
    let host = location.host().map_err(|_| "no location.host")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}{LIVE_PATH}"))
}
