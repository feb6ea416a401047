//! The live protocol: what the server's hub sends to a browser over `/api/v1/live`.
//!
//! Messages are JSON text frames, one [`ServerMessage`] each. On connect (and whenever the
//! server cannot vouch that the client saw every update, e.g. after it lagged or after the
//! server's Redis subscription was re-established) the server sends a full
//! [`ServerMessage::Snapshot`]; otherwise it sends [`ServerMessage::Update`]s with only the series
//! that changed.

use serde::{Deserialize, Serialize};

use crate::model::CurrentValue;

/// Path of the WebSocket endpoint.
pub const LIVE_PATH: &str = "/api/v1/live";

/// WebSocket close code sent when the server shuts down ("going away", RFC 6455).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code sent when a client cannot keep up or the server hit an error.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// One message from the server to a live client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The current value of every series; replaces whatever the client held.
    Snapshot {
        /// All series, newest value each.
        values: Vec<CurrentValue>,
        /// True when the server listed only the first [`crate::api::MAX_LISTED_SERIES`].
        truncated: bool,
    },
    /// Series whose current value changed since the previous message.
    Update {
        /// The new values.
        values: Vec<CurrentValue>,
    },
}

/// Delay before reconnect attempt number `attempt` (1-based), in milliseconds.
///
/// Exponential from 250 ms, capped at 10 s, with "equal jitter": half the delay is fixed and
/// half is random, so that a restart does not make every browser reconnect in the same instant
/// while a lone client still comes back quickly. `unit_random` is in `[0, 1)`.
#[must_use]
pub fn reconnect_delay_ms(attempt: u32, unit_random: f64) -> u32 {
    const BASE_MS: u32 = 250;
    const CAP_MS: u32 = 10_000;
    let exponential = BASE_MS.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let ceiling = exponential.min(CAP_MS);
    let half = ceiling / 2;
    half + (f64::from(half) * unit_random.clamp(0.0, 1.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesKey;

    /// Delays grow, stay within the cap, and jitter spans half the window.
    #[test]
    fn reconnect_delays_back_off_with_jitter() {
        assert_eq!(reconnect_delay_ms(1, 0.0), 125);
        assert_eq!(reconnect_delay_ms(1, 1.0), 250);
        assert_eq!(reconnect_delay_ms(3, 0.0), 500);
        assert_eq!(reconnect_delay_ms(40, 0.0), 5_000);
        assert_eq!(reconnect_delay_ms(40, 0.999_999), 9_999);
        assert_eq!(reconnect_delay_ms(u32::MAX, 1.0), 10_000);
    }

    /// The wire form is tagged, so other clients can read it without Rust types.
    #[test]
    fn messages_are_tagged_json() {
        let message = ServerMessage::Update {
            values: vec![CurrentValue {
                series: SeriesKey::new("cpu").with_label("host", "a"),
                value: 42.5,
                ts: 1_763_700_000_000,
            }],
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"type":"update","values":[{"series":{"name":"cpu","labels":{"host":"a"}},"value":42.5,"ts":1763700000000}]}"#
        );
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&json).unwrap(),
            message
        );
    }
}
