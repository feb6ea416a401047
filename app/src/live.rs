//! The live protocol over `/api/v1/live`: what a client subscribes to, what the server sends,
//! and the client-side bookkeeping that applies it (shared by the browser and Rust clients).
//!
//! A client subscribes to queries (what its widgets show). For each it gets a
//! [`ServerMessage::Snapshot`], then only [`ServerMessage::Delta`]s: new points and the update
//! of the still-open bucket, or the newest values of a "latest" display. Every message carries
//! a [`Cursor`], a position in the server's change log: a client that reconnects sends the
//! cursor it last saw and gets exactly what it missed, then the live stream. A text frame
//! holds one message, or an array of the messages that were ready together ([`parse_frame`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{CurrentValue, SeriesKey};
use crate::query::{Aggregation, ResultSeries, Selector};

/// Path of the WebSocket endpoint.
pub const LIVE_PATH: &str = "/api/v1/live";

/// WebSocket close code sent when the server shuts down ("going away", RFC 6455).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for a client message the server cannot accept.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1008;
/// WebSocket close code sent when a client cannot keep up or the server hit an error.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// WebSocket close code sent when the access a socket was opened with ended (its share link
/// was revoked or expired): reconnecting will not help.
pub const CLOSE_ACCESS_ENDED: u16 = 4003;

/// Whether a connection closed with `code` should not be retried: the access it was opened
/// with is gone, and only a new link or a reload after signing in can help.
#[must_use]
pub fn closed_for_good(code: u16) -> bool {
    code == CLOSE_ACCESS_ENDED
}

/// Most subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 256;
/// Longest window a range subscription may keep.
pub const MAX_WINDOW_MS: i64 = 35 * 86_400_000;
/// Most buckets a range subscription may keep per line.
pub const MAX_WINDOW_BUCKETS: i64 = 4_000;

/// An entry's id in one partition of the server's change log (a Redis stream id, `ms-seq`).
/// Ids grow with every entry; `Position::default()` is before the first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence within the millisecond.
    pub seq: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for Position {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // One error for every way it can be wrong: the browser's bundle carries one message.
        text.split_once('-')
            .and_then(|(ms, seq)| {
                Some(Self {
                    ms: digits(ms)?,
                    seq: digits(seq)?,
                })
            })
            .ok_or_else(|| format!("cursor part {text:?} is not <ms>-<seq> in numbers"))
    }
}

/// The number `text` writes in decimal digits alone (no sign), if it fits in 64 bits. Written
/// out rather than `str::parse`, whose general machinery the browser's bundle would carry.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0_u64, |number, byte| {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        number.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Where a client is in the server's change log: the last entry seen in each of its
/// partitions (one partition unless the server spreads its log over a Redis Cluster's
/// masters). Written as the positions joined by `.` (`ms-seq` alone for one partition);
/// `Cursor::default()` is before everything. Cursors are ordered only partly: one
/// [covers](Cursor::covers) another when it is as far in every partition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cursor(Vec<Position>);

impl Cursor {
    /// A cursor at `positions`, partition by partition.
    #[must_use]
    pub fn new(positions: Vec<Position>) -> Self {
        Self(positions)
    }

    /// How far it is in partition `partition`.
    #[must_use]
    pub fn get(&self, partition: usize) -> Position {
        self.0.get(partition).copied().unwrap_or_default()
    }

    /// The positions, partition by partition.
    #[must_use]
    pub fn positions(&self) -> &[Position] {
        &self.0
    }

