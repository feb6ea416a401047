//! A socket's bounded queue as feeds see it ([`Outbox`]): feeds put rendered messages in it
//! without waiting, and kick the socket when it falls behind or its access ends.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use app::live::{CLOSE_ACCESS_ENDED, CLOSE_TRY_AGAIN_LATER, SubscriptionId};
use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Which message a queued body becomes.
#[derive(Clone, Copy, Debug)]
pub enum OutgoingKind {
    Snapshot,
    Delta,
    /// The subscription was ended by the server; the body is `{"message":…}`.
    Error,
}

/// A message queued for a socket: a subscription's snapshot or delta, rendered once. Members
/// of a feed that use the same subscription id share one rendering (a clone is a reference
/// count), so a delta to many viewers is neither copied nor allocated per viewer.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub(super) text: Utf8Bytes,
}

impl Outgoing {
    /// `body` is a JSON object (`{"at":…}` or `{"from":…}`), everything of the message but its
    /// type and subscription id.
    pub fn message(kind: OutgoingKind, subscription: SubscriptionId, body: &str) -> Self {
        let kind = match kind {
            OutgoingKind::Snapshot => "snapshot",
            OutgoingKind::Delta => "delta",
            OutgoingKind::Error => "error",
        };
        let mut text = String::with_capacity(body.len() + 40);
        let _ = write!(text, r#"{{"type":"{kind}","id":{subscription},"#);
        text.push_str(body.get(1..).unwrap_or("}"));
        Self {
            text: Utf8Bytes::from(text),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        self.text.as_str()
    }
}

/// A socket's queue, as feeds see it.
#[derive(Clone)]
pub struct Outbox {
    pub(super) queue: mpsc::Sender<Outgoing>,
    pub(super) kick: Arc<Kick>,
}

#[derive(Default)]
pub(super) struct Kick {
    pub(super) token: CancellationToken,
    /// The close code and reason.
    pub(super) reason: Mutex<Option<(u16, &'static str)>>,
}

impl Outbox {
    /// Queues without waiting.
    ///
    /// # Errors
    /// The queue is full, or the socket is gone.
    pub fn try_send(&self, message: Outgoing) -> Result<(), mpsc::error::TrySendError<Outgoing>> {
        self.queue.try_send(message)
    }

    /// Free places in the queue.
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Closes the socket with `reason` (code 1013: the client may come back).
    pub fn kick(&self, reason: &'static str) {
        self.close(CLOSE_TRY_AGAIN_LATER, reason);
    }

    /// Closes the socket because the access it was opened with ended (code 4003: coming back
    /// will not help).
    pub fn end_access(&self, reason: &'static str) {
        self.close(CLOSE_ACCESS_ENDED, reason);
    }

    fn close(&self, code: u16, reason: &'static str) {
        *self.kick.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some((code, reason));
        self.kick.token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use app::live::ServerMessage;

    use super::*;

    /// A queued body becomes a whole message with the socket's own subscription id.
    #[test]
    fn queued_bodies_become_messages() {
        let body = r#"{"at":"5-0","data":{"kind":"latest","values":[]}}"#;
        let outgoing = Outgoing::message(OutgoingKind::Snapshot, 7, body);
        let text = outgoing.as_str();
        let message: ServerMessage = serde_json::from_str(text).unwrap();
        assert!(
            matches!(message, ServerMessage::Snapshot { id: 7, .. }),
            "{text}"
        );
    }
}
