//! A feed: one distinct live query, computed once per frame for all the viewers that share it.
//!
//! Each feed is a task that owns the query's current state (the buckets of its window, or the
//! newest values) and its members (subscriptions of sockets). The hub hands it the changes
//! that concern it; at most once per frame it re-reads only the changed time span, compares
//! with its state, and sends the buckets that differ to every member as one serialized delta.
//! Joins are handled by the same task between frames, so a member's snapshot or catch-up and
//! the deltas that follow line up exactly. A member whose queue is full is skipped, then sent
//! the whole state once it has room again (coalesced), and closed if it stays behind.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api::ApiError;
use app::live::{Cursor, LiveData, LiveQuery, SubscriptionId};
use app::model::{CurrentValue, SeriesKey};
use app::query::ResultSeries;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant as TokioInstant;

use super::hub::Shared;
use super::socket::{Outbox, Outgoing, OutgoingKind};
use crate::config::LiveConfig;
use crate::routes::now_ms;
use crate::storage::query::{CompiledSelector, QueryError, Resolved};
use crate::storage::{SeriesId, StorageError, Store, changes::Changed};

/// How long a feed without members keeps its state, so a reloaded page finds it warm.
const LINGER: Duration = Duration::from_secs(15);
/// How long a feed waits before reading again after storage failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Most change-log entries a catch-up reads; further behind, the member gets a snapshot.
const MAX_CATCH_UP_ENTRIES: usize = 10_000;
/// Most joins handled after one read of the pending changes.
const MAX_JOINS_AT_ONCE: usize = 1_024;

/// A subscription waiting to join, its cursor, and where its answer goes.
type Joining = (Member, Option<Cursor>, oneshot::Sender<Result<(), String>>);

/// A change the hub routed to this feed: the series' key and what was written.
#[derive(Debug)]
pub struct Routed {
    pub key: SeriesKey,
    pub change: Changed,
}

/// What a feed task is asked to do.
pub enum Command {
    /// Series of this feed were written, as recorded at `cursor`.
    Changed {
        cursor: Cursor,
        changes: Vec<Arc<Routed>>,
    },
    /// A subscription joins; `after` is the cursor it already holds. The answer says whether
    /// it joined, or why not.
    Join {
        member: Member,
        after: Option<Cursor>,
        joined: oneshot::Sender<Result<(), String>>,
    },
    /// A subscription leaves.
    Leave {
        socket: u64,
        subscription: SubscriptionId,
    },
    /// Updates may have been missed (the hub's subscription dropped): re-read the whole window.
    Refresh { cursor: Cursor },
}

/// Which series a feed shows.
pub struct Matcher {
    name: Option<String>,
    selector: Option<CompiledSelector>,
}

impl Matcher {
    /// The matcher of `query`.
    ///
    /// # Errors
    /// The selector names no metric (neither a name nor a `__name__` matcher), or a regular
    /// expression in it does not compile.
    pub fn new(query: &LiveQuery) -> Result<Self, QueryError> {
        let selector = match query {
            LiveQuery::Latest { selector } => selector.as_ref(),
            LiveQuery::Range { selector, .. } => Some(selector),
        };
        if let Some(selector) = selector {
            selector
                .check()
                .map_err(|error| QueryError::BadSelector(error.to_string()))?;
        }
        Ok(Self {
            // A `__name__` pattern has no one name: its compiled conditions test the name.
            name: selector
                .and_then(|selector| selector.fixed_name())
                .map(str::to_owned),
            selector: selector.map(CompiledSelector::new).transpose()?,
        })
    }

    /// Whether `key` is one of its series.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.name.as_ref().is_none_or(|name| *name == key.name)
            && self
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(key))
    }
}

/// The hub's handle on a feed task.
#[derive(Clone)]
pub struct FeedHandle {
    pub id: u64,
    pub matcher: Arc<Matcher>,
    commands: mpsc::UnboundedSender<Command>,
}

