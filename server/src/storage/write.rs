//! The write path: samples checked, grouped by series, and written with their rollups,
//! current values and change notices in one script call per group of series.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::model::{MetricKind, Observation, Observed, SeriesKey};

use super::admission::SeriesGroup;
use super::error::StorageError;
use super::keys::SeriesId;
use super::slots::Batch;
use super::store::Store;
use super::{admission, changes, fold, keys};
use redis::cluster_routing::Slot;

/// Series written by one script call. A call costs Redis a few microseconds before any work,
/// so several series share one (docs/benchmarks.md); each call still runs atomically and
/// briefly. (On a Redis Cluster a call only holds series of one slot.)
const SERIES_PER_CALL: usize = 50;

/// The idempotency token of a request: a hash of the `Idempotency-Key` its client sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token(String);

/// The token of idempotency key `key`.
#[must_use]
pub fn idempotency_token(key: &str) -> Token {
    Token(keys::hex(&blake3::hash(key.as_bytes()).as_bytes()[..16]))
}

/// How long a write waits for its replicas (`LIVEDASH_REDIS_WAIT_REPLICAS`).
const WAIT_REPLICAS_MS: u64 = 1_000;

/// What a write did.
#[derive(Debug, Default, PartialEq)]
pub struct WriteOutcome {
    /// How many observations were stored.
    pub stored: usize,
    /// Observations refused by storage (a kind that differs from the series' kind, or a new
    /// series beyond a [`SeriesLimits`] cap), by their index in the input, with the reason.
    pub refused: Vec<(usize, String)>,
}

impl Store {
    /// Stores observations now, as one batch: raw points, every rollup tier, current values and
    /// counter totals, in one pipeline of write script calls of [`SERIES_PER_CALL`] series each
    /// (all keys of a series share a slot; plain values are folded first, see [`fold`]), then
    /// appends a [`changes::Notice`] of what changed to the change log and publishes it. When
    /// this returns `Ok`, Redis has accepted every observation not listed in
    /// [`WriteOutcome::refused`]. Request handlers write through [`writer::Writer`], which
    /// combines concurrent requests into one such call. Each observation is an item of its own
    /// (see [`Store::write_items_now`]).
    ///
    /// # Errors
    /// Redis is unreachable or failed; the caller must not acknowledge the batch.
    pub async fn write_now(
        &self,
        observations: &[Observation],
    ) -> Result<WriteOutcome, StorageError> {
        let items: Vec<usize> = (0..observations.len()).collect();
        self.write_items_now(observations, &items).await
    }

    /// [`Store::write_now`], where `items[i]` names the item `observations[i]` belongs to (an
    /// index below `observations.len()`; an event's two observations, the fields of a line):
    /// an item is stored whole or refused whole, each of its observations then listed in
    /// [`WriteOutcome::refused`] with the reason.
    ///
    /// # Errors
    /// Redis is unreachable or failed; the caller must not acknowledge the batch.
    ///
    /// # Panics
    /// `items` is not as long as `observations`, or names an item past its end.
    pub async fn write_items_now(
        &self,
        observations: &[Observation],
        items: &[usize],
    ) -> Result<WriteOutcome, StorageError> {
        self.write_keyed_now(observations, items, &vec![None; observations.len()])
            .await
    }

