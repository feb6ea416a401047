//! One client's live WebSocket: reads subscriptions, writes what the feeds queue for it.
//!
//! Feeds never wait on a socket: they put serialized messages in its bounded queue (the
//! [`Outbox`]) without blocking, and this task writes them out. A client that does not read
//! fills its own queue only; the feeds then skip it and later send it the coalesced state, or
//! close it through [`Outbox::kick`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::live::{
    CLOSE_ACCESS_ENDED, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_TRY_AGAIN_LATER,
    ClientMessage, LiveQuery, MAX_SUBSCRIPTIONS, ServerMessage, SubscriptionId,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::feed::{Command, FeedHandle, Member};
use super::hub::Hub;
use super::outbox::{Kick, Outbox, Outgoing};
use crate::storage::Store;
use crate::storage::shares::{SHARE_LINK_ENDED, ShareScope};

/// What a socket's loop works with: cheap handles, cloned per socket.
#[derive(Clone)]
pub struct Services {
    /// Where share links are checked again.
    pub store: Store,
    /// The feeds, the counters and the revocation channel.
    pub hub: Hub,
    /// Cancelled when the server begins shutting down.
    pub shutdown: CancellationToken,
}

/// How often the server pings an idle socket, so dead peers are noticed and proxies keep it.
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// How long a closing socket tries to send its close frame. A client that stopped reading
/// cannot take it while its buffers are full, so this is short: the socket is dropped after.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);
/// Why the stream was degraded, when the outage was over before the socket could say so.
const BRIEF_OUTAGE: &str = "storage was unavailable for a moment";
/// Largest client message; subscriptions are small.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// WebSocket close code for a message over the size limit (RFC 6455 "message too big").
const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// The reason sent with [`CLOSE_MESSAGE_TOO_BIG`]; names [`MAX_CLIENT_MESSAGE`].
const MESSAGE_TOO_BIG: &str = "message too big: at most 65536 bytes per message";
/// The reason a socket is closed with when a send to its client waited for
/// `LIVEDASH_LIVE_SLOW_CLIENT`.
const STOPPED_READING: &str =
    "client too slow: it did not read for LIVEDASH_LIVE_SLOW_CLIENT, closed";

static NEXT_SOCKET: AtomicU64 = AtomicU64::new(1);

/// How often a share link's socket checks that its link still stands, besides at its expiry
/// (revocations normally arrive at once, over the revocation channel; this covers a missed one).
const SHARE_RECHECK: Duration = Duration::from_secs(10);

/// Resolves when `share`'s link no longer stands (checked every [`SHARE_RECHECK`], and at
/// its expiry).
async fn recheck(state: &Services, share: &ShareScope) {
    loop {
        let until_expiry = share.expires_at.map(|at| {
            // A moment past it, so the check sees the link expired.
            Duration::from_millis((at - app::clock::now_ms()).max(0).unsigned_abs() + 5)
        });
        tokio::time::sleep(until_expiry.map_or(SHARE_RECHECK, |wait| wait.min(SHARE_RECHECK)))
            .await;
        match state
            .store
            .resolve_share_token(&share.token, app::clock::now_ms())
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return,
            // Storage trouble is not a revocation; check again later.
            Err(_) => {}
        }
    }
}

