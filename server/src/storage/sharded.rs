//! A subscription to one sharded pub/sub channel (`SSUBSCRIBE`), on the node that serves the
//! channel's slot.
//!
//! redis-rs's cluster client re-subscribes every sharded channel of a node in one
//! `SSUBSCRIBE` after a reconnect, which Redis refuses when they are of several slots, and its
//! plain connections have no sharded subscription: each channel gets a connection of its own
//! here, read on a thread of its own (the blocking connection's reader is the one that hands
//! over raw replies). The subscription ends, and the caller subscribes anew, when the node
//! goes away or tells it the slot moved (`sunsubscribe`, after a failover or a resharding).

use redis::Value;
use tokio::sync::{mpsc, oneshot};

use super::keys::slot_of;
use super::target::RedisTarget;

/// Subscribes to `channel` on the node serving it; returns its messages' payloads, which end
/// when the subscription does.
///
/// # Errors
/// No node serving the channel could be found or reached, or it refused the subscription.
pub async fn subscribe(
    target: &RedisTarget,
    channel: &str,
) -> Result<mpsc::UnboundedReceiver<Vec<u8>>, String> {
    let (ready, subscribed) = oneshot::channel();
    let (sender, messages) = mpsc::unbounded_channel();
    let target = target.clone();
    let channel = channel.to_owned();
    std::thread::Builder::new()
        .name("livedash-ssubscribe".into())
        .spawn(move || match open(&target, &channel) {
            Ok(connection) => {
                let _ = ready.send(Ok(()));
                relay(connection, &sender);
            }
            Err(error) => {
                let _ = ready.send(Err(error));
            }
        })
        .map_err(|error| format!("starting a subscriber thread: {error}"))?;
    match subscribed.await {
        Ok(Ok(())) => Ok(messages),
        Ok(Err(error)) => Err(error),
        Err(_) => Err("the subscriber thread ended".to_owned()),
    }
}

/// A connection to the node serving `channel`, subscribed to it.
fn open(target: &RedisTarget, channel: &str) -> Result<redis::Connection, String> {
    let node = target
        .node_serving(slot_of(channel))
        .map_err(|error| error.to_string())?;
    let mut connection = node
        .get_connection_with_timeout(super::target::CONNECTION_TIMEOUT)
        .map_err(|error| error.to_string())?;
    let subscribe = redis::cmd("SSUBSCRIBE").arg(channel).get_packed_command();
    let confirmed = connection
        .set_read_timeout(Some(super::target::RESPONSE_TIMEOUT))
        .and_then(|()| connection.send_packed_command(&subscribe))
        .and_then(|()| connection.recv_response())
        .map_err(|error| error.to_string())?;
    match kind_and_payload(&confirmed) {
        Some(("ssubscribe", _)) => {}
        _ => return Err(format!("SSUBSCRIBE {channel} answered {confirmed:?}")),
    }
    // Messages may be minutes apart: no timeout from here on (a timed-out read would make the
    // connection skip the next message as the late reply).
    connection
        .set_read_timeout(None)
        .map_err(|error| error.to_string())?;
    Ok(connection)
}

/// Hands every message's payload to `sender` until the subscription ends or nobody listens.
fn relay(mut connection: redis::Connection, sender: &mpsc::UnboundedSender<Vec<u8>>) {
    loop {
        let Ok(reply) = connection.recv_response() else {
            return;
        };
        let go_on = match kind_and_payload(&reply) {
            Some(("smessage", Some(payload))) => sender.send(payload.to_vec()).is_ok(),
            // The slot moved to another node.
            Some(("sunsubscribe", _)) => false,
            _ => true,
        };
        if !go_on {
            return;
        }
    }
}

/// A pub/sub reply's kind and, for a message, its payload.
fn kind_and_payload(reply: &Value) -> Option<(&str, Option<&[u8]>)> {
    let Value::Array(items) = reply else {
        return None;
    };
    let Some(Value::BulkString(kind)) = items.first() else {
        return None;
    };
    let payload = match items.get(2) {
        Some(Value::BulkString(payload)) => Some(payload.as_slice()),
        _ => None,
    };
    Some((std::str::from_utf8(kind).ok()?, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages, confirmations and the slot-moved notice are told apart.
    #[test]
    fn replies_are_read_by_kind() {
        let bulk = |text: &str| Value::BulkString(text.as_bytes().to_vec());
        let message = Value::Array(vec![bulk("smessage"), bulk("ch"), bulk("1-0 {}")]);
        assert_eq!(
            kind_and_payload(&message),
            Some(("smessage", Some(b"1-0 {}".as_slice())))
        );
        let moved = Value::Array(vec![bulk("sunsubscribe"), bulk("ch"), Value::Int(0)]);
        assert_eq!(kind_and_payload(&moved), Some(("sunsubscribe", None)));
        assert_eq!(kind_and_payload(&Value::Okay), None);
    }
}
