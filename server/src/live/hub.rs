//! The live hub: the process's single Redis subscription, fanned out in-process.
//!
//! Exactly one task per process subscribes to the live channel, whatever the number of
//! browsers. It re-subscribes with backoff when the connection drops, and then tells every
//! socket to resynchronise, because updates published meanwhile were lost to it.

use std::sync::Arc;
use std::time::Duration;

use app::live::ServerMessage;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How many events the hub buffers for a socket that is momentarily behind. A socket further
/// behind than this gets a fresh snapshot instead of the missed events.
pub const HUB_CAPACITY: usize = 1024;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the hub hands every socket.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// A serialized [`ServerMessage::Update`], forwarded to browsers as it is.
    Update(Arc<str>),
    /// Updates may have been missed (the subscription was re-established): send a snapshot.
    Resync,
}

/// The sending side of the fan-out; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    events: broadcast::Sender<HubEvent>,
}

impl Hub {
    /// Starts the subscriber task on `channel`; it runs until `shutdown` is cancelled.
    #[must_use]
    pub fn start(
        client: redis::Client,
        channel: String,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (events, _) = broadcast::channel(HUB_CAPACITY);
        let hub = Self { events };
        let task = tokio::spawn(subscribe_loop(client, channel, hub.clone(), shutdown));
        (hub, task)
    }

    /// A receiver for every event from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    /// How many sockets are listening.
    #[must_use]
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    fn send(&self, event: HubEvent) {
        // No receivers is normal (nobody is watching); nothing to do then.
        let _ = self.events.send(event);
    }
}

async fn subscribe_loop(
    client: redis::Client,
    channel: String,
    hub: Hub,
    shutdown: CancellationToken,
) {
    let mut backoff = MIN_BACKOFF;
    let mut connected_before = false;
    loop {
        let subscribed = tokio::select! {
            () = shutdown.cancelled() => return,
            subscribed = subscribe(&client, &channel) => subscribed,
        };
        match subscribed {
            Ok(pubsub) => {
                if connected_before {
                    tracing::info!(%channel, "live subscription re-established");
                    hub.send(HubEvent::Resync);
                } else {
                    tracing::debug!(%channel, "live subscription established");
                }
                connected_before = true;
                backoff = MIN_BACKOFF;
                let mut messages = pubsub.into_on_message();
                loop {
                    let message = tokio::select! {
                        () = shutdown.cancelled() => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    forward(&hub, message.get_payload_bytes());
                }
                tracing::warn!(%channel, "live subscription lost; re-subscribing");
            }
            Err(error) => {
                tracing::warn!(%channel, %error, retry_in = ?backoff, "live subscription failed");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Checks a published payload once per process, so every socket can forward it unparsed.
fn forward(hub: &Hub, payload: &[u8]) {
    match serde_json::from_slice::<ServerMessage>(payload) {
        Ok(ServerMessage::Update { .. }) => match std::str::from_utf8(payload) {
            Ok(text) => hub.send(HubEvent::Update(Arc::from(text))),
            Err(error) => tracing::warn!(%error, "live message is not UTF-8; dropped"),
        },
        Ok(other) => tracing::warn!(?other, "unexpected live message kind; dropped"),
        Err(error) => tracing::warn!(%error, "unreadable live message; dropped"),
    }
}