    /// Whether everything up to `other` is up to `self` too.
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        other
            .0
            .iter()
            .enumerate()
            .all(|(partition, position)| self.get(partition) >= *position)
    }

    /// As far as the further of the two, partition by partition.
    #[must_use]
    pub fn join(&self, other: &Self) -> Self {
        let len = self.0.len().max(other.0.len());
        Self(
            (0..len)
                .map(|partition| self.get(partition).max(other.get(partition)))
                .collect(),
        )
    }

    /// As `self`, but at least at `position` in `partition`.
    #[must_use]
    pub fn with(mut self, partition: usize, position: Position) -> Self {
        if self.0.len() <= partition {
            self.0.resize(partition + 1, Position::default());
        }
        if self.0[partition] < position {
            self.0[partition] = position;
        }
        self
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Position::default().fmt(f);
        }
        for (partition, position) in self.0.iter().enumerate() {
            if partition > 0 {
                f.write_str(".")?;
            }
            position.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut positions = Vec::new();
        for part in text.split('.') {
            positions.push(part.parse()?);
        }
        Ok(Self(positions))
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Cursor;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cursor")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Cursor, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// What a subscription shows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveQuery {
    /// The newest value of each matching series (a table or a single number). Without a
    /// selector, every series.
    Latest {
        #[serde(default)]
        selector: Option<Selector>,
    },
    /// A chart: the last `window_ms` in buckets of `step_ms`, aggregated as in a query.
    Range {
        selector: Selector,
        aggregation: Aggregation,
        step_ms: i64,
        window_ms: i64,
        #[serde(default)]
        group_by: Option<Vec<String>>,
    },
}

impl LiveQuery {
    /// Checks the bounds a server enforces, naming the field at fault.
    ///
    /// # Errors
    /// A selector that names no metric (neither a name nor a `__name__` matcher), a
    /// non-positive step or window, a window over [`MAX_WINDOW_MS`], or more than
    /// [`MAX_WINDOW_BUCKETS`] buckets.
    pub fn validate(&self) -> Result<(), String> {
        let selector = match self {
            Self::Latest { selector } => selector.as_ref(),
            Self::Range { selector, .. } => Some(selector),
        };
        if let Some(selector) = selector {
            selector.check().map_err(|error| error.to_string())?;
        }
        let Self::Range {
            step_ms, window_ms, ..
        } = self
        else {
            return Ok(());
        };
        if *step_ms <= 0 {
            return Err(format!("step_ms: {step_ms} must be positive"));
        }
        if *window_ms <= 0 || *window_ms > MAX_WINDOW_MS {
            return Err(format!(
                "window_ms: {window_ms} must be in 1..={MAX_WINDOW_MS}"
            ));
        }
        if window_ms / step_ms > MAX_WINDOW_BUCKETS {
            return Err(format!(
                "window_ms / step_ms: {} buckets is more than {MAX_WINDOW_BUCKETS}",
                window_ms / step_ms
            ));
        }
        Ok(())
    }
}

/// A client's name for one of its subscriptions.
pub type SubscriptionId = u32;

/// One message from a client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Starts (or replaces) subscription `id`. With `after`, the client already holds the data
    /// up to that cursor and wants only what follows; without it, a snapshot.
    Subscribe {
        id: SubscriptionId,
        query: LiveQuery,
        #[serde(default)]
        after: Option<Cursor>,
    },
    /// Ends subscription `id`.
    Unsubscribe { id: SubscriptionId },
    /// Keepalive; the server answers with [`ServerMessage::Pong`].
    Ping { nonce: u64 },
}

/// What a subscription's message carries.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveData {
    /// Newest values; in a delta only the series that changed.
    Latest {
        values: Vec<CurrentValue>,
        #[serde(default)]
        truncated: bool,
    },
    /// Buckets `(start, value)` per line; in a delta only the buckets that changed. A bucket
    /// replaces the one with the same start.
    Range {
        step_ms: i64,
        series: Vec<ResultSeries>,
    },
}

/// One message from the server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Everything subscription `id` shows as of `at`; replaces what the client held for it.
    Snapshot {
        id: SubscriptionId,
        at: Cursor,
        data: LiveData,
    },
    /// The changes of subscription `id` after `from`, up to `to`.
    Delta {
        id: SubscriptionId,
        from: Cursor,
        to: Cursor,
        data: LiveData,
    },
    /// The health of the live stream: while `degraded`, updates are delayed (the server lost
    /// its Redis subscription); when it recovers, the missed data follows as deltas.
    Status {
        degraded: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Subscription `id` was refused (or ended by the server), or, without an id, a client
    /// message could not be read; `message` says why.
    Error {
        #[serde(default)]
        id: Option<SubscriptionId>,
        message: String,
    },
    /// Answer to [`ClientMessage::Ping`].
    Pong { nonce: u64 },
}