    /// [`Store::write_items_now`], where `tokens[i]` is the idempotency token of the request
    /// `observations[i]` came with ([`idempotency_token`]): a series whose points of a token
    /// were stored in the last [`keys::IDEMPOTENCY_MS`] is skipped (and counted as stored), so a
    /// request repeated after a failure stores each of its points once.
    ///
    /// # Errors
    /// As [`Store::write_items_now`].
    ///
    /// # Panics
    /// As [`Store::write_items_now`], or `tokens` is not as long as `observations`.
    pub async fn write_keyed_now(
        &self,
        observations: &[Observation],
        items: &[usize],
        tokens: &[Option<Token>],
    ) -> Result<WriteOutcome, StorageError> {
        assert_eq!(tokens.len(), observations.len(), "a token per observation");
        assert!(
            items.len() == observations.len() && items.iter().all(|&item| item < items.len()),
            "one item index below the batch's length per observation"
        );
        if observations.is_empty() {
            return Ok(WriteOutcome::default());
        }
        // Group by series and kind, keeping each group's points in arrival order. Hashing, not
        // ordering: a group commit holds tens of thousands of observations (foldhash: fast, and
        // seeded per process, so crafted series names cannot make it degenerate).
        // A series' points of different requests with idempotency tokens are groups of their own.
        let mut group_of: HashMap<
            (&SeriesKey, MetricKind, Option<&Token>),
            usize,
            foldhash::fast::RandomState,
        > = HashMap::default();
        let mut grouped: Vec<((&SeriesKey, MetricKind), Vec<usize>)> = Vec::new();
        for (index, observation) in observations.iter().enumerate() {
            let key = (
                &observation.series,
                observation.kind,
                tokens[index].as_ref(),
            );
            let group = *group_of.entry(key).or_insert_with(|| {
                grouped.push(((key.0, key.1), Vec::new()));
                grouped.len() - 1
            });
            grouped[group].1.push(index);
        }
        let now = app::clock::now_ms();
        let mut groups: Vec<SeriesGroup<'_>> = grouped
            .into_iter()
            .map(|(group, indices)| (group, SeriesId::of(group.0), indices))
            .collect();
        let mut outcome = WriteOutcome::default();
        let unregistered = self.unregistered(&groups);
        let refused = self
            .refused_items(observations, items, &groups, &unregistered)
            .await?;
        let unregistered: Vec<(&SeriesKey, SeriesId)> = if refused.is_empty() {
            unregistered
                .iter()
                .map(|&group| (groups[group].0.0, groups[group].1.clone()))
                .collect()
        } else {
            for (index, item) in items.iter().enumerate() {
                if let Some(reason) = refused.get(item) {
                    outcome.refused.push((index, reason.clone()));
                }
            }
            let unregistered: HashSet<SeriesId> = unregistered
                .iter()
                .map(|&group| groups[group].1.clone())
                .collect();
            for (_, _, indices) in &mut groups {
                indices.retain(|index| !refused.contains_key(&items[*index]));
            }
            groups.retain(|(_, _, indices)| !indices.is_empty());
            if groups.is_empty() {
                return Ok(outcome);
            }
            let mut seen = HashSet::new();
            groups
                .iter()
                .filter(|(_, id, _)| unregistered.contains(id) && seen.insert(id))
                .map(|((series, _), id, _)| (*series, id.clone()))
                .collect()
        };

        let connection = self.connection();
        let calls = self.calls(&groups, connection.is_cluster());
        let mut batch = Batch::new(&connection);
        for call in &calls {
            self.push_write(&mut batch, now, call, observations, tokens);
        }
        self.push_registration(&mut batch, &unregistered);
        let mut replies = batch.send_each(&connection).await;
        if needs_script_load(&replies) {
            // Redis restarted (or flushed its script cache) since the script was loaded.
            self.write_script
                .load_async(&mut connection.clone())
                .await?;
            replies = batch.send_each(&connection).await;
        }
        // On a cluster some slots may have failed while others stored their part: those parts
        // are announced to live viewers all the same, and the batch fails (a repeat with an
        // idempotency key stores the rest once).
        let mut failure = None;
        let replies: Vec<redis::Value> = replies
            .into_iter()
            .map(|reply| {
                reply.unwrap_or_else(|error| {
                    failure.get_or_insert(error);
                    redis::Value::Nil
                })
            })
            .collect();
        if failure.is_none() && self.wait_replicas > 0 {
            self.wait_for_replicas(&connection).await?;
        }
        let mut notice = changes::Notice::default();
        // The kind each written series has now, for `remember`.
        let mut kinds: HashMap<&SeriesId, MetricKind> = HashMap::with_capacity(groups.len());
        for (call, reply) in calls.iter().zip(&replies) {
            let per_series = match reply {
                redis::Value::ServerError(error) => {
                    return Err(StorageError::Redis(error.clone().into()));
                }
                redis::Value::Array(per_series) if per_series.len() == call.len() => per_series,
                redis::Value::Nil if failure.is_some() => continue,
                other => {
                    return Err(StorageError::Corrupt {
                        key: self.keys.meta(&call[0].1),
                        reason: format!("write script answered {other:?}"),
                    });
                }
            };
            for (((series, kind), id, indices), reply) in call.iter().zip(per_series) {
                let parts = match reply {
                    redis::Value::Array(parts) => parts.as_slice(),
                    _ => &[],
                };
                let status = parts
                    .first()
                    .and_then(|status| redis::from_redis_value_ref::<i64>(status).ok());
                match (status, parts) {
                    (Some(2), [_, stored_kind]) => {
                        let stored_kind = redis::from_redis_value_ref::<String>(stored_kind)
                            .unwrap_or_else(|_| "different kind".to_owned());
                        if let Some(stored) = admission::kind_named(&stored_kind) {
                            kinds.insert(id, stored);
                        }
                        let reason = admission::kind_refusal(series, &stored_kind, *kind);
                        outcome
                            .refused
                            .extend(indices.iter().map(|&i| (i, reason.clone())));
                    }
                    (Some(3), _) => {
                        // Stored by an earlier request with the same idempotency key.
                        kinds.insert(id, *kind);
                        outcome.stored += indices.len();
                    }
                    (Some(0 | 1), _) => {
                        kinds.insert(id, *kind);
                        outcome.stored += indices.len();
                        let (from, to) =
                            indices.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &i| {
                                let ts = observations[i].ts;
                                (lo.min(ts), hi.max(ts))
                            });
                        let mut changed = changes::Changed {
                            id: id.as_str().to_owned(),
                            from,
                            to,
                            current: None,
                            kind: None,
                            span: changes::value_span(
                                indices.iter().map(|&i| &observations[i].value),
                            ),
                        };
                        if let [_, value, ts] = parts
                            && let (Ok(value), Ok(ts)) = (
                                redis::from_redis_value_ref::<String>(value),
                                redis::from_redis_value_ref::<i64>(ts),
                            )
                            && let Ok(value) = value.parse::<f64>()
                        {
                            changed.current = Some((value, ts));
                            changed.kind = Some(*kind);
                        }
                        notice.series.push(changed);
                    }
                    _ => {
                        return Err(StorageError::Corrupt {
                            key: self.keys.meta(id),
                            reason: format!("write script answered {reply:?}"),
                        });
                    }
                }
            }
        }
        // Registration replies come after the scripts; any error among them fails the batch.
        for reply in &replies[calls.len()..] {
            if let redis::Value::ServerError(error) = reply {
                return Err(StorageError::Redis(error.clone().into()));
            }
        }
        if failure.is_none() {
            let learned: Vec<(SeriesId, MetricKind)> = unregistered
                .into_iter()
                .filter_map(|(_, id)| Some((id.clone(), *kinds.get(&id)?)))
                .collect();
            self.remember(learned);
        }
        outcome.refused.sort_by_key(|(index, _)| *index);

