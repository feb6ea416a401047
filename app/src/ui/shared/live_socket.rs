//! The browser side of the live connection: subscribe, apply snapshots and deltas, reconnect
//! with backoff and resume from the last cursor, so charts keep their points across outages.

use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message, State, WebSocketError, futures::WebSocket};
use leptos::prelude::*;

use crate::live::{
    Applied, ClientMessage, LIVE_PATH, LiveQuery, ServerMessage, SubscriptionId, View,
    closed_for_good, parse_frame, reconnect_delay_ms,
};
use crate::ui::shared::status::ConnectionStatus;

/// One thing a page shows live.
#[derive(Clone)]
pub struct LiveSubscription {
    pub id: SubscriptionId,
    pub query: LiveQuery,
    pub view: RwSignal<View>,
}

/// A page's live connection. Subscriptions can be added, changed and dropped while it runs;
/// it closes when the last copy of it is dropped with the page.
#[derive(Clone)]
pub struct LiveConnection {
    subscriptions: StoredValue<Vec<LiveSubscription>>,
    outbox: futures::channel::mpsc::UnboundedSender<ClientMessage>,
}

impl LiveConnection {
    /// Opens a connection (through share link `share`, when given) that keeps `status`, and
    /// reconnects with backoff until it ends for good or the page goes.
    pub fn open(share: Option<String>, status: RwSignal<ConnectionStatus>) -> Self {
        let subscriptions = StoredValue::new(Vec::new());
        let (outbox, inbox) = futures::channel::mpsc::unbounded();
        leptos::task::spawn_local(keep_open(share, subscriptions, inbox, status));
        Self {
            subscriptions,
            outbox,
        }
    }

    /// Makes `wanted` the connection's subscriptions: new ones and ones whose query changed
    /// start afresh (their view is cleared), dropped ones end, the rest carry on untouched.
    pub fn set(&self, wanted: Vec<LiveSubscription>) {
        let known = self.subscriptions.get_value();
        for subscription in &wanted {
            let same = known.iter().any(|old| {
                old.id == subscription.id
                    && old.query == subscription.query
                    && old.view == subscription.view
            });
            if !same {
                subscription.view.set(View::default());
                let _ = self.outbox.unbounded_send(subscribe_message(subscription));
            }
        }
        for old in &known {
            if !wanted.iter().any(|subscription| subscription.id == old.id) {
                let _ = self
                    .outbox
                    .unbounded_send(ClientMessage::Unsubscribe { id: old.id });
            }
        }
        self.subscriptions.set_value(wanted);
    }
}

/// Keeps a live connection open for as long as the page lives, feeding every subscription's
/// view and `status`.
pub fn connect(subscriptions: Vec<LiveSubscription>, status: RwSignal<ConnectionStatus>) {
    let connection = LiveConnection::open(None, status);
    connection.set(subscriptions);
    // These pages subscribe once, for their whole life.
    std::mem::forget(connection);
}