/// Reads one text frame from the server: a single message, or a JSON array of messages that
/// were ready at the same moment (the server batches them to save frames).
///
/// # Errors
/// The text is neither.
pub fn parse_frame(text: &str) -> Result<Vec<ServerMessage>, serde_json::Error> {
    // From bytes, as server functions read: one JSON reader per type in the browser bundle.
    let bytes = text.as_bytes();
    if text.trim_start().starts_with('[') {
        serde_json::from_slice(bytes)
    } else {
        serde_json::from_slice(bytes).map(|message| vec![message])
    }
}

/// What a client holds for one subscription, kept up to date by [`View::snapshot`] and
/// [`View::delta`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// The cursor to resume from; `None` until the snapshot arrived.
    pub cursor: Option<Cursor>,
    /// For latest displays: newest value per series.
    pub latest: BTreeMap<SeriesKey, CurrentValue>,
    /// For range displays: bucket start → value, per line.
    pub lines: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>>,
    /// Bucket width of the range display.
    pub step_ms: i64,
    /// Whether the server listed only part of a latest display.
    pub truncated: bool,
    /// Why the server refused the subscription, if it did.
    pub refused: Option<String>,
}

/// What applying a message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// The view changed (or was confirmed).
    Ok,
    /// A delta that does not continue from the view's cursor: the client must resubscribe
    /// (with its cursor) to get what lies in between.
    Gap,
}

impl View {
    /// Applies a snapshot: the view becomes exactly `data`, as of `at`.
    pub fn snapshot(&mut self, at: Cursor, data: LiveData) {
        self.refused = None;
        self.latest.clear();
        self.lines.clear();
        self.merge(data);
        self.cursor = Some(at);
    }

    /// Applies a delta from `from` to `to`.
    pub fn delta(&mut self, from: Cursor, to: Cursor, data: LiveData) -> Applied {
        // A delta may start earlier than what the view holds (values then repeat), never
        // later: that would leave a hole.
        match &self.cursor {
            Some(cursor) if cursor.covers(&from) => {
                self.cursor = Some(cursor.join(&to));
                self.merge(data);
                Applied::Ok
            }
            _ => Applied::Gap,
        }
    }

    fn merge(&mut self, data: LiveData) {
        match data {
            LiveData::Latest { values, truncated } => {
                self.truncated = truncated;
                for mut value in values {
                    match self.latest.get(&value.series) {
                        Some(known) if !value.supersedes(known) => {}
                        known => {
                            // Updates do not carry the kind; the snapshot did.
                            value.kind = value.kind.or(known.and_then(|known| known.kind));
                            self.latest.insert(value.series.clone(), value);
                        }
                    }
                }
            }
            LiveData::Range { step_ms, series } => {
                self.step_ms = step_ms;
                for line in series.into_iter().filter(|line| !line.points.is_empty()) {
                    self.lines
                        .entry(line.labels)
                        .or_default()
                        .extend(line.points);
                }
            }
        }
    }

    /// Drops buckets that started before `oldest`, so a chart keeps only its window.
    pub fn trim(&mut self, oldest: i64) {
        drop_buckets_before(&mut self.lines, oldest);
    }
}

