//! The live hub: the process's Redis subscriptions, routed to the feeds that need them.
//!
//! One task per partition of the change log follows its channel, whatever the number of
//! browsers (a classic channel for a log in one partition, which the same connection shares
//! with the channel announcing revoked share links, whose sockets the hub closes; else a
//! sharded channel per partition, on the node that serves it, and revocations on a classic
//! subscription of their own). Each published change notice goes to the feeds whose query
//! matches one of its series (found through a per-series route table, kept up to date as feeds
//! come and go), so the work grows with distinct queries, not viewers. When a subscription
//! drops, every socket is told the stream is degraded; once it is back, the notices missed
//! meanwhile are read from that partition of the log, every feed re-reads its window from
//! storage, and sockets are told it recovered. A subscription that stays silent while its
//! partition of the log grows is taken for lost, so a node that stopped delivering cannot
//! leave the stream stuck.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::live::{Cursor, LiveQuery, Position};
use app::model::SeriesKey;
use futures::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::feed::{Command, FeedHandle, Home, Matcher, Member, Routed};
use super::outbox::Outbox;
use crate::config::LiveConfig;
use crate::storage::RedisTarget;
use crate::storage::changes::{Notice, Stamp, parse_published};
use crate::storage::people::FORGET_NOTICE_PREFIX;
use crate::storage::sharded;
use crate::storage::{SeriesId, StorageError, Store};

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Most missed notices read back after the subscription returns; beyond, feeds re-read their
/// windows anyway.
const MAX_GAP_ENTRIES: usize = 100_000;
/// How often a join is retried when the feed it found was ending at that moment.
const JOIN_ATTEMPTS: usize = 5;
/// How long a subscription may stay silent before the log is asked whether it missed
/// anything; it is re-made when the log has grown past it for two such periods in a row.
const SILENCE: Duration = Duration::from_secs(5);

/// What the hub and its feeds share.
pub struct Shared {
    pub store: Store,
    pub config: LiveConfig,
    pub shutdown: CancellationToken,
    registry: Mutex<Registry>,
    /// `Some(reason)` while the live stream is degraded.
    status: watch::Sender<Option<String>>,
    /// Partitions whose subscription is down.
    down: Mutex<BTreeSet<usize>>,
    next_feed: AtomicU64,
    sockets: AtomicUsize,
    /// Open sockets per client address.
    by_address: Mutex<HashMap<std::net::IpAddr, usize>>,
    /// Sockets closed because they fell behind.
    pub slow_clients_closed: AtomicU64,
    /// Sockets by the revocation names of the credential they were opened with (a share link's
    /// id, `token:<id>`, `session:<id>`), to close when it is revoked.
    watched: Mutex<HashMap<String, Vec<(u64, Outbox)>>>,
    next_watch: AtomicU64,
    /// Where every change notice also goes, with its series' keys (alerting's evaluator).
    tap: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Tapped>>,
}

/// What the hub passes to its tap.
#[derive(Debug)]
pub enum Tapped {
    /// Series were written: their keys and ids, and the latest time and the span of values
    /// written to each.
    Changed(Vec<TappedSeries>),
    /// Notices may have been missed: everything must be looked at again.
    Refresh,
}

/// One series in [`Tapped::Changed`].
#[derive(Debug)]
pub struct TappedSeries {
    pub id: SeriesId,
    /// Shared with the hub's routes: a notice names hundreds of series.
    pub key: Arc<SeriesKey>,
    /// The latest time written, ms.
    pub to: i64,
    /// The lowest and highest value written, when all were plain numbers.
    pub span: Option<(f64, f64)>,
}

/// Feeds by query, and which feeds each known series goes to.
#[derive(Default)]
struct Registry {
    feeds: HashMap<String, FeedHandle>,
    routes: HashMap<SeriesId, Route>,
}

struct Route {
    key: Arc<SeriesKey>,
    feeds: Vec<FeedHandle>,
}

impl Shared {
    /// Removes feed `id` registered under `key`; false when another feed took its place.
    pub fn remove_feed(&self, key: &str, id: u64) -> bool {
        let mut registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if registry.feeds.get(key).is_none_or(|feed| feed.id != id) {
            return false;
        }
        registry.feeds.remove(key);
        for route in registry.routes.values_mut() {
            route.feeds.retain(|feed| feed.id != id);
        }
        true
    }
}

impl Home for Shared {
    fn store(&self) -> &Store {
        &self.store
    }

    fn config(&self) -> LiveConfig {
        self.config
    }

    fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn remove_feed(&self, key: &str, id: u64) -> bool {
        Shared::remove_feed(self, key, id)
    }

    fn slow_client_closed(&self) {
        self.slow_clients_closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The handle every socket uses; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

/// Keeps a socket known to the hub under a revocation name while it lives.
pub struct RevocationWatch {
    shared: Arc<Shared>,
    name: String,
    id: u64,
}

impl Drop for RevocationWatch {
    fn drop(&mut self) {
        let mut watched = self
            .shared
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(watching) = watched.get_mut(&self.name) {
            watching.retain(|(id, _)| *id != self.id);
            if watching.is_empty() {
                watched.remove(&self.name);
            }
        }
    }
}

/// Closes the sockets opened with the credential whose revocation name is `name`; or, for a
/// person deleted, forgets what this process remembers of them.
fn revoke(shared: &Shared, name: &str) {
    if let Some(member) = name.strip_prefix(FORGET_NOTICE_PREFIX) {
        shared.store.forget_cached_user(member);
        return;
    }
    let watching = shared
        .watched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(name)
        .unwrap_or_default();
    let reason = if name.starts_with("token:") || name.starts_with("session:") {
        "your access was revoked; sign in again"
    } else {
        "this share link was revoked"
    };
    for (_, outbox) in watching {
        outbox.end_access(reason);
    }
}

/// Counts a socket against its client address while it lives.
pub struct AddressGuard {
    shared: Arc<Shared>,
    address: std::net::IpAddr,
}

impl Drop for AddressGuard {
    fn drop(&mut self) {
        let mut counts = self
            .shared
            .by_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Counts a live socket while it lives.
pub struct SocketGuard(Arc<Shared>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// Starts the subscriber tasks of `store`'s change log; they run until `shutdown` is
    /// cancelled.
    #[must_use]
    pub fn start(
        redis: RedisTarget,
        store: Store,
        config: LiveConfig,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let shared = Arc::new(Shared {
            store,
            config,
            shutdown,
            registry: Mutex::new(Registry::default()),
            status: watch::channel(None).0,
            down: Mutex::new(BTreeSet::new()),
            next_feed: AtomicU64::new(1),
            sockets: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
            slow_clients_closed: AtomicU64::new(0),
            watched: Mutex::new(HashMap::new()),
            next_watch: AtomicU64::new(1),
            tap: std::sync::OnceLock::new(),
        });
        let partitions = shared.store.change_log().count();
        let mut tasks: Vec<JoinHandle<()>> = (0..partitions)
            .map(|partition| tokio::spawn(follow(redis.clone(), partition, shared.clone())))
            .collect();
        if shared.store.change_log().sharded() {
            tasks.push(tokio::spawn(follow_revocations(redis, shared.clone())));
        }
        let task = tokio::spawn(async move {
            for task in tasks {
                let _ = task.await;
            }
        });
        (Self { shared }, task)
    }

    /// The live settings.
    #[must_use]
    pub fn config(&self) -> LiveConfig {
        self.shared.config
    }

    /// Follows the stream's health: `Some(reason)` while degraded.
    #[must_use]
    pub fn status(&self) -> watch::Receiver<Option<String>> {
        self.shared.status.subscribe()
    }

    /// Every change notice from now on, with its series' keys, through the same subscription
    /// and routing the live push uses; `None` when a tap was already taken.
    #[must_use]
    pub fn tap(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Tapped>> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        self.shared.tap.set(sender).ok().map(|()| receiver)
    }

    /// How many live sockets are open.
    #[must_use]
    pub fn listeners(&self) -> usize {
        self.shared.sockets.load(Ordering::Relaxed)
    }

    /// How many sockets were closed because they fell behind, since start.
    #[must_use]
    pub fn slow_clients_closed(&self) -> u64 {
        self.shared.slow_clients_closed.load(Ordering::Relaxed)
    }

    /// Counts a socket closed because its client stopped reading.
    pub fn slow_client_closed(&self) {
        self.shared
            .slow_clients_closed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// How many distinct live queries are being computed.
    #[must_use]
    pub fn feeds(&self) -> usize {
        self.registry().feeds.len()
    }

    /// Counts a socket until the guard is dropped.
    /// Admits one more socket from `address` unless it already has `limit` open.
    #[must_use]
    pub fn admit(&self, address: std::net::IpAddr, limit: usize) -> Option<AddressGuard> {
        let mut counts = self
            .shared
            .by_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(address).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(AddressGuard {
            shared: self.shared.clone(),
            address,
        })
    }

    #[must_use]
    pub fn socket_opened(&self) -> SocketGuard {
        self.shared.sockets.fetch_add(1, Ordering::Relaxed);
        SocketGuard(self.shared.clone())
    }

    /// Closes `outbox`'s socket when the credential with revocation name `name` (a share link's
    /// id, `token:<id>`, `session:<id>`) is revoked, until the guard is dropped.
    #[must_use]
    pub fn watch_revocation(&self, name: &str, outbox: Outbox) -> RevocationWatch {
        let id = self.shared.next_watch.fetch_add(1, Ordering::Relaxed);
        self.shared
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_owned())
            .or_default()
            .push((id, outbox));
        RevocationWatch {
            shared: self.shared.clone(),
            name: name.to_owned(),
            id,
        }
    }

    /// Joins `member` to the feed of `query` (started if none runs): it gets a snapshot, or
    /// with `after`, what it missed since. Returns the feed to leave later.
    ///
    /// # Errors
    /// Why the query cannot be served (bad selector, kind mismatch, storage down).
    pub async fn join(
        &self,
        query: &LiveQuery,
        member: Member,
        after: Option<Cursor>,
    ) -> Result<FeedHandle, String> {
        let key = serde_json::to_string(query).map_err(|e| e.to_string())?;
        for _ in 0..JOIN_ATTEMPTS {
            let feed = self.feed_for(&key, query)?;
            let (joined, answer) = oneshot::channel();
            if !feed.send(Command::Join {
                member: member.clone(),
                after: after.clone(),
                joined,
            }) {
                continue;
            }
            match answer.await {
                Ok(answer) => return answer.map(|()| feed),
                // It ended as we joined: a new one takes over.
                Err(_) if !self.shared.shutdown.is_cancelled() => {}
                Err(_) => break,
            }
        }
        Err("the live query could not start; try again".to_owned())
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.shared
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The running feed of `query`, or a new one, routed from every known series it matches.
    fn feed_for(&self, key: &str, query: &LiveQuery) -> Result<FeedHandle, String> {
        let mut registry = self.registry();
        if let Some(feed) = registry.feeds.get(key) {
            return Ok(feed.clone());
        }
        let matcher = Arc::new(Matcher::new(query).map_err(|e| e.to_string())?);
        let id = self.shared.next_feed.fetch_add(1, Ordering::Relaxed);
        let feed = FeedHandle::spawn(
            id,
            key.to_owned(),
            query.clone(),
            matcher.clone(),
            self.shared.clone() as Arc<dyn Home>,
        );
        for route in registry.routes.values_mut() {
            if matcher.matches(&route.key) {
                route.feeds.push(feed.clone());
            }
        }
        registry.feeds.insert(key.to_owned(), feed.clone());
        Ok(feed)
    }
}

/// Hands `notice` to the feeds of its series.
async fn route(shared: &Shared, stamp: Stamp, notice: Notice) -> Result<(), StorageError> {
    let unknown: Vec<SeriesId> = {
        let registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        notice
            .series
            .iter()
            .map(|change| change.series_id())
            .filter(|id| !registry.routes.contains_key(id))
            .collect()
    };
    let keys = shared.store.series_of(&unknown).await?;
    let mut registry = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
    for (id, key) in keys {
        let feeds = registry
            .feeds
            .values()
            .filter(|feed| feed.matcher.matches(&key))
            .cloned()
            .collect();
        registry.routes.insert(
            id,
            Route {
                key: Arc::new(key),
                feeds,
            },
        );
    }
    if let Some(tap) = shared.tap.get() {
        let changed = notice
            .series
            .iter()
            .filter_map(|change| {
                let id = change.series_id();
                let key = registry.routes.get(&id)?.key.clone();
                Some(TappedSeries {
                    id,
                    key,
                    to: change.to,
                    span: change.span,
                })
            })
            .collect();
        let _ = tap.send(Tapped::Changed(changed));
    }
    let mut per_feed: HashMap<u64, (FeedHandle, Vec<Arc<Routed>>)> = HashMap::new();
    for change in notice.series {
        let Some(route) = registry.routes.get(&change.series_id()) else {
            continue;
        };
        if route.feeds.is_empty() {
            continue;
        }
        let routed = Arc::new(Routed {
            key: (*route.key).clone(),
            change,
        });
        for feed in &route.feeds {
            per_feed
                .entry(feed.id)
                .or_insert_with(|| (feed.clone(), Vec::new()))
                .1
                .push(routed.clone());
        }
    }
    drop(registry);
    for (feed, changes) in per_feed.into_values() {
        feed.send(Command::Changed { stamp, changes });
    }
    Ok(())
}

/// What a subscription delivers: a change notice's payload, or a revoked credential's name.
enum Message {
    Notice(Vec<u8>),
    Revoked(String),
}

/// A subscription to one partition's channel.
enum Subscription {
    /// Classic pub/sub: the partition's channel and the revocation channel.
    Classic {
        messages: redis::aio::PubSubStream,
        revocations: String,
    },
    /// The partition's sharded channel.
    Sharded(tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>),
}

impl Subscription {
    /// Subscribes to partition `partition`'s channel.
    async fn open(redis: &RedisTarget, shared: &Shared, partition: usize) -> Result<Self, String> {
        let log = shared.store.change_log();
        let channel = &log.partition(partition).channel;
        if log.sharded() {
            return sharded::subscribe(redis, channel).await.map(Self::Sharded);
        }
        let revocations = shared.store.keys().revocations();
        // Classic publications reach every node of a cluster: any node will do, and one that
        // failed is left for the next.
        let pubsub = subscribe(
            &redis.subscriber(),
            &[channel.as_str(), revocations.as_str()],
        )
        .await
        .map_err(|error| error.to_string())?;
        Ok(Self::Classic {
            messages: pubsub.into_on_message(),
            revocations,
        })
    }

    /// The next message; `None` when the subscription ended.
    async fn next(&mut self) -> Option<Message> {
        match self {
            Self::Classic {
                messages,
                revocations,
            } => {
                let message = messages.next().await?;
                let payload = message.get_payload_bytes();
                Some(if message.get_channel_name() == revocations.as_str() {
                    Message::Revoked(String::from_utf8_lossy(payload).into_owned())
                } else {
                    Message::Notice(payload.to_vec())
                })
            }
            Self::Sharded(messages) => messages.recv().await.map(Message::Notice),
        }
    }
}

/// Follows partition `partition` of the change log: subscribes, reads what was missed while
/// not subscribed, and routes every notice, until shutdown.
async fn follow(redis: RedisTarget, partition: usize, shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    // The last notice routed; `None` until the first subscription.
    let mut routed: Option<Position> = None;
    loop {
        let subscribed = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            subscribed = Subscription::open(&redis, &shared, partition) => subscribed,
        };
        let mut subscription = match subscribed {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::warn!(partition, %error, retry_in = ?backoff, "live subscription failed");
                degrade(
                    &shared,
                    partition,
                    "the live stream is reconnecting to Redis",
                );
                if !pause(&shared, &mut backoff).await {
                    return;
                }
                continue;
            }
        };
        // Subscribed before reading the log: whatever is published from now on is buffered,
        // and anything older is in the log.
        let caught_up = match routed {
            None => shared.store.partition_end(partition).await.inspect(|end| {
                // Writes made before this first subscription were routed nowhere: feeds that
                // started meanwhile re-read their windows, and the tap's follower (alerting)
                // looks at everything once.
                refresh_all(&shared, &Cursor::default().with(partition, *end));
            }),
            Some(after) => fill_gap(&shared, partition, after).await.inspect(|_| {
                tracing::info!(
                    partition,
                    "live subscription re-established; missed changes filled"
                );
            }),
        };
        match caught_up {
            Ok(end) => routed = Some(end),
            Err(error) => {
                tracing::warn!(partition, %error, "reading the change log failed; re-subscribing");
                if !pause(&shared, &mut backoff).await {
                    return;
                }
                continue;
            }
        }
        recover(&shared, partition);
        backoff = MIN_BACKOFF;
        let mut watch = tokio::time::interval(SILENCE);
        watch.reset();
        let mut heard = false;
        let mut suspect: Option<Position> = None;
        loop {
            let message = tokio::select! {
                () = shared.shutdown.cancelled() => return,
                message = subscription.next() => message,
                _ = watch.tick() => {
                    if std::mem::take(&mut heard) {
                        suspect = None;
                    } else if silent_too_long(&shared, partition, routed, &mut suspect).await {
                        tracing::warn!(partition, "live subscription silent while the change log grew");
                        break;
                    }
                    continue;
                }
            };
            let Some(message) = message else { break };
            heard = true;
            let payload = match message {
                Message::Revoked(name) => {
                    revoke(&shared, &name);
                    continue;
                }
                Message::Notice(payload) => payload,
            };
            let (position, notice) = match parse_published(&payload) {
                Ok(parsed) => parsed,
                Err(error) => {
                    tracing::warn!(%error, "unreadable change notice; dropped");
                    continue;
                }
            };
            if routed.is_some_and(|routed| position <= routed) {
                continue;
            }
            let stamp = Stamp {
                partition,
                position,
            };
            if let Err(error) = route(&shared, stamp, notice).await {
                // The series' keys could not be read: feeds re-read from storage later.
                tracing::warn!(%error, "routing a change notice failed");
                refresh_all(&shared, &Cursor::default().with(partition, position));
            }
            routed = Some(position);
        }
        tracing::warn!(partition, "live subscription lost; re-subscribing");
        degrade(
            &shared,
            partition,
            "the live stream lost Redis; reconnecting",
        );
    }
}

/// After a quiet period: whether the log grew past `routed` and was still past it a period
/// earlier (`suspect` keeps what the log's end was then), so that a notice on its way is not
/// taken for a lost subscription.
async fn silent_too_long(
    shared: &Shared,
    partition: usize,
    routed: Option<Position>,
    suspect: &mut Option<Position>,
) -> bool {
    let routed = routed.unwrap_or_default();
    if suspect.is_some_and(|end| end > routed) {
        return true;
    }
    *suspect = match shared.store.partition_end(partition).await {
        Ok(end) if end > routed => Some(end),
        _ => None,
    };
    false
}

/// Follows the revocation channel (when the change log's partitions use sharded channels of
/// their own), until shutdown.
async fn follow_revocations(redis: RedisTarget, shared: Arc<Shared>) {
    let revocations = shared.store.keys().revocations();
    let mut backoff = MIN_BACKOFF;
    let channels = [revocations.as_str()];
    loop {
        let node = redis.subscriber();
        let subscribed = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            subscribed = subscribe(&node, &channels) => subscribed,
        };
        match subscribed {
            Ok(pubsub) => {
                backoff = MIN_BACKOFF;
                let mut messages = pubsub.into_on_message();
                loop {
                    let message = tokio::select! {
                        () = shared.shutdown.cancelled() => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    if let Ok(name) = std::str::from_utf8(message.get_payload_bytes()) {
                        revoke(&shared, name);
                    }
                }
                tracing::warn!("revocation subscription lost; re-subscribing");
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "revocation subscription failed");
            }
        }
        if !pause(&shared, &mut backoff).await {
            return;
        }
    }
}

/// Waits `backoff` (then doubles it); false when the server is shutting down meanwhile.
async fn pause(shared: &Shared, backoff: &mut Duration) -> bool {
    let delay = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        () = shared.shutdown.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

/// One connection, subscribed to `channels` (classic pub/sub).
async fn subscribe(
    client: &redis::Client,
    channels: &[&str],
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channels).await?;
    Ok(pubsub)
}

/// Notes partition `partition` down: the stream is degraded while any is.
fn degrade(shared: &Shared, partition: usize, reason: &str) {
    shared
        .down
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(partition);
    shared.status.send_if_modified(|status| {
        let was_healthy = status.is_none();
        if was_healthy {
            *status = Some(reason.to_owned());
        }
        was_healthy
    });
}

/// Notes partition `partition` back: the stream recovers once every partition is.
fn recover(shared: &Shared, partition: usize) {
    let mut down = shared.down.lock().unwrap_or_else(|e| e.into_inner());
    down.remove(&partition);
    if down.is_empty() {
        shared
            .status
            .send_if_modified(|status| status.take().is_some());
    }
}

/// Routes the notices logged in partition `partition` after `after`, then has every feed
/// re-read its window (the log itself may have been lost with a Redis that restarted empty).
/// Returns the partition's end.
async fn fill_gap(
    shared: &Shared,
    partition: usize,
    after: Position,
) -> Result<Position, StorageError> {
    let read = shared
        .store
        .partition_after(partition, after, MAX_GAP_ENTRIES)
        .await?;
    let mut end = after;
    for (stamp, notice) in read.entries {
        route(shared, stamp, notice).await?;
        end = stamp.position;
    }
    let end = end.max(shared.store.partition_end(partition).await?);
    refresh_all(shared, &Cursor::default().with(partition, end));
    Ok(end)
}

fn refresh_all(shared: &Shared, cursor: &Cursor) {
    if let Some(tap) = shared.tap.get() {
        let _ = tap.send(Tapped::Refresh);
    }
    let feeds: Vec<FeedHandle> = shared
        .registry
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .feeds
        .values()
        .cloned()
        .collect();
    for feed in feeds {
        feed.send(Command::Refresh {
            cursor: cursor.clone(),
        });
    }
}