async fn keep_open(
    share: Option<String>,
    subscriptions: StoredValue<Vec<LiveSubscription>>,
    mut inbox: futures::channel::mpsc::UnboundedReceiver<ClientMessage>,
    status: RwSignal<ConnectionStatus>,
) {
    let mut failed_attempts = 0u32;
    // The last reason the server gave; a later bare connection failure keeps it, since
    // "server shutting down" says more than "connection refused" while it restarts.
    let mut reason: Option<String> = None;
    loop {
        // Whatever was asked while disconnected is covered by subscribing afresh below.
        while inbox.try_recv().is_ok() {}
        match live_url(share.as_deref()).map(|url| WebSocket::open(&url)) {
            Ok(Ok(socket)) => {
                let ended = run(socket, subscriptions, &mut inbox, status).await;
                match ended {
                    Ended::PageGone => return,
                    Ended::Closed {
                        received,
                        closed_because,
                    } => {
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
                }
            }
            Ok(Err(error)) => reason = reason.or_else(|| Some(error.to_string())),
            Err(error) => reason = Some(error),
        }
        if subscriptions.try_get_value().is_none() {
            return;
        }
        failed_attempts = failed_attempts.saturating_add(1);
        let in_ms = reconnect_delay_ms(failed_attempts, js_sys::Math::random());
        status.set(ConnectionStatus::Reconnecting {
            in_ms,
            reason: reason.clone().unwrap_or_else(|| "connection lost".into()),
        });
        gloo_timers::future::TimeoutFuture::new(in_ms).await;
    }
}

/// The subscribe message for `subscription`, resuming from what its view holds.
fn subscribe_message(subscription: &LiveSubscription) -> ClientMessage {
    ClientMessage::Subscribe {
        id: subscription.id,
        query: subscription.query.clone(),
        after: subscription.view.with_untracked(|view| view.cursor.clone()),
    }
}

fn encode(message: &ClientMessage) -> Option<Message> {
    serde_json::to_string(message).ok().map(Message::Text)
}

/// How one connection ended.
enum Ended {
    /// The page that opened it is gone.
    PageGone,
    /// The connection closed: whether any message arrived, and the code and reason the server
    /// gave, if it gave one.
    Closed {
        received: bool,
        closed_because: Option<(u16, String)>,
    },
}

/// Runs one connection until it ends.
async fn run(
    mut socket: WebSocket,
    subscriptions: StoredValue<Vec<LiveSubscription>>,
    inbox: &mut futures::channel::mpsc::UnboundedReceiver<ClientMessage>,
    status: RwSignal<ConnectionStatus>,
) -> Ended {
    use futures::future::{Either, select};

    let closed = |received, closed_because| Ended::Closed {
        received,
        closed_because,
    };
    // Wait for the handshake; a socket that failed to open yields why instead.
    let _ = futures::future::poll_fn(|cx| socket.poll_ready_unpin(cx)).await;
    if !matches!(socket.state(), State::Open) {
        return match socket.next().await {
            Some(Err(WebSocketError::ConnectionClose(close))) if !close.reason.is_empty() => {
                closed(false, Some((close.code, close.reason)))
            }
            _ => closed(false, None),
        };
    }
    let (mut sink, mut stream) = socket.split();
    let Some(current) = subscriptions.try_get_value() else {
        return Ended::PageGone;
    };
    for subscription in &current {
        if let Some(message) = encode(&subscribe_message(subscription))
            && sink.send(message).await.is_err()
        {
            return closed(false, None);
        }
    }
    let mut received = false;
    loop {
        let text = match select(stream.next(), inbox.next()).await {
            Either::Right((Some(message), _)) => {
                if let Some(message) = encode(&message)
                    && sink.send(message).await.is_err()
                {
                    return closed(received, None);
                }
                continue;
            }
            Either::Right((None, _)) => {
                let _ = sink.close().await;
                return Ended::PageGone;
            }
            Either::Left((None, _)) => return closed(received, None),
            Either::Left((Some(frame), _)) => match frame {
                Ok(Message::Text(text)) => text,
                Ok(Message::Bytes(_)) => continue,
                Err(WebSocketError::ConnectionClose(close)) => {
                    return closed(
                        received,
                        (!close.reason.is_empty()).then_some((close.code, close.reason)),
                    );
                }
                Err(_) => return closed(received, None),
            },
        };
        let messages = match parse_frame(&text) {
            Ok(messages) => messages,
            Err(error) => {
                leptos::logging::warn!("livedash: unreadable live message: {error}");
                continue;
            }
        };
        received = true;
        let Some(current) = subscriptions.try_get_value() else {
            return Ended::PageGone;
        };
        for message in messages {
            if !apply(message, &current, status, &mut sink).await {
                return closed(received, None);
            }
        }
    }
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
                show(status, ConnectionStatus::Live);
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
                    && let Some(message) = encode(&subscribe_message(subscription))
                    && sink.send(message).await.is_err()
                {
                    return false;
                }
                show(status, ConnectionStatus::Live);
            }
            ServerMessage::Status { degraded, reason } => show(
                status,
                if degraded {
                    ConnectionStatus::Degraded {
                        reason: reason.unwrap_or_else(|| "updates are delayed".into()),
                    }
                } else {
                    ConnectionStatus::Live
                },
            ),
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

/// Makes `now` the connection's status, telling the page only when it changed: every widget
/// watches the status, and a delta arrives many times a second.
fn show(status: RwSignal<ConnectionStatus>, now: ConnectionStatus) {
    status.maybe_update(|shown| {
        let changed = *shown != now;
        if changed {
            *shown = now;
        }
        changed
    });
}

/// `ws://host/api/v1/live` (`wss://` when the page came over HTTPS), with the share token
/// when the page shows a shared dashboard.
fn live_url(share: Option<&str>) -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "no location.protocol")?;
    let host = location.host().map_err(|_| "no location.host")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    let scope = share.map_or_else(String::new, |token| format!("?share={token}"));
    Ok(format!("{scheme}://{host}{LIVE_PATH}{scope}"))
}