impl FeedHandle {
    /// Starts the task for `query`; it registers nothing itself (the hub does).
    pub(super) fn spawn(
        id: u64,
        key: String,
        query: LiveQuery,
        matcher: Arc<Matcher>,
        shared: Arc<Shared>,
    ) -> Self {
        let (commands, inbox) = mpsc::unbounded_channel();
        let feed = Feed {
            id,
            key,
            query,
            matcher: matcher.clone(),
            store: shared.store.clone(),
            config: shared.config,
            shared,
            state: State::default(),
            position: Cursor::default(),
            loaded_at: Cursor::default(),
            sent: Cursor::default(),
            members: Vec::new(),
            pending: Pending::default(),
            last_flush: None,
            failed: None,
        };
        tokio::spawn(feed.run(inbox));
        Self {
            id,
            matcher,
            commands,
        }
    }

    /// Sends a command; false when the feed has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// One subscription of one socket.
#[derive(Clone)]
pub struct Member {
    pub socket: u64,
    pub subscription: SubscriptionId,
    pub outbox: Outbox,
    /// Since when its queue has been full (it is being skipped), if it is.
    behind_since: Option<Instant>,
}

impl Member {
    pub fn new(socket: u64, subscription: SubscriptionId, outbox: Outbox) -> Self {
        Self {
            socket,
            subscription,
            outbox,
            behind_since: None,
        }
    }
}

/// Bucket start → (value, version) per line. A version is the cursor of the delta that
/// changed the value, or the default cursor for a value read when the feed started.
type Lines = BTreeMap<BTreeMap<String, String>, BTreeMap<i64, (f64, Cursor)>>;
/// Bucket start → value per line, as read from storage.
type FreshLines = BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>>;

/// The query's current result.
#[derive(Default)]
struct State {
    /// Range queries: the matched series.
    resolved: Resolved,
    resolved_ids: HashSet<SeriesId>,
    lines: Lines,
    /// Latest displays: newest value per series with its version, and the series' ids.
    latest: BTreeMap<SeriesKey, (CurrentValue, Cursor)>,
    latest_ids: HashMap<SeriesId, SeriesKey>,
    truncated: bool,
    step_ms: i64,
}

/// What the change log says was written after a cursor.
#[derive(Default)]
struct Written {
    /// Range queries: merged bucket ranges `[first start, last start]`.
    spans: Vec<(i64, i64)>,
    /// Latest displays: the series.
    series: HashSet<SeriesKey>,
}

/// What storage holds now, read in full or for a span.
enum Fresh {
    Latest {
        values: Vec<CurrentValue>,
        truncated: bool,
    },
    Range {
        step_ms: i64,
        lines: FreshLines,
        /// Buckets before this start were not read.
        first_bucket: i64,
    },
}

/// Changes received since the last frame.
#[derive(Default)]
struct Pending {
    cursor: Option<Cursor>,
    /// Range queries: the written time span.
    span: Option<(i64, i64)>,
    /// A series the state does not know yet was written.
    new_series: bool,
    /// Latest displays: the newest values written.
    values: BTreeMap<SeriesKey, CurrentValue>,
    /// Re-read everything.
    refresh: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.cursor.is_none()
    }
}

struct Feed {
    id: u64,
    key: String,
    query: LiveQuery,
    matcher: Arc<Matcher>,
    store: Store,
    config: LiveConfig,
    shared: Arc<Shared>,
    state: State,
    /// The state includes every change up to here.
    position: Cursor,
    /// The log's end when the state was first read: a member that holds less than this
    /// catches up through the log.
    loaded_at: Cursor,
    /// Where the last delta ended.
    sent: Cursor,
    members: Vec<Member>,
    pending: Pending,
    last_flush: Option<TokioInstant>,
    /// Why the query cannot go on, once it cannot.
    failed: Option<String>,
}

/// The shared part of a snapshot or delta message: everything after the subscription id.
#[derive(Serialize)]
struct SnapshotBody<'a> {
    at: Cursor,
    data: &'a LiveData,
}

#[derive(Serialize)]
struct DeltaBody<'a> {
    from: Cursor,
    to: Cursor,
    data: &'a LiveData,
}