/// Serves one live socket until it closes; `share` is the share link that opened it, or why
/// it grants nothing now (the close code and reason); `revocation_names` are the names of the
/// credential that opened it, whose revocation closes it.
#[tracing::instrument(skip_all)]
pub async fn serve(
    mut socket: WebSocket,
    state: Services,
    share: Option<Result<ShareScope, (u16, &'static str)>>,
    revocation_names: Vec<String>,
) {
    let share = match share {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err((code, reason))) => {
            close(&mut socket, code, reason, Duration::from_secs(1)).await;
            return;
        }
    };
    let _counted = state.hub.socket_opened();
    let socket_id = NEXT_SOCKET.fetch_add(1, Ordering::Relaxed);
    let (queue, mut queued) = mpsc::channel(state.hub.config().client_buffer);
    let kick = Arc::new(Kick::default());
    let outbox = Outbox {
        queue,
        kick: kick.clone(),
    };
    // A socket is closed at once when what opened it is revoked, in any process.
    let _watched: Vec<_> = share
        .as_ref()
        .map(|share| share.link.clone())
        .into_iter()
        .chain(revocation_names)
        .map(|name| state.hub.watch_revocation(&name, outbox.clone()))
        .collect();
    let mut subscriptions: HashMap<SubscriptionId, FeedHandle> = HashMap::new();
    let mut status = state.hub.status();
    let mut status_open = true;
    let degraded = status.borrow_and_update().clone();
    let mut told_degraded = degraded.is_some();
    let sending = Sending {
        patience: Duration::from_millis(state.hub.config().slow_client_ms.unsigned_abs()),
        kick: kick.token.clone(),
        shutdown: state.shutdown.clone(),
    };
    if let Some(reason) = degraded
        && send_message(&mut socket, &status_message(Some(reason)), &sending)
            .await
            .is_err()
    {
        return;
    }
    let gather_for = Duration::from_millis(state.hub.config().gather_ms.unsigned_abs());
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    // Made once, outside the loop: a share link's recheck keeps its own clock however often
    // data arrives, and thousands of sockets do not re-register with the shared shutdown
    // token on every message.
    let shutdown = state.shutdown.cancelled();
    let kicked = kick.token.cancelled();
    // Boxed: only share-link sockets pay for the check's storage call in their task's size.
    let mut link_ended: std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> =
        match share.as_ref() {
            Some(share) => Box::pin(recheck(&state, share)),
            None => Box::pin(std::future::pending()),
        };
    tokio::pin!(shutdown, kicked);
    let closing = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Some((CLOSE_GOING_AWAY, "server shutting down")),
            () = &mut kicked => {
                let closing = *kick.reason.lock().unwrap_or_else(|e| e.into_inner());
                break Some(closing.unwrap_or((CLOSE_TRY_AGAIN_LATER, "closed by the server")));
            }
            () = &mut link_ended => {
                break Some((CLOSE_ACCESS_ENDED, SHARE_LINK_ENDED));
            }
            incoming = socket.recv() => match incoming {
                None | Some(Ok(Message::Close(_))) => break None,
                Some(Err(error)) => break read_failed(error),
                Some(Ok(Message::Text(text))) => {
                    let reply = match serde_json::from_str::<ClientMessage>(&text) {
                        Ok(message) => {
                            handle(message, &state, socket_id, &outbox, share.as_ref(), &mut subscriptions).await
                        }
                        Err(error) => Some(ServerMessage::Error {
                            id: None,
                            message: format!("unreadable message: {error}"),
                        }),
                    };
                    if let Some(reply) = reply
                        && let Err(failed) = send_message(&mut socket, &reply, &sending).await
                    {
                        match give_up(failed, &state, &kick) {
                            Some(closing) => break closing,
                            None => continue,
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    break Some((CLOSE_PROTOCOL_ERROR, "messages are JSON text"));
                }
                Some(Ok(_)) => {}
            },
            Some(message) = queued.recv() => {
                // The feeds of a dashboard's widgets answer one change within milliseconds of
                // each other: a socket with several waits that long for the others, so the
                // browser gets them in one message and draws them in one frame.
                let gather = (subscriptions.len() > 1 && gather_for > Duration::ZERO)
                    .then(|| tokio::time::Instant::now() + gather_for);
                let text = match next_of_batch(&mut queued, gather).await {
                    Some(next) => Utf8Bytes::from(batch(&message, next, &mut queued, gather).await),
                    None => message.text,
                };
                if let Err(failed) = send(&mut socket, Message::Text(text), &sending).await {
                    match give_up(failed, &state, &kick) {
                        Some(closing) => break closing,
                        None => continue,
                    }
                }
            }
            changed = status.changed(), if status_open => {
                if changed.is_err() {
                    status_open = false;
                    continue;
                }
                let reason = status.borrow_and_update().clone();
                // An outage that began and ended before this task looked is still told: the
                // client's data had a gap, now filled.
                let brief = (reason.is_none() && !told_degraded)
                    .then(|| status_message(Some(BRIEF_OUTAGE.to_owned())));
                told_degraded = reason.is_some();
                let mut told = Ok(());
                for message in brief.iter().chain([&status_message(reason)]) {
                    told = send_message(&mut socket, message, &sending).await;
                    if told.is_err() {
                        break;
                    }
                }
                if let Err(failed) = told {
                    match give_up(failed, &state, &kick) {
                        Some(closing) => break closing,
                        None => continue,
                    }
                }
            }
            _ = ping.tick() => {
                let pinged = send(&mut socket, Message::Ping(Default::default()), &sending).await;
                if let Err(failed) = pinged {
                    match give_up(failed, &state, &kick) {
                        Some(closing) => break closing,
                        None => continue,
                    }
                }
            }
        }
    };
    for (subscription, feed) in subscriptions {
        feed.send(Command::Leave {
            socket: socket_id,
            subscription,
        });
    }
    if let Some((code, reason)) = closing {
        // Shutdown may not wait long; a client that reads gets the frame at once.
        let patience = if code == CLOSE_GOING_AWAY {
            Duration::from_secs(1)
        } else {
            CLOSE_PATIENCE
        };
        close(&mut socket, code, reason, patience).await;
    }
}

