//! A feed's task: its loop of commands and frames, joins between frames, and the flush that
//! applies the pending changes and sends one delta.

use std::sync::Arc;
use std::time::Duration;

use crate::failure::as_api_error;
use app::live::Cursor;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant as TokioInstant;

use super::command::Command;
use super::delivery::{DeltaBody, serialize};
use super::member::Member;
use super::state::Feed;
use crate::storage::query::QueryError;

/// How long a feed without members keeps its state, so a reloaded page finds it warm.
const LINGER: Duration = Duration::from_secs(15);
/// How long a feed waits before reading again after storage failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Most joins handled after one read of the pending changes.
const MAX_JOINS_AT_ONCE: usize = 1_024;

/// A subscription waiting to join, its cursor, and where its answer goes.
type Joining = (Member, Option<Cursor>, oneshot::Sender<Result<(), String>>);

impl Feed {
    pub(super) async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let frame = Duration::from_millis(self.config.frame_ms.unsigned_abs());
        if let Err(error) = self.load().await {
            tracing::warn!(%error, query = %self.key, "live query could not start");
            self.end(&mut inbox, Some(&as_api_error(&error).to_string()));
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
                () = self.shared.shutdown().cancelled() => return,
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
            Command::Changed { stamp, changes } => self.note(stamp, &changes),
            Command::Refresh { cursor } => {
                let pending = self.pending.cursor.take();
                let base = pending.unwrap_or_else(|| self.position.clone());
                self.pending.cursor = Some(base.join(&cursor));
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

    /// Applies the pending changes and sends one delta to every member that keeps up. When
    /// the query cannot go on (its series no longer fit it: a kind that does not match, or too
    /// many), notes why in `failed`; storage failures are retried instead.
    async fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        // A re-read alone (the first subscription's) starts a frame only if it sends a delta,
        // so that it does not hold back the next lone update; written changes always do, which
        // bounds how often a feed reads storage.
        let wrote = pending.span.is_some() || pending.new_series || !pending.values.is_empty();
        if wrote {
            self.last_flush = Some(TokioInstant::now());
        }
        if let Some(cursor) = pending.cursor.clone() {
            let version = self.position.join(&cursor);
            match self.apply(pending, Arc::new(version.clone())).await {
                Ok(data) => {
                    self.position = version;
                    if let Some(data) = data {
                        let body = serialize(&DeltaBody {
                            from: &self.sent,
                            to: &self.position,
                            data: &data,
                        });
                        self.sent = self.position.clone();
                        self.deliver(&body);
                        self.last_flush = Some(TokioInstant::now());
                    }
                }
                Err(error) if !matches!(error, QueryError::Storage(_)) => {
                    self.failed = Some(as_api_error(&error).to_string());
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
}

async fn sleep_until(deadline: Option<TokioInstant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
