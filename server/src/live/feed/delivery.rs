//! Sending to a feed's members: snapshots, deltas and errors, members that fell behind, and
//! joins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::failure::as_api_error;
use app::live::{Cursor, LiveData, LiveQuery, SubscriptionId};
use app::query::ResultSeries;
use serde::Serialize;
use tokio::sync::mpsc;

use super::member::Member;
use super::state::{Feed, Written};
use crate::live::outbox::{Outgoing, OutgoingKind};

/// The shared part of a snapshot or delta message: everything after the subscription id.
#[derive(Serialize)]
struct SnapshotBody<'a> {
    at: &'a Cursor,
    data: &'a LiveData,
}

#[derive(Serialize)]
pub(super) struct DeltaBody<'a> {
    pub(super) from: &'a Cursor,
    pub(super) to: &'a Cursor,
    pub(super) data: &'a LiveData,
}

impl Feed {
    /// Ends every member's subscription with `reason`.
    pub(super) fn fail(&mut self, reason: &str) {
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

    /// The whole state; or with `newer_than`, the values changed after that cursor, plus
    /// the buckets in `spans` and the series in `written` (what the log says was written).
    pub(super) fn data(&self, newer_than: Option<&Cursor>, written: &Written) -> LiveData {
        let newer = |version: &Cursor| newer_than.is_none_or(|cursor| !cursor.covers(version));
        match &self.query {
            LiveQuery::Latest { .. } => LiveData::Latest {
                values: self
                    .state
                    .latest
                    .iter()
                    .filter(|(key, (_, version))| {
                        newer(version.as_ref()) || written.series.contains(*key)
                    })
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
                                newer(version.as_ref())
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
            at: &self.position,
            data: &self.data(None, &Written::default()),
        })
    }

    /// Sends `body` as a delta to every member that keeps up; notes those whose queue is full.
    pub(super) fn deliver(&mut self, body: &Arc<str>) {
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
    pub(super) fn catch_up_members(&mut self) {
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
                self.shared.slow_client_closed();
            } else {
                self.members.push(member);
            }
        }
    }

    /// Adds a member: a snapshot, or exactly what it missed after `after`. Pending changes
    /// were flushed just before ([`Self::join_all`]).
    pub(super) async fn join(
        &mut self,
        mut member: Member,
        after: Option<Cursor>,
    ) -> Result<(), String> {
        let after = self.issued(after).await?;
        let missed = match &after {
            Some(after) => self.catch_up(after).await.map_err(|error| {
                tracing::warn!(%error, query = %self.key, "catching a member up failed");
                as_api_error(&error).to_string()
            })?,
            None => None,
        };
        let message = match (after, missed) {
            (Some(after), Some(data)) => {
                let body = serialize(&DeltaBody {
                    from: &after,
                    to: &self.position.join(&after),
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
}

pub(super) fn serialize(body: &impl Serialize) -> Arc<str> {
    Arc::from(serde_json::to_string(body).unwrap_or_else(|_| "{}".into()))
}