/// Most messages batched into one frame.
const MAX_BATCH: usize = 64;

/// The next message for the frame being made: one already queued, or, until `gather` (when
/// given), one that arrives by then.
async fn next_of_batch(
    queued: &mut mpsc::Receiver<Outgoing>,
    gather: Option<tokio::time::Instant>,
) -> Option<Outgoing> {
    match (queued.try_recv(), gather) {
        (Ok(next), _) => Some(next),
        (Err(_), Some(until)) => tokio::time::timeout_at(until, queued.recv())
            .await
            .ok()
            .flatten(),
        (Err(_), None) => None,
    }
}

/// `[first, next, …]`: `first`, `next` and up to [`MAX_BATCH`] more messages, queued or
/// arriving before `gather`.
async fn batch(
    first: &Outgoing,
    next: Outgoing,
    queued: &mut mpsc::Receiver<Outgoing>,
    gather: Option<tokio::time::Instant>,
) -> String {
    let mut text = String::with_capacity(first.as_str().len() * 4);
    text.push('[');
    text.push_str(first.as_str());
    text.push(',');
    text.push_str(next.as_str());
    for _ in 2..MAX_BATCH {
        let Some(more) = next_of_batch(queued, gather).await else {
            break;
        };
        text.push(',');
        text.push_str(more.as_str());
    }
    text.push(']');
    text
}

/// Acts on one client message; returns the direct reply, if any.
async fn handle(
    message: ClientMessage,
    state: &Services,
    socket_id: u64,
    outbox: &Outbox,
    share: Option<&ShareScope>,
    subscriptions: &mut HashMap<SubscriptionId, FeedHandle>,
) -> Option<ServerMessage> {
    match message {
        ClientMessage::Subscribe { id, query, after } => {
            if let Err(problem) = query.validate() {
                return Some(ServerMessage::Error {
                    id: Some(id),
                    message: format!("query: {problem}"),
                });
            }
            if let Some(share) = share {
                let selector = match &query {
                    LiveQuery::Latest { selector } => selector.as_ref(),
                    LiveQuery::Range { selector, .. } => Some(selector),
                };
                if !selector.is_some_and(|selector| {
                    share.shows_selector(selector) || share.shows_alert_states(selector)
                }) {
                    return Some(ServerMessage::Error {
                        id: Some(id),
                        message: "a share link shows only its dashboard's widgets".into(),
                    });
                }
            }
            if let Some(previous) = subscriptions.remove(&id) {
                previous.send(Command::Leave {
                    socket: socket_id,
                    subscription: id,
                });
            }
            if subscriptions.len() >= MAX_SUBSCRIPTIONS {
                return Some(ServerMessage::Error {
                    id: Some(id),
                    message: format!(
                        "a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"
                    ),
                });
            }
            let member = Member::new(socket_id, id, outbox.clone());
            match state.hub.join(&query, member, after).await {
                Ok(feed) => {
                    subscriptions.insert(id, feed);
                    None
                }
                Err(message) => Some(ServerMessage::Error {
                    id: Some(id),
                    message,
                }),
            }
        }
        ClientMessage::Unsubscribe { id } => {
            if let Some(feed) = subscriptions.remove(&id) {
                feed.send(Command::Leave {
                    socket: socket_id,
                    subscription: id,
                });
            }
            None
        }
        ClientMessage::Ping { nonce } => Some(ServerMessage::Pong { nonce }),
    }
}

