//! One browser's live WebSocket: a snapshot first, then the hub's updates.

use std::time::Duration;

use app::live::{CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER, ServerMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::HubEvent;
use crate::state::AppState;

/// How often the server pings an idle socket, so dead peers are noticed and proxies keep it.
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Longest a single send may take before the client is considered stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /api/v1/live`: upgrades to the live protocol.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket| serve(socket, state))
}

#[tracing::instrument(skip_all)]
async fn serve(mut socket: WebSocket, state: AppState) {
    // Subscribe before reading the snapshot, so an update that lands in between is not lost
    // (at worst it arrives twice, and the client keeps the newer value).
    let mut events = state.hub.subscribe();
    if let Err(reason) = send_snapshot(&mut socket, &state).await {
        close(&mut socket, CLOSE_TRY_AGAIN_LATER, reason).await;
        return;
    }
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
            event = events.recv() => {
                let sent = match event {
                    Ok(HubEvent::Update(text)) => send(&mut socket, Message::Text(Utf8Bytes::from(&*text))).await,
                    Ok(HubEvent::Resync) | Err(RecvError::Lagged(_)) => send_snapshot(&mut socket, &state).await,
                    Err(RecvError::Closed) => {
                        close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                        return;
                    }
                };
                if let Err(reason) = sent {
                    close(&mut socket, CLOSE_TRY_AGAIN_LATER, reason).await;
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_) | Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn send_snapshot(socket: &mut WebSocket, state: &AppState) -> Result<(), &'static str> {
    let listed = state.store.current_values().await.map_err(|error| {
        tracing::warn!(%error, "snapshot for a live client failed");
        "storage unavailable"
    })?;
    let message = ServerMessage::Snapshot {
        values: listed.values,
        truncated: listed.truncated,
    };
    let text = serde_json::to_string(&message).map_err(|_| "encoding failed")?;
    send(socket, Message::Text(text.into())).await
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), &'static str> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("connection lost"),
        Err(_) => Err("client too slow"),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}