impl Feed {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let frame = Duration::from_millis(self.config.frame_ms.unsigned_abs());
        if let Err(error) = self.load().await {
            tracing::warn!(%error, query = %self.key, "live query could not start");
            self.end(&mut inbox, Some(&ApiError::from(error).to_string()));
            return;
        }
        let mut idle_since = Some(TokioInstant::now());
        loop {
            // A frame is due when changes wait (at once after a quiet frame: no added
            // latency), or a member is behind (to check whether it caught up).
            let due = if !self.pending.is_empty() {
                Some(
                    self.last_flush
                        .map_or_else(TokioInstant::now, |last| last + frame),
                )
            } else if self.members.iter().any(|m| m.behind_since.is_some()) {
                Some(TokioInstant::now() + frame)
            } else {
                None
            };
            let linger_until = idle_since.map(|since| since + LINGER);
            tokio::select! {
                command = inbox.recv() => {
                    let Some(command) = command else { return };
                    // What is queued behind it too, so that viewers joining together share
                    // one read of the pending changes instead of one read each.
                    let mut joining = Vec::new();
                    self.handle(command, &mut joining).await;
                    while joining.len() < MAX_JOINS_AT_ONCE {
                        let Ok(command) = inbox.try_recv() else { break };
                        self.handle(command, &mut joining).await;
                    }
                    self.join_all(joining).await;
                }
                () = sleep_until(due), if due.is_some() => {
                    self.flush().await;
                }
                () = sleep_until(linger_until), if linger_until.is_some() => {
                    if self.shared.remove_feed(&self.key, self.id) {
                        // Whoever was joining just now starts a new feed.
                        self.end(&mut inbox, None);
                        return;
                    }
                }
                () = self.shared.shutdown.cancelled() => return,
            }
            if let Some(reason) = self.failed.take() {
                self.fail(&reason);
                self.end(&mut inbox, Some(&reason));
                return;
            }
            idle_since = match (self.members.is_empty(), idle_since) {
                (true, None) => Some(TokioInstant::now()),
                (true, since) => since,
                (false, _) => None,
            };
        }
    }

    /// Stops taking commands. Whoever was waiting to join is told `failure`, or, without
    /// one, left to try again (a dropped answer makes the hub start a new feed).
    fn end(&self, inbox: &mut mpsc::UnboundedReceiver<Command>, failure: Option<&str>) {
        self.shared.remove_feed(&self.key, self.id);
        inbox.close();
        while let Ok(command) = inbox.try_recv() {
            if let (Command::Join { joined, .. }, Some(failure)) = (command, failure) {
                let _ = joined.send(Err(failure.to_owned()));
            }
        }
    }

    /// Acts on `command`; joins are collected in `joining`, for [`Self::join_all`].
    async fn handle(&mut self, command: Command, joining: &mut Vec<Joining>) {
        match command {
            Command::Changed { cursor, changes } => self.note(cursor, &changes),
            Command::Refresh { cursor } => {
                self.pending.cursor = Some(self.pending.cursor.map_or(cursor, |c| c.max(cursor)));
                self.pending.refresh = true;
            }
            Command::Join {
                member,
                after,
                joined,
            } => joining.push((member, after, joined)),
            Command::Leave {
                socket,
                subscription,
            } => {
                // A subscription may join and leave within one batch: in that order.
                self.join_all(std::mem::take(joining)).await;
                self.members
                    .retain(|m| !(m.socket == socket && m.subscription == subscription));
            }
        }
    }

    /// Adds the members in `joining` after one flush of the changes still pending, so that
    /// what each gets next lines up with its snapshot or catch-up.
    async fn join_all(&mut self, joining: Vec<Joining>) {
        if joining.is_empty() {
            return;
        }
        if !self.pending.is_empty() {
            self.flush().await;
        }
        for (member, after, joined) in joining {
            let answer = match &self.failed {
                Some(reason) => Err(reason.clone()),
                None => self.join(member, after).await,
            };
            let _ = joined.send(answer);
        }
    }

    /// Reads the initial state: the log's end first, so the state holds at least that much.
    async fn load(&mut self) -> Result<(), QueryError> {
        self.position = self.store.log_end().await?;
        self.loaded_at = self.position;
        self.sent = self.position;
        let fresh = self.read_all().await?;
        self.merge(fresh, Cursor::default());
        Ok(())
    }

    /// Reads everything the query shows (resolving its series again).
    async fn read_all(&mut self) -> Result<Fresh, QueryError> {
        match &self.query {
            LiveQuery::Latest { .. } => {
                let listing = self.store.current_values().await?;
                Ok(Fresh::Latest {
                    values: listing
                        .values
                        .into_iter()
                        .filter(|value| self.matcher.matches(&value.series))
                        .collect(),
                    truncated: listing.truncated,
                })
            }
            LiveQuery::Range { window_ms, .. } => {
                let window_ms = *window_ms;
                self.resolve().await?;
                let now = now_ms();
                self.read_range(now - window_ms, now).await
            }
        }
    }

    /// Finds the series of a range query again (a new one may have appeared).
    async fn resolve(&mut self) -> Result<(), QueryError> {
        let LiveQuery::Range {
            selector,
            aggregation,
            ..
        } = &self.query
        else {
            return Ok(());
        };
        let resolved = self.store.resolve(selector, *aggregation).await?;
        self.state.resolved_ids = resolved.series.iter().map(|(id, _)| id.clone()).collect();
        self.state.resolved = resolved;
        Ok(())
    }

    /// Reads the buckets from `from`'s to `to`'s, inclusive.
    async fn read_range(&self, from: i64, to: i64) -> Result<Fresh, QueryError> {
        let LiveQuery::Range {
            aggregation,
            step_ms,
            group_by,
            ..
        } = &self.query
        else {
            unreachable!("only range queries read ranges");
        };
        let result = self
            .store
            .compute(
                &self.state.resolved,
                *aggregation,
                group_by.as_deref(),
                (from, to + step_ms, Some(*step_ms)),
                now_ms(),
            )
            .await?;
        let lines = result
            .series
            .into_iter()
            .map(|line| (line.labels, line.points.into_iter().collect()))
            .collect();
        Ok(Fresh::Range {
            step_ms: result.step_ms,
            lines,
            first_bucket: result.from,
        })
    }

    /// Takes what storage holds into the state, marking changed values with `version`;
    /// returns the changes, if any.
    fn merge(&mut self, fresh: Fresh, version: Cursor) -> Option<LiveData> {
        match fresh {
            Fresh::Latest { values, truncated } => {
                self.state.truncated = truncated;
                let mut changed = Vec::new();
                for value in values {
                    match self.state.latest.get(&value.series) {
                        Some((known, _)) if !value.supersedes(known) || *known == value => {}
                        _ => {
                            self.state
                                .latest_ids
                                .insert(SeriesId::of(&value.series), value.series.clone());
                            self.state
                                .latest
                                .insert(value.series.clone(), (value.clone(), version));
                            changed.push(value);
                        }
                    }
                }
                (!changed.is_empty()).then_some(LiveData::Latest {
                    values: changed,
                    truncated,
                })
            }
            Fresh::Range {
                step_ms,
                lines,
                first_bucket,
            } => {
                self.state.step_ms = step_ms;
                let mut changed = Vec::new();
                for (labels, points) in lines {
                    let known = self.state.lines.entry(labels.clone()).or_default();
                    let mut line = Vec::new();
                    for (start, value) in points.range(first_bucket..) {
                        if known
                            .get(start)
                            .is_none_or(|(old, _)| old.to_bits() != value.to_bits())
                        {
                            known.insert(*start, (*value, version));
                            line.push((*start, *value));
                        }
                    }
                    if !line.is_empty() {
                        changed.push(ResultSeries {
                            labels,
                            points: line,
                        });
                    }
                }
                self.trim();
                (!changed.is_empty()).then_some(LiveData::Range {
                    step_ms,
                    series: changed,
                })
            }
        }
    }

    /// Drops buckets that left the window.
    fn trim(&mut self) {
        let LiveQuery::Range { window_ms, .. } = &self.query else {
            return;
        };
        let step = self.state.step_ms.max(1);
        let oldest = now_ms() - window_ms;
        let first_kept = oldest - oldest.rem_euclid(step);
        app::live::drop_buckets_before(&mut self.state.lines, first_kept);
    }

    /// Records routed changes for the next frame.
    fn note(&mut self, cursor: Cursor, changes: &[Arc<Routed>]) {
        if cursor <= self.position {
            // Already in the state (it was read after this change).
            return;
        }
        self.pending.cursor = Some(cursor);
        for routed in changes {
            let change = &routed.change;
            match &self.query {
                LiveQuery::Latest { .. } => {
                    if let Some((value, ts)) = change.current {
                        let value = CurrentValue {
                            series: routed.key.clone(),
                            value,
                            ts,
                            kind: change.kind,
                        };
                        match self.pending.values.get(&value.series) {
                            Some(known) if !value.supersedes(known) => {}
                            _ => {
                                self.pending.values.insert(value.series.clone(), value);
                            }
                        }
                    }
                }
                LiveQuery::Range { .. } => {
                    self.pending.span = Some(match self.pending.span {
                        Some((from, to)) => (from.min(change.from), to.max(change.to)),
                        None => (change.from, change.to),
                    });
                    if !self.state.resolved_ids.contains(&change.series_id()) {
                        self.pending.new_series = true;
                    }
                }
            }
        }
    }

    /// Ends every member's subscription with `reason`.
    fn fail(&mut self, reason: &str) {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            message: &'a str,
        }
        let body = serialize(&ErrorBody { message: reason });
        for member in self.members.drain(..) {
            let message = Outgoing::message(OutgoingKind::Error, member.subscription, &body);
            if member.outbox.try_send(message).is_err() {
                member.outbox.kick("the live query failed");
            }
        }
    }

    /// Applies the pending changes and sends one delta to every member that keeps up. When
    /// the query cannot go on (its series no longer fit it: a kind that does not match, or too
    /// many), notes why in `failed`; storage failures are retried instead.
    async fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.last_flush = Some(TokioInstant::now());
        if let Some(cursor) = pending.cursor {
            let version = self.position.max(cursor);
            match self.apply(pending, version).await {
                Ok(data) => {
                    self.position = version;
                    if let Some(data) = data {
                        let body = serialize(&DeltaBody {
                            from: self.sent,
                            to: self.position,
                            data: &data,
                        });
                        self.sent = self.position;
                        self.deliver(&body);
                    }
                }
                Err(error) if !matches!(error, QueryError::Storage(_)) => {
                    self.failed = Some(ApiError::from(error).to_string());
                    return;
                }
                Err(error) => {
                    // Re-read everything once storage answers again, a moment from now.
                    tracing::warn!(%error, query = %self.key, "live query update failed");
                    self.pending.cursor = Some(cursor);
                    self.pending.refresh = true;
                    self.last_flush = Some(TokioInstant::now() + RETRY_AFTER);
                }
            }
        }
        self.catch_up_members();
    }

    /// Brings the state up to date with `pending`; returns what changed, if anything did.
    async fn apply(
        &mut self,
        pending: Pending,
        version: Cursor,
    ) -> Result<Option<LiveData>, QueryError> {
        if pending.refresh {
            let fresh = self.read_all().await?;
            return Ok(self.merge(fresh, version));
        }
        match &self.query {
            LiveQuery::Latest { .. } => Ok(self.merge(
                Fresh::Latest {
                    values: pending.values.into_values().collect(),
                    truncated: self.state.truncated,
                },
                version,
            )),
            LiveQuery::Range { window_ms, .. } => {
                let window_ms = *window_ms;
                if pending.new_series {
                    self.resolve().await?;
                }
                let Some((from, to)) = pending.span else {
                    return Ok(None);
                };
                let now = now_ms();
                let oldest = now - window_ms;
                if to < oldest {
                    return Ok(None);
                }
                let fresh = self.read_range(from.max(oldest), to.max(now)).await?;
                Ok(self.merge(fresh, version))
            }
        }
    }

    /// The whole state; or with `newer_than`, the values changed after that cursor, plus
    /// the buckets in `spans` and the series in `written` (what the log says was written).
    fn data(&self, newer_than: Option<Cursor>, written: &Written) -> LiveData {
        let newer = |version: &Cursor| newer_than.is_none_or(|cursor| *version > cursor);
        match &self.query {
            LiveQuery::Latest { .. } => LiveData::Latest {
                values: self
                    .state
                    .latest
                    .iter()
                    .filter(|(key, (_, version))| newer(version) || written.series.contains(*key))
                    .map(|(_, (value, _))| value.clone())
                    .collect(),
                truncated: self.state.truncated,
            },
            LiveQuery::Range { .. } => LiveData::Range {
                step_ms: self.state.step_ms,
                series: self
                    .state
                    .lines
                    .iter()
                    .map(|(labels, points)| ResultSeries {
                        labels: labels.clone(),
                        points: points
                            .iter()
                            .filter(|(start, (_, version))| {
                                newer(version)
                                    || written
                                        .spans
                                        .iter()
                                        .any(|(from, to)| (*from..=*to).contains(*start))
                            })
                            .map(|(start, (value, _))| (*start, *value))
                            .collect(),
                    })
                    .filter(|line| !line.points.is_empty())
                    .collect(),
            },
        }
    }

    fn snapshot_body(&self) -> Arc<str> {
        serialize(&SnapshotBody {
            at: self.position,
            data: &self.data(None, &Written::default()),
        })
    }

    /// Sends `body` as a delta to every member that keeps up; notes those whose queue is full.
    fn deliver(&mut self, body: &Arc<str>) {
        let now = Instant::now();
        // One rendering per subscription id (viewers of one dashboard mostly share them).
        let mut rendered: Vec<(SubscriptionId, Outgoing)> = Vec::new();
        self.members.retain_mut(|member| {
            if member.behind_since.is_some() {
                return true;
            }
            let message = match rendered.iter().find(|(id, _)| *id == member.subscription) {
                Some((_, message)) => message.clone(),
                None => {
                    let message = Outgoing::message(OutgoingKind::Delta, member.subscription, body);
                    rendered.push((member.subscription, message.clone()));
                    message
                }
            };
            match member.outbox.try_send(message) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    member.behind_since = Some(now);
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Members that were behind get the whole state once they have room; those behind for
    /// too long are closed.
    fn catch_up_members(&mut self) {
        if self.members.iter().all(|m| m.behind_since.is_none()) {
            return;
        }
        let limit = Duration::from_millis(self.config.slow_client_ms.unsigned_abs());
        let room = self.config.client_buffer.div_ceil(2);
        let mut snapshot: Option<Arc<str>> = None;
        for member in std::mem::take(&mut self.members) {
            let Some(since) = member.behind_since else {
                self.members.push(member);
                continue;
            };
            let mut member = member;
            if member.outbox.capacity() >= room {
                let body = snapshot.get_or_insert_with(|| self.snapshot_body()).clone();
                let message = Outgoing::message(OutgoingKind::Snapshot, member.subscription, &body);
                if member.outbox.try_send(message).is_ok() {
                    member.behind_since = None;
                }
                self.members.push(member);
            } else if since.elapsed() > limit {
                member
                    .outbox
                    .kick("client too slow: it fell behind the live stream");
                self.shared
                    .slow_clients_closed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                self.members.push(member);
            }
        }
    }

    /// Adds a member: a snapshot, or exactly what it missed after `after`. Pending changes
    /// were flushed just before ([`Self::join_all`]).
    async fn join(&mut self, mut member: Member, after: Option<Cursor>) -> Result<(), String> {
        let after = self.issued(after).await?;
        let missed = match after {
            Some(after) => self.catch_up(after).await.map_err(|error| {
                tracing::warn!(%error, query = %self.key, "catching a member up failed");
                ApiError::from(error).to_string()
            })?,
            None => None,
        };
        let message = match (after, missed) {
            (Some(after), Some(data)) => {
                let body = serialize(&DeltaBody {
                    from: after,
                    to: self.position.max(after),
                    data: &data,
                });
                Outgoing::message(OutgoingKind::Delta, member.subscription, &body)
            }
            _ => Outgoing::message(
                OutgoingKind::Snapshot,
                member.subscription,
                &self.snapshot_body(),
            ),
        };
        member.behind_since = None;
        if member.outbox.try_send(message).is_err() {
            // A full queue right away: it gets the state once it has room.
            member.behind_since = Some(Instant::now());
        }
        self.members
            .retain(|m| !(m.socket == member.socket && m.subscription == member.subscription));
        self.members.push(member);
        Ok(())
    }

    /// `after` if the change log could have given it out; `None` for a cursor past the log's
    /// end. Such a cursor comes from another log (a client that last met a Redis since
    /// replaced, restored or emptied) or was made up: what it missed cannot be told, so it
    /// gets a fresh snapshot, as when the log no longer reaches back, and never its own cursor
    /// echoed as a position this server has not reached. (An error would leave a browser's
    /// chart dead until a reload, for a cursor it cannot be blamed for.) The log is read only
    /// for cursors past this feed's position, which another process may have seen first.
    async fn issued(&self, after: Option<Cursor>) -> Result<Option<Cursor>, String> {
        let Some(cursor) = after.filter(|cursor| *cursor > self.position) else {
            return Ok(after);
        };
        let end = self.store.log_end().await.map_err(|error| {
            tracing::warn!(%error, query = %self.key, "reading the change log's end failed");
            ApiError::from(error).to_string()
        })?;
        if cursor > end {
            tracing::debug!(
                %cursor,
                %end,
                "a resume cursor past the change log's end; sending a snapshot"
            );
            return Ok(None);
        }
        Ok(after)
    }

    /// What changed after `after`; `None` when that cannot be told exactly (the change log no
    /// longer reaches back that far, or a series joined the query meanwhile): send a snapshot.
    async fn catch_up(&self, after: Cursor) -> Result<Option<LiveData>, StorageError> {
        if after >= self.loaded_at {
            // Every change since is versioned in the state.
            return Ok(Some(self.data(Some(after), &Written::default())));
        }
        // The feed started after `after`: the log says what was written since.
        let read = self.store.log_after(after, MAX_CATCH_UP_ENTRIES).await?;
        if !read.complete {
            return Ok(None);
        }
        let mut unknown = BTreeSet::new();
        let mut written = Written::default();
        for (_, notice) in &read.entries {
            for change in &notice.series {
                let id = change.series_id();
                match &self.query {
                    LiveQuery::Latest { .. } => match self.state.latest_ids.get(&id) {
                        Some(key) => {
                            written.series.insert(key.clone());
                        }
                        None => {
                            unknown.insert(id);
                        }
                    },
                    LiveQuery::Range { .. } => {
                        if self.state.resolved_ids.contains(&id) {
                            written.spans.push((change.from, change.to));
                        } else {
                            unknown.insert(id);
                        }
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let unknown: Vec<SeriesId> = unknown.into_iter().collect();
            let keys = self.store.series_of(&unknown).await?;
            if keys.iter().any(|(_, key)| self.matcher.matches(key)) {
                return Ok(None);
            }
        }
        written.spans = merge_spans(written.spans, self.state.step_ms.max(1));
        Ok(Some(self.data(Some(self.loaded_at), &written)))
    }
}

/// Bucket-aligned, merged `[first bucket start, last bucket start]` ranges covering `spans`.
fn merge_spans(mut spans: Vec<(i64, i64)>, step: i64) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (from, to) in spans {
        let (from, to) = (from - from.rem_euclid(step), to - to.rem_euclid(step));
        match merged.last_mut() {
            Some(last) if from <= last.1 + step => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

fn serialize(body: &impl Serialize) -> Arc<str> {
    Arc::from(serde_json::to_string(body).unwrap_or_else(|_| "{}".into()))
}

async fn sleep_until(deadline: Option<TokioInstant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans become aligned bucket ranges; adjacent ones merge.
    #[test]
    fn spans_merge_into_bucket_ranges() {
        assert_eq!(
            merge_spans(vec![(25, 31), (5, 9), (12, 14), (70, 70)], 10),
            [(0, 30), (70, 70)]
        );
        assert!(merge_spans(Vec::new(), 10).is_empty());
    }
}