fn status_message(reason: Option<String>) -> ServerMessage {
    ServerMessage::Status {
        degraded: reason.is_some(),
        reason,
    }
}

/// How long a send may wait for the client, and what interrupts it.
struct Sending {
    /// `LIVEDASH_LIVE_SLOW_CLIENT`: a client that does not take a message for this long is
    /// behind, as one whose queue stays full is.
    patience: Duration,
    kick: CancellationToken,
    shutdown: CancellationToken,
}

/// Why a send did not go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendFailed {
    /// The connection is gone.
    Lost,
    /// The client took nothing for [`Sending::patience`].
    TooSlow,
    /// The socket was closed by the server meanwhile (a kick or shutdown).
    Interrupted,
}

async fn send_message(
    socket: &mut WebSocket,
    message: &ServerMessage,
    sending: &Sending,
) -> Result<(), SendFailed> {
    let text = serde_json::to_string(message).map_err(|_| SendFailed::Lost)?;
    send(socket, Message::Text(text.into()), sending).await
}

async fn send(
    socket: &mut WebSocket,
    message: Message,
    sending: &Sending,
) -> Result<(), SendFailed> {
    tokio::select! {
        // A send that goes through at once never registers with the tokens.
        biased;
        sent = tokio::time::timeout(sending.patience, socket.send(message)) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendFailed::Lost),
            Err(_) => Err(SendFailed::TooSlow),
        },
        () = sending.kick.cancelled() => Err(SendFailed::Interrupted),
        () = sending.shutdown.cancelled() => Err(SendFailed::Interrupted),
    }
}

/// How the socket closes after a send that did not go through; `None` to go round the loop,
/// whose next turn closes with the kick's or the shutdown's reason.
fn give_up(
    failed: SendFailed,
    state: &Services,
    kick: &Kick,
) -> Option<Option<(u16, &'static str)>> {
    match failed {
        SendFailed::Lost => Some(None),
        SendFailed::Interrupted => None,
        // A feed closed it (and counted it) while the send waited.
        SendFailed::TooSlow if kick.token.is_cancelled() => None,
        SendFailed::TooSlow => {
            state.hub.slow_client_closed();
            Some(Some((CLOSE_TRY_AGAIN_LATER, STOPPED_READING)))
        }
    }
}

/// How a failed read ends the socket: a message over the size limit is told so; any other
/// failure means the connection is gone.
fn read_failed(error: axum::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    match error.into_inner().downcast_ref::<Error>() {
        Some(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
            Some((CLOSE_MESSAGE_TOO_BIG, MESSAGE_TOO_BIG))
        }
        _ => None,
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str, patience: Duration) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(patience, socket.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Close reasons fit a close frame (123 bytes), and the size refusal names the limit.
    #[test]
    fn close_reasons_fit_and_name_their_limits() {
        assert!(MESSAGE_TOO_BIG.contains(&MAX_CLIENT_MESSAGE.to_string()));
        for reason in [MESSAGE_TOO_BIG, STOPPED_READING, BRIEF_OUTAGE] {
            assert!(reason.len() <= 123, "{reason}");
        }
    }

    /// A number in a subscription is read exactly, so the query the server runs is the one the
    /// browser wrote (found by the `live_client` fuzz target: 16 digits came out one unit in the
    /// last place off).
    #[test]
    fn subscriptions_read_numbers_exactly() {
        let text = r#"{"type":"subscribe","id":1,"query":{"kind":"range","selector":{"name":"latency","matchers":[]},"aggregation":{"fn":"quantile","q":0.9111111111111111},"step_ms":10000,"window_ms":360000,"group_by":null},"after":null}"#;
        let message: ClientMessage = serde_json::from_str(text).unwrap();
        let ClientMessage::Subscribe {
            query: LiveQuery::Range { aggregation, .. },
            ..
        } = &message
        else {
            panic!("not a range subscription: {message:?}");
        };
        assert_eq!(
            *aggregation,
            app::query::Aggregation::Quantile {
                q: 0.911_111_111_111_111_1
            }
        );
        let again: ClientMessage =
            serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(again, message);
    }
}