        if !notice.series.is_empty() {
            self.publish(&notice, now).await?;
        }
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(outcome),
        }
    }

    /// Waits until `wait_replicas` replicas of every master hold what this process wrote (on a
    /// cluster, `WAIT` goes to every master); a write they do not hold within a second is not
    /// acknowledged.
    async fn wait_for_replicas(
        &self,
        connection: &super::connection::Connection,
    ) -> Result<(), StorageError> {
        let held: i64 = redis::cmd("WAIT")
            .arg(self.wait_replicas)
            .arg(WAIT_REPLICAS_MS)
            .query_async(&mut connection.clone())
            .await?;
        if held < i64::from(self.wait_replicas) {
            return Err(StorageError::Unreplicated {
                replicas: held,
                wanted: self.wait_replicas,
            });
        }
        Ok(())
    }

    /// The groups of each write script call: at most [`SERIES_PER_CALL`] series, all of one
    /// hash slot on a Redis Cluster (a call's keys must share a slot there; with many series
    /// that is about one series a call).
    fn calls<'s, 'a>(
        &self,
        groups: &'s [SeriesGroup<'a>],
        cluster: bool,
    ) -> Vec<Vec<&'s SeriesGroup<'a>>> {
        if !cluster {
            return groups
                .chunks(SERIES_PER_CALL)
                .map(|call| call.iter().collect())
                .collect();
        }
        let mut by_slot: HashMap<Slot, Vec<&SeriesGroup<'a>>> = HashMap::new();
        for group in groups {
            by_slot
                .entry(Slot::for_key(self.keys.meta(&group.1)))
                .or_default()
                .push(group);
        }
        by_slot
            .into_values()
            .flat_map(|slot| {
                slot.chunks(SERIES_PER_CALL)
                    .map(<[_]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Adds one write script call for `series` (groups of observations, by index; all in one
    /// slot).
    pub(super) fn push_write(
        &self,
        batch: &mut Batch,
        now: i64,
        series: &[&SeriesGroup<'_>],
        observations: &[Observation],
        tokens: &[Option<Token>],
    ) {
        let command = batch
            .routed_by("EVALSHA", &self.keys.meta(&series[0].1))
            .arg(self.write_script.get_hash())
            .arg(series.len());
        for (_, id, _) in series {
            command.arg(self.keys.meta(id));
        }
        command.arg(now);
        for ((_, kind), id, indices) in series {
            command.arg(self.keys.series_base(id)).arg(kind.as_str());
            let token = tokens[indices[0]]
                .as_ref()
                .map_or("", |token| token.0.as_str());
            let points = || indices.iter().map(|&i| &observations[i]);
            let plain: Option<Vec<(i64, f64)>> =
                matches!(kind, MetricKind::Gauge | MetricKind::Counter)
                    .then(|| {
                        points()
                            .map(|point| match point.value {
                                Observed::Number(value) => Some((point.ts, value)),
                                _ => None,
                            })
                            .collect()
                    })
                    .flatten();
            if let Some(plain) = plain {
                let folded = fold::fold(*kind, &plain, now, self.retention);
                command
                    .arg("f")
                    .arg(token)
                    .arg(3 + 4 * folded.raw.len() + folded.tiers.len())
                    .arg(folded.newest_ts)
                    .arg(folded.value.to_string())
                    .arg(folded.raw.len());
                for (chunk, records) in &folded.raw {
                    command
                        .arg(self.keys.raw_chunk(id, *chunk))
                        .arg(self.keys.raw_chunk(id, chunk - 1))
                        .arg((chunk + 1) * keys::RAW_CHUNK_MS + self.retention.raw_ms)
                        .arg(records.as_slice());
                }
                for records in &folded.tiers {
                    command.arg(records.as_slice());
                }
                continue;
            }
            command.arg("p").arg(token).arg(2 * indices.len());
            for point in points() {
                command.arg(point.ts);
                match &point.value {
                    Observed::Number(value) => command.arg(value.to_string()),
                    // The script applies a change to the current value, in arrival order.
                    Observed::Change(change) => command.arg(format!("d{change}")),
                    Observed::Member(member) => command.arg(member.as_str()),
                };
            }
        }
    }

    /// The groups whose series this process has not written yet (the first group of each).
    pub(super) fn unregistered(&self, groups: &[SeriesGroup<'_>]) -> Vec<usize> {
        let registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = HashSet::new();
        groups
            .iter()
            .enumerate()
            .filter(|(_, (_, id, _))| !registered.contains_key(id) && seen.insert(id))
            .map(|(group, _)| group)
            .collect()
    }

    /// The kind of each of `ids` as this process wrote it, if it did.
    pub(super) fn known_kinds<'a>(
        &self,
        ids: impl Iterator<Item = &'a SeriesId>,
    ) -> Vec<Option<MetricKind>> {
        let registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        ids.map(|id| registered.get(id).copied()).collect()
    }

    pub(super) fn remember(&self, series: Vec<(SeriesId, MetricKind)>) {
        let mut registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        registered.extend(series);
    }

    pub(super) fn push_registration(&self, batch: &mut Batch, series: &[(&SeriesKey, SeriesId)]) {
        if series.is_empty() {
            return;
        }
        let catalog = batch.cmd("HSET", &self.keys.catalog());
        for (key, id) in series {
            catalog
                .arg(id.as_str())
                .arg(serde_json::to_string(key).unwrap_or_default());
        }
        let names = batch.cmd("ZADD", &self.keys.names());
        for (key, _) in series {
            names.arg(0).arg(&key.name);
        }
        let mut by_name: BTreeMap<&str, Vec<&SeriesId>> = BTreeMap::new();
        for (key, id) in series {
            by_name.entry(&key.name).or_default().push(id);
        }
        for (name, ids) in by_name {
            let add = batch.cmd("SADD", &self.keys.name_index(name));
            for id in ids {
                add.arg(id.as_str());
            }
        }
    }
}

fn needs_script_load(replies: &[Result<redis::Value, redis::RedisError>]) -> bool {
    replies.iter().any(
        |reply| matches!(reply, Ok(redis::Value::ServerError(error)) if error.code() == "NOSCRIPT"),
    )
}