/// Drops the buckets that start before `oldest` from every line, and lines left empty. Only
/// the dropped buckets are touched, so trimming a long window every frame stays cheap.
pub fn drop_buckets_before<L: Ord, V>(lines: &mut BTreeMap<L, BTreeMap<i64, V>>, oldest: i64) {
    for points in lines.values_mut() {
        while let Some(first) = points.first_entry()
            && *first.key() < oldest
        {
            first.remove();
        }
    }
    lines.retain(|_, points| !points.is_empty());
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

    /// Only an ended access stops the client from reconnecting.
    #[test]
    fn only_ended_access_is_final() {
        assert!(closed_for_good(CLOSE_ACCESS_ENDED));
        for code in [
            CLOSE_GOING_AWAY,
            CLOSE_PROTOCOL_ERROR,
            CLOSE_TRY_AGAIN_LATER,
            1006,
        ] {
            assert!(!closed_for_good(code), "{code}");
        }
    }

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

    fn cursor(text: &str) -> Cursor {
        text.parse().unwrap()
    }

    /// A one-partition cursor reads and prints as a Redis stream id, positions order by time
    /// then sequence, and a bad part is named.
    #[test]
    fn cursors_round_trip_and_order() {
        let one = cursor("1763700000000-7");
        assert_eq!(one.to_string(), "1763700000000-7");
        assert!(cursor("1763700000000-8").covers(&one));
        assert!(!one.covers(&cursor("1763700000000-8")));
        assert!(cursor("1763700000001-0").covers(&one));
        assert!(
            "17637-x"
                .parse::<Cursor>()
                .unwrap_err()
                .contains("\"17637-x\"")
        );
        assert!("17637".parse::<Cursor>().is_err());
        assert!("+1-0".parse::<Cursor>().is_err());
        assert!(
            "18446744073709551616-0".parse::<Cursor>().is_err(),
            "past 64 bits"
        );
        assert_eq!(cursor("18446744073709551615-0").get(0).ms, u64::MAX);
        assert!("1-0.".parse::<Cursor>().is_err());
        assert_eq!(serde_json::to_string(&one).unwrap(), "\"1763700000000-7\"");
        assert_eq!(Cursor::default().to_string(), "0-0");
        assert!(cursor("0-0").covers(&Cursor::default()));
        assert!(Cursor::default().covers(&cursor("0-0")));
    }

    /// Cursors of several partitions: one covers another only when it is as far in each, the
    /// join takes the further position of each, and a missing partition is at its start.
    #[test]
    fn partitioned_cursors_are_ordered_per_partition() {
        let a = cursor("5-0.9-1.2-0");
        assert_eq!(a.to_string(), "5-0.9-1.2-0");
        assert_eq!(a.get(1), Position { ms: 9, seq: 1 });
        assert_eq!(a.get(7), Position::default());
        let b = cursor("6-0.8-0.2-0");
        assert!(!a.covers(&b) && !b.covers(&a), "neither is further in both");
        assert_eq!(a.join(&b), cursor("6-0.9-1.2-0"));
        assert!(a.join(&b).covers(&a) && a.join(&b).covers(&b));
        assert!(
            a.covers(&cursor("5-0")),
            "a shorter cursor is at the start elsewhere"
        );
        assert!(!cursor("5-0").covers(&a));
        assert_eq!(
            Cursor::default().with(2, Position { ms: 3, seq: 0 }),
            cursor("0-0.0-0.3-0")
        );
        assert_eq!(
            a.clone().with(0, Position { ms: 1, seq: 0 }),
            a,
            "never moves back"
        );
    }

    /// The wire form is tagged JSON, so other clients can read it without Rust types.
    #[test]
    fn messages_are_tagged_json() {
        let message = ServerMessage::Delta {
            id: 3,
            from: cursor("10-0"),
            to: cursor("12-1"),
            data: LiveData::Latest {
                values: vec![CurrentValue {
                    series: SeriesKey::new("cpu").with_label("host", "a"),
                    value: 42.5,
                    ts: 1_763_700_000_000,
                    kind: None,
                }],
                truncated: false,
            },
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"type":"delta","id":3,"from":"10-0","to":"12-1","data":{"kind":"latest","values":[{"series":{"name":"cpu","labels":{"host":"a"}},"value":42.5,"ts":1763700000000}],"truncated":false}}"#
        );
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&json).unwrap(),
            message
        );
        let subscribe: ClientMessage = serde_json::from_str(
            r#"{"type":"subscribe","id":1,"query":{"kind":"range","selector":{"name":"cpu"},"aggregation":{"fn":"avg"},"step_ms":1000,"window_ms":60000},"after":"5-0"}"#,
        )
        .unwrap();
        assert!(matches!(
            subscribe,
            ClientMessage::Subscribe {
                id: 1,
                ref after,
                ..
            } if *after == Some(cursor("5-0"))
        ));
    }

    /// Windows are bounded, and each bound names its field.
    #[test]
    fn range_queries_are_bounded() {
        let range = |step_ms, window_ms| LiveQuery::Range {
            selector: Selector::parse("cpu").unwrap(),
            aggregation: Aggregation::Avg,
            step_ms,
            window_ms,
            group_by: None,
        };
        assert!(range(1000, 60_000).validate().is_ok());
        let unnamed = LiveQuery::Latest {
            selector: Some(Selector {
                name: String::new(),
                matchers: Vec::new(),
            }),
        };
        assert!(unnamed.validate().unwrap_err().contains("metric name"));
        let pattern = LiveQuery::Latest {
            selector: Some(Selector::parse(r#"{__name__=~"http_.*"}"#).unwrap()),
        };
        assert!(pattern.validate().is_ok());
        assert!(
            range(0, 60_000)
                .validate()
                .unwrap_err()
                .starts_with("step_ms")
        );
        assert!(
            range(1000, 0)
                .validate()
                .unwrap_err()
                .starts_with("window_ms")
        );
        assert!(
            range(1, 60_000)
                .validate()
                .unwrap_err()
                .starts_with("window_ms / step_ms")
        );
    }

    fn range_data(points: &[(i64, f64)]) -> LiveData {
        LiveData::Range {
            step_ms: 1000,
            series: vec![ResultSeries {
                labels: BTreeMap::new(),
                points: points.to_vec(),
            }],
        }
    }

    /// Snapshots replace, deltas upsert buckets, and a delta from beyond the cursor is a gap.
    #[test]
    fn views_apply_snapshots_and_deltas() {
        let c = |ms: u64| cursor(&format!("{ms}-0"));
        let mut view = View::default();
        assert_eq!(view.delta(c(4), c(5), range_data(&[])), Applied::Gap);
        view.snapshot(c(5), range_data(&[(0, 1.0), (1000, 2.0)]));
        assert_eq!(
            view.delta(c(5), c(7), range_data(&[(1000, 3.0), (2000, 4.0)])),
            Applied::Ok
        );
        let line = &view.lines[&BTreeMap::new()];
        assert_eq!(
            line.iter().map(|(t, v)| (*t, *v)).collect::<Vec<_>>(),
            [(0, 1.0), (1000, 3.0), (2000, 4.0)]
        );
        assert_eq!(view.cursor, Some(c(7)));
        assert_eq!(view.delta(c(8), c(9), range_data(&[])), Applied::Gap);
        assert_eq!(view.delta(c(4), c(6), range_data(&[])), Applied::Ok);
        assert_eq!(view.cursor, Some(c(7)), "a cursor never moves back");
        view.trim(1000);
        assert_eq!(view.lines[&BTreeMap::new()].len(), 2);
        view.snapshot(c(3), range_data(&[]));
        assert!(view.lines.is_empty(), "a snapshot replaces");
        assert_eq!(view.cursor, Some(c(3)));
        // With several partitions, a delta continues the view only if the view holds
        // everything before it in each one.
        view.snapshot(cursor("6-0.2-0"), range_data(&[]));
        let empty = || range_data(&[]);
        assert_eq!(
            view.delta(cursor("5-0.3-0"), cursor("6-0.4-0"), empty()),
            Applied::Gap,
            "the view lacks 2-0..3-0 of the second partition"
        );
        assert_eq!(
            view.delta(cursor("6-0.1-0"), cursor("6-0.4-0"), empty()),
            Applied::Ok
        );
        assert_eq!(view.cursor, Some(cursor("6-0.4-0")));
    }
}
