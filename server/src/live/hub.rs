//! The live hub: the process's single Redis subscription, routed to the feeds that need it.
//!
//! Exactly one task per process subscribes to the live channel (and, on the same connection,
//! to the channel announcing revoked share links, whose sockets it closes), whatever the number
//! of browsers. Each published change notice goes to the feeds whose query matches one of its
//! series (found through a per-series route table, kept up to date as feeds come and go), so
//! the work grows with distinct queries, not viewers. When the subscription drops, every socket
//! is told the stream is degraded; once it is back, the notices missed meanwhile are read from
//! the change log, every feed re-reads its window from storage, and sockets are told it
//! recovered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::live::{Cursor, LiveQuery};
use app::model::SeriesKey;
use futures::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::feed::{Command, FeedHandle, Home, Matcher, Member, Routed};
use super::outbox::Outbox;
use crate::config::LiveConfig;
use crate::storage::RedisTarget;
use crate::storage::changes::{Notice, parse_published};
use crate::storage::{SeriesId, StorageError, Store};

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Most missed notices read back after the subscription returns; beyond, feeds re-read their
/// windows anyway.
const MAX_GAP_ENTRIES: usize = 100_000;
/// How often a join is retried when the feed it found was ending at that moment.
const JOIN_ATTEMPTS: usize = 5;

/// What the hub and its feeds share.
pub struct Shared {
    pub store: Store,
    pub config: LiveConfig,
    pub shutdown: CancellationToken,
    registry: Mutex<Registry>,
    /// `Some(reason)` while the live stream is degraded.
    status: watch::Sender<Option<String>>,
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

/// Closes the sockets opened with the credential whose revocation name is `name`.
fn revoke(shared: &Shared, name: &str) {
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
    /// Starts the subscriber task on `channel`; it runs until `shutdown` is cancelled.
    #[must_use]
    pub fn start(
        redis: RedisTarget,
        channel: String,
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
            next_feed: AtomicU64::new(1),
            sockets: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
            slow_clients_closed: AtomicU64::new(0),
            watched: Mutex::new(HashMap::new()),
            next_watch: AtomicU64::new(1),
            tap: std::sync::OnceLock::new(),
        });
        let task = tokio::spawn(subscribe_loop(redis, channel, shared.clone()));
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
                after,
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
async fn route(shared: &Shared, cursor: Cursor, notice: Notice) -> Result<(), StorageError> {
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
        feed.send(Command::Changed { cursor, changes });
    }
    Ok(())
}

async fn subscribe_loop(redis: RedisTarget, channel: String, shared: Arc<Shared>) {
    let revocations = shared.store.keys().revocations();
    let mut backoff = MIN_BACKOFF;
    // The last notice routed; `None` until the first subscription.
    let mut routed: Option<Cursor> = None;
    loop {
        let node = redis.subscriber();
        let subscribed = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            // Classic publications reach every node of a cluster: any node will do, and one
            // that failed is left for the next.
            subscribed = subscribe(&node, [&channel, &revocations]) => subscribed,
        };
        let pubsub = match subscribed {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::warn!(%channel, %error, retry_in = ?backoff, "live subscription failed");
                degrade(&shared, "the live stream is reconnecting to Redis");
                if !pause(&shared, &mut backoff).await {
                    return;
                }
                continue;
            }
        };
        // Subscribed before reading the log: whatever is published from now on is buffered,
        // and anything older is in the log.
        match routed {
            None => match shared.store.log_end().await {
                Ok(end) => {
                    routed = Some(end);
                    // Writes made before this first subscription were routed nowhere: the tap's
                    // follower (alerting) looks at everything once.
                    if let Some(tap) = shared.tap.get() {
                        let _ = tap.send(Tapped::Refresh);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the change log failed; re-subscribing");
                    if !pause(&shared, &mut backoff).await {
                        return;
                    }
                    continue;
                }
            },
            Some(after) => match fill_gap(&shared, after).await {
                Ok(end) => {
                    routed = Some(end);
                    tracing::info!(%channel, "live subscription re-established; missed changes filled");
                }
                Err(error) => {
                    tracing::warn!(%error, "filling the live gap failed; re-subscribing");
                    if !pause(&shared, &mut backoff).await {
                        return;
                    }
                    continue;
                }
            },
        }
        shared
            .status
            .send_if_modified(|status| status.take().is_some());
        backoff = MIN_BACKOFF;
        let mut messages = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                () = shared.shutdown.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            if message.get_channel_name() == revocations {
                if let Ok(name) = std::str::from_utf8(message.get_payload_bytes()) {
                    revoke(&shared, name);
                }
                continue;
            }
            let (cursor, notice) = match parse_published(message.get_payload_bytes()) {
                Ok(parsed) => parsed,
                Err(error) => {
                    tracing::warn!(%error, "unreadable change notice; dropped");
                    continue;
                }
            };
            if routed.is_some_and(|routed| cursor <= routed) {
                continue;
            }
            if let Err(error) = route(&shared, cursor, notice).await {
                // The series' keys could not be read: feeds re-read from storage later.
                tracing::warn!(%error, "routing a change notice failed");
                refresh_all(&shared, cursor);
            }
            routed = Some(cursor);
        }
        tracing::warn!(%channel, "live subscription lost; re-subscribing");
        degrade(&shared, "the live stream lost Redis; reconnecting");
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

/// One connection, subscribed to the change channel and the share-link revocation channel.
async fn subscribe(
    client: &redis::Client,
    channels: [&str; 2],
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&channels[..]).await?;
    Ok(pubsub)
}

fn degrade(shared: &Shared, reason: &str) {
    shared.status.send_if_modified(|status| {
        let was_healthy = status.is_none();
        if was_healthy {
            *status = Some(reason.to_owned());
        }
        was_healthy
    });
}

/// Routes the notices logged after `after`, then has every feed re-read its window (the log
/// itself may have been lost with a Redis that restarted empty). Returns the log's end.
async fn fill_gap(shared: &Shared, after: Cursor) -> Result<Cursor, StorageError> {
    let read = shared.store.log_after(after, MAX_GAP_ENTRIES).await?;
    let mut end = after;
    for (cursor, notice) in read.entries {
        route(shared, cursor, notice).await?;
        end = cursor;
    }
    let end = end.max(shared.store.log_end().await?);
    refresh_all(shared, end);
    Ok(end)
}

fn refresh_all(shared: &Shared, cursor: Cursor) {
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
        feed.send(Command::Refresh { cursor });
    }
}
