//! All Redis access: writing samples (raw points, rollups, current values), reading them back
//! for queries and listings, and checking that Redis is there.

pub mod access;
mod admission;
pub mod catalog;
pub mod changes;
mod connection;
pub mod dashboards;
pub mod events;
mod fold;
pub mod keys;
pub mod plan;
pub mod query;
pub mod shares;
pub mod sketch;
pub mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::{ApiError, MAX_LISTED_SERIES, ValueListing, backend::Backend, backend::BoxFuture};
use app::model::{CurrentValue, MetricKind, Observation, Observed, SeriesKey};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{Retention, TIERS};
use crate::routes;
use app::dashboard::{
    CreatedShareLink, Dashboard, DashboardSummary, SaveOutcome, ShareLink, VersionInfo,
};
use dashboards::DashboardError;
pub use keys::{Keys, SeriesId};

/// The write script's body; see the file for its contract, and [`write_script`].
const WRITE_LUA: &str = include_str!("write.lua");

/// Series written by one script call. A call costs Redis a few microseconds before any work,
/// so several series share one (docs/benchmarks.md); each call still runs atomically and
/// briefly. (In Redis Cluster a call may only hold series of one slot.)
const SERIES_PER_CALL: usize = 50;

/// One series' observations in a write: (series, kind), its id, their indices.
type SeriesGroup<'a> = ((&'a SeriesKey, MetricKind), SeriesId, Vec<usize>);

/// How many catalog entries one `HSCAN` step asks for.
const CATALOG_SCAN_COUNT: usize = 1000;

/// What the storage layer can fail with.
#[derive(thiserror::Error, Debug, Clone)]
pub enum StorageError {
    /// Redis refused or did not answer.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered with something livedash did not write.
    #[error("unexpected data under {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The group-commit task is gone (the server is shutting down).
    #[error("the storage writer has stopped")]
    WriterStopped,
}

impl StorageError {
    /// Whether the error means Redis is unreachable (as opposed to a bad answer).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Redis(error) => {
                error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || error.is_timeout()
                    || matches!(
                        error.kind(),
                        redis::ErrorKind::Server(
                            redis::ServerErrorKind::BusyLoading
                                | redis::ServerErrorKind::TryAgain
                                | redis::ServerErrorKind::MasterDown
                        )
                    )
            }
            Self::Corrupt { .. } => false,
            Self::WriterStopped => true,
        }
    }
}

/// Largest magnitude of a value livedash stores. Sums of any realistic number of such values
/// (a counter's running total, a bucket's sum, a sum across series) stay far below `f64::MAX`,
/// so no aggregate of finite inputs becomes infinite. Ingest refuses larger values (rather than
/// clamping them, so that what is stored is what was sent), and [`Store::write_now`] refuses
/// any that reach it another way.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// What a write did.
#[derive(Debug, Default, PartialEq)]
pub struct WriteOutcome {
    /// How many observations were stored.
    pub stored: usize,
    /// Observations refused by storage (a kind that differs from the series' kind, or a new
    /// series beyond a [`SeriesLimits`] cap), by their index in the input, with the reason.
    pub refused: Vec<(usize, String)>,
}

/// Cardinality caps; `None` means no cap. Checked when a series is first written; across
/// several processes writing new series at the same moment, a cap may be passed by a batch.
/// Series count until they are deleted, not when their data expires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Most series in all.
    pub total: Option<usize>,
    /// Most series per metric name.
    pub per_metric: Option<usize>,
}

/// The Redis repository: one multiplexed, self-reconnecting connection shared by all requests.
#[derive(Clone)]
pub struct Store {
    connection: connection::Connection,
    keys: Arc<Keys>,
    retention: Retention,
    write_script: Arc<redis::Script>,
    /// Series this process has already put in the catalog and name index, with their kind,
    /// so that steady ingest does not rewrite them with every batch, nor read their kind
    /// before writing an item of several series (a series' kind never changes). Losing it
    /// only costs a rewrite.
    registered: Arc<Mutex<HashMap<SeriesId, MetricKind>>>,
    append_script: Arc<redis::Script>,
    read_script: Arc<redis::Script>,
    /// How long the change log keeps entries, so reconnecting clients can resume.
    resume_window_ms: i64,
    /// Analytics settings and the funnel lock.
    events: events::EventState,
    /// When each API token's use was last written down.
    usage: Arc<access::UsageClock>,
    series_limits: SeriesLimits,
    query_limits: plan::QueryLimits,
}

/// How long the change log keeps entries unless configured otherwise.
pub const DEFAULT_RESUME_WINDOW_MS: i64 = 5 * 60_000;

impl Store {
    /// Builds a store on `client`. The connection is made lazily and re-made after failures,
    /// so a Redis that is down at start-up or later only fails the requests made meanwhile.
    ///
    /// # Errors
    /// The client's configuration is unusable.
    pub fn new(
        client: redis::Client,
        keys: Keys,
        retention: Retention,
    ) -> Result<Self, StorageError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        let (append_script, read_script) = changes::scripts();
        Ok(Self {
            append_script: Arc::new(append_script),
            read_script: Arc::new(read_script),
            resume_window_ms: DEFAULT_RESUME_WINDOW_MS,
            connection: connection::Connection {
                manager,
                home: None,
            },
            keys: Arc::new(keys),
            retention,
            write_script: Arc::new(redis::Script::new(&write_script(retention))),
            registered: Arc::new(Mutex::new(HashMap::new())),
            events: events::EventState::default(),
            usage: Arc::new(access::UsageClock::default()),
            series_limits: SeriesLimits::default(),
            query_limits: plan::QueryLimits::default(),
        })
    }

    /// The same store, making its requests on `home` wherever it is used (see
    /// the `connection` module): for code on another runtime.
    #[must_use]
    pub fn making_requests_on(&self, home: tokio::runtime::Handle) -> Self {
        let mut store = self.clone();
        store.connection.home = Some(home);
        store
    }

    /// Keeps analytics events as `settings` say (ranked properties, raw log retention).
    #[must_use]
    pub fn with_event_settings(mut self, settings: events::EventSettings) -> Self {
        self.events = events::EventState::new(settings);
        self
    }

    /// Keeps change-log entries for `window_ms` (how long a disconnected client can resume).
    #[must_use]
    pub fn with_resume_window(mut self, window_ms: i64) -> Self {
        self.resume_window_ms = window_ms;
        self
    }

    /// Refuses samples that would create series beyond `limits`.
    #[must_use]
    pub fn with_series_limits(mut self, limits: SeriesLimits) -> Self {
        self.series_limits = limits;
        self
    }

    /// Refuses queries that would read or hold more than `limits`.
    #[must_use]
    pub fn with_query_limits(mut self, limits: plan::QueryLimits) -> Self {
        self.query_limits = limits;
        self
    }

    /// How much one query may read and hold.
    #[must_use]
    pub fn query_limits(&self) -> plan::QueryLimits {
        self.query_limits
    }

    /// The key builder this store uses.
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The retention this store enforces.
    #[must_use]
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// A connection handle (cheap clone of the shared multiplexed connection).
    pub(crate) fn connection(&self) -> connection::Connection {
        self.connection.clone()
    }

    /// Round-trip time of a `PING`.
    ///
    /// # Errors
    /// Redis is unreachable or answered with an error.
    pub async fn ping(&self) -> Result<Duration, StorageError> {
        let started = Instant::now();
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(started.elapsed())
    }

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
        let mut group_of: HashMap<(&SeriesKey, MetricKind), usize, foldhash::fast::RandomState> =
            HashMap::default();
        let mut grouped: Vec<((&SeriesKey, MetricKind), Vec<usize>)> = Vec::new();
        for (index, observation) in observations.iter().enumerate() {
            let key = (&observation.series, observation.kind);
            let group = *group_of.entry(key).or_insert_with(|| {
                grouped.push((key, Vec::new()));
                grouped.len() - 1
            });
            grouped[group].1.push(index);
        }
        let now = crate::routes::now_ms();
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

        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        let calls: Vec<_> = groups.chunks(SERIES_PER_CALL).collect();
        for call in &calls {
            self.push_write(&mut pipe, now, call, observations);
        }
        self.push_registration(&mut pipe, &unregistered);

        let mut connection = self.connection.clone();
        let replies: Vec<redis::Value> =
            match pipe.query_async::<Vec<redis::Value>>(&mut connection).await {
                Ok(replies) if !needs_script_load(&replies) => replies,
                Ok(_) => {
                    // Redis restarted (or flushed its script cache) since the script was loaded.
                    self.write_script.load_async(&mut connection).await?;
                    pipe.query_async(&mut connection).await?
                }
                Err(error) => return Err(error.into()),
            };

        let mut notice = changes::Notice::default();
        // The kind each written series has now, for `remember`.
        let mut kinds: HashMap<&SeriesId, MetricKind> = HashMap::with_capacity(groups.len());
        for (call, reply) in calls.iter().zip(&replies) {
            let per_series = match reply {
                redis::Value::ServerError(error) => {
                    return Err(StorageError::Redis(error.clone().into()));
                }
                redis::Value::Array(per_series) if per_series.len() == call.len() => per_series,
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
        let learned: Vec<(SeriesId, MetricKind)> = unregistered
            .into_iter()
            .filter_map(|(_, id)| Some((id.clone(), *kinds.get(&id)?)))
            .collect();
        self.remember(learned);
        outcome.refused.sort_by_key(|(index, _)| *index);

        if !notice.series.is_empty() {
            self.publish(&notice, now).await?;
        }
        Ok(outcome)
    }

    /// Adds one write script call for `series` (groups of observations, by index).
    fn push_write(
        &self,
        pipe: &mut redis::Pipeline,
        now: i64,
        series: &[SeriesGroup<'_>],
        observations: &[Observation],
    ) {
        let command = pipe
            .cmd("EVALSHA")
            .arg(self.write_script.get_hash())
            .arg(series.len());
        for (_, id, _) in series {
            command.arg(self.keys.meta(id));
        }
        command.arg(now);
        for ((_, kind), id, indices) in series {
            command.arg(self.keys.series_base(id)).arg(kind.as_str());
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
            command.arg("p").arg(2 * indices.len());
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
    fn unregistered(&self, groups: &[SeriesGroup<'_>]) -> Vec<usize> {
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
    fn known_kinds<'a>(&self, ids: impl Iterator<Item = &'a SeriesId>) -> Vec<Option<MetricKind>> {
        let registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        ids.map(|id| registered.get(id).copied()).collect()
    }

    fn remember(&self, series: Vec<(SeriesId, MetricKind)>) {
        let mut registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        registered.extend(series);
    }

    fn push_registration(&self, pipe: &mut redis::Pipeline, series: &[(&SeriesKey, SeriesId)]) {
        if series.is_empty() {
            return;
        }
        let catalog = pipe.cmd("HSET").arg(self.keys.catalog());
        for (key, id) in series {
            catalog
                .arg(id.as_str())
                .arg(serde_json::to_string(key).unwrap_or_default());
        }
        let names = pipe.cmd("ZADD").arg(self.keys.names());
        for (key, _) in series {
            names.arg(0).arg(&key.name);
        }
        let mut by_name: BTreeMap<&str, Vec<&SeriesId>> = BTreeMap::new();
        for (key, id) in series {
            by_name.entry(&key.name).or_default().push(id);
        }
        for (name, ids) in by_name {
            let add = pipe.cmd("SADD").arg(self.keys.name_index(name));
            for id in ids {
                add.arg(id.as_str());
            }
        }
    }

    /// The catalog entries of `ids` (series that are not in the catalog are left out).
    ///
    /// # Errors
    /// Redis failed, or holds a catalog entry livedash did not write.
    pub async fn series_of(
        &self,
        ids: &[SeriesId],
    ) -> Result<Vec<(SeriesId, SeriesKey)>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HMGET");
        command.arg(self.keys.catalog());
        for id in ids {
            command.arg(id.as_str());
        }
        let entries: Vec<Option<String>> = command.query_async(&mut connection).await?;
        let mut found = Vec::with_capacity(ids.len());
        for (id, entry) in ids.iter().zip(entries) {
            if let Some(json) = entry {
                found.push((id.clone(), self.parse_catalog_entry(id.as_str(), &json)?));
            }
        }
        Ok(found)
    }

    fn parse_catalog_entry(&self, id: &str, json: &str) -> Result<SeriesKey, StorageError> {
        serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
            key: format!("{} field {id}", self.keys.catalog()),
            reason: error.to_string(),
        })
    }

    /// The ids of every series of metric `name`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn ids_of_name(&self, name: &str) -> Result<Vec<SeriesId>, StorageError> {
        let mut connection = self.connection.clone();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.name_index(name))
            .query_async(&mut connection)
            .await?;
        Ok(ids.into_iter().map(SeriesId::from_stored).collect())
    }

    /// The current value of every series that has one, sorted by series, at most
    /// [`MAX_LISTED_SERIES`].
    ///
    /// # Errors
    /// Redis is unreachable, or holds catalog entries livedash did not write.
    pub async fn current_values(&self) -> Result<ValueListing, StorageError> {
        let mut connection = self.connection.clone();
        let catalog_key = self.keys.catalog();
        let mut series: Vec<(SeriesId, SeriesKey)> = Vec::new();
        let mut cursor: u64 = 0;
        let mut truncated = false;
        loop {
            let (next, entries): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                .arg(&catalog_key)
                .arg(cursor)
                .arg("COUNT")
                .arg(CATALOG_SCAN_COUNT)
                .query_async(&mut connection)
                .await?;
            for (id, json) in entries {
                let key = self.parse_catalog_entry(&id, &json)?;
                series.push((SeriesId::from_stored(id), key));
            }
            cursor = next;
            if series.len() > MAX_LISTED_SERIES {
                truncated = true;
                break;
            }
            if cursor == 0 {
                break;
            }
        }
        // HSCAN may return an entry twice; the catalog is the set of distinct ids.
        series.sort();
        series.dedup_by(|a, b| a.0 == b.0);
        series.sort_by(|a, b| a.1.cmp(&b.1));
        series.truncate(MAX_LISTED_SERIES);

        let mut pipe = redis::pipe();
        for (id, _) in &series {
            pipe.cmd("HMGET")
                .arg(self.keys.meta(id))
                .arg("ts")
                .arg("v")
                .arg("kind");
        }
        let stored: Vec<(Option<i64>, Option<String>, Option<String>)> = if series.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut connection).await?
        };
        // A set has no single latest value: it lists its distinct members of the last minutes.
        let now = routes::now_ms();
        let recent_minutes: Vec<i64> = (0..app::model::SET_LISTING_MINUTES)
            .map(|back| now - now.rem_euclid(60_000) - back * 60_000)
            .collect();
        let mut distinct = redis::pipe();
        let mut sets = 0;
        for ((id, _), (_, _, kind)) in series.iter().zip(&stored) {
            if kind.as_deref() == Some(MetricKind::Set.as_str()) {
                distinct.cmd("PFCOUNT").arg(
                    recent_minutes
                        .iter()
                        .map(|start| self.keys.set_bucket(id, "1m", *start))
                        .collect::<Vec<_>>(),
                );
                sets += 1;
            }
        }
        let mut distinct: std::vec::IntoIter<u64> = if sets == 0 {
            Vec::new().into_iter()
        } else {
            distinct
                .query_async::<Vec<u64>>(&mut connection)
                .await?
                .into_iter()
        };
        let mut values = Vec::with_capacity(series.len());
        for ((id, key), (ts, value, kind)) in series.into_iter().zip(stored) {
            let kind = kind.as_deref().and_then(MetricKind::parse);
            if kind == Some(MetricKind::Set) {
                let count = distinct.next().unwrap_or_default();
                values.push(CurrentValue {
                    series: key,
                    value: count as f64,
                    ts: now,
                    kind,
                });
                continue;
            }
            let (Some(ts), Some(value)) = (ts, value) else {
                continue;
            };
            let value = value
                .parse::<f64>()
                .map_err(|error| StorageError::Corrupt {
                    key: self.keys.meta(&id),
                    reason: format!("field v: {error}"),
                })?;
            values.push(CurrentValue {
                series: key,
                value,
                ts,
                kind,
            });
        }
        Ok(ValueListing { values, truncated })
    }
}

/// The write script with the configuration written in as constants, so that a call passes
/// only the series and its points (processes with the same configuration share the script).
fn write_script(retention: Retention) -> String {
    use std::fmt::Write as _;
    let mut script = format!(
        "local RAW_KEEP, RAW_CHUNK, LN_GAMMA, CHUNK_BUCKETS = {}, {}, {}, {}\nlocal TIERS = {{\n",
        retention.raw_ms,
        keys::RAW_CHUNK_MS,
        sketch::LN_GAMMA,
        keys::CHUNK_BUCKETS,
    );
    for ((name, width), keep) in TIERS.iter().zip(retention.tiers_ms) {
        let field = keys::open_bucket_field(name);
        let _ = writeln!(
            script,
            "  {{ name = '{name}', width = {width}, keep = {keep}, field = '{field}' }},"
        );
    }
    script.push_str("}\nlocal STATE_FIELDS = { 'kind', 'v', 'ts', 'total'");
    for (name, _) in TIERS {
        let _ = write!(script, ", '{}'", keys::open_bucket_field(name));
    }
    script.push_str(" }\n");
    script.push_str(WRITE_LUA);
    script
}

fn needs_script_load(replies: &[redis::Value]) -> bool {
    replies.iter().any(
        |reply| matches!(reply, redis::Value::ServerError(error) if error.code() == "NOSCRIPT"),
    )
}

/// How a storage failure reads to a browser: retry later (the caller logs the details).
impl From<StorageError> for ApiError {
    fn from(_: StorageError) -> Self {
        ApiError::Unavailable
    }
}

/// A query failure as a browser reads it: storage trouble is worth retrying, anything else
/// says what is wrong with the query.
impl From<query::QueryError> for ApiError {
    fn from(error: query::QueryError) -> Self {
        match error {
            query::QueryError::Storage(error) => error.into(),
            invalid => ApiError::Invalid(invalid.to_string()),
        }
    }
}

impl Backend for Store {
    fn current_values(&self) -> BoxFuture<'_, Result<ValueListing, ApiError>> {
        Box::pin(async move {
            Store::current_values(self)
                .await
                .inspect_err(|error| tracing::warn!(%error, "listing current values failed"))
                .map_err(ApiError::from)
        })
    }

    fn query(
        &self,
        query: app::query::Query,
    ) -> BoxFuture<'_, Result<app::query::QueryResult, ApiError>> {
        Box::pin(async move {
            Store::query(self, &query, crate::routes::now_ms())
                .await
                .inspect_err(|error| {
                    if let query::QueryError::Storage(error) = error {
                        tracing::warn!(%error, "query failed");
                    }
                })
                .map_err(ApiError::from)
        })
    }

    fn metric_names(&self, prefix: String) -> BoxFuture<'_, Result<Vec<String>, ApiError>> {
        Box::pin(async move {
            let page = Store::metric_names(self, &prefix, None, app::api::MAX_SUGGESTED_NAMES)
                .await
                .inspect_err(|error| tracing::warn!(%error, "listing metric names failed"))?;
            Ok(page.names)
        })
    }

    fn shared_dashboard(&self, token: String) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            dashboard_answer(Store::shared_dashboard(self, &token, crate::routes::now_ms()).await)
        })
    }

    fn list_dashboards(&self) -> BoxFuture<'_, Result<Vec<DashboardSummary>, ApiError>> {
        Box::pin(async move { dashboard_answer(Store::list_dashboards(self).await) })
    }

    fn dashboard(
        &self,
        id: String,
        version: Option<u64>,
    ) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            dashboard_answer(match version {
                Some(version) => self.dashboard_version(&id, version).await,
                None => Store::dashboard(self, &id).await,
            })
        })
    }

    fn dashboard_history(&self, id: String) -> BoxFuture<'_, Result<Vec<VersionInfo>, ApiError>> {
        Box::pin(async move { dashboard_answer(Store::dashboard_history(self, &id).await) })
    }

    fn create_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        Box::pin(async move {
            dashboard_answer(
                Store::create_dashboard(self, dashboard, &summary, &author, routes::now_ms()).await,
            )
        })
    }

    fn save_dashboard(
        &self,
        dashboard: Dashboard,
        summary: String,
        author: String,
    ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>> {
        Box::pin(async move {
            dashboard_answer(
                Store::save_dashboard(self, dashboard, &summary, &author, routes::now_ms()).await,
            )
        })
    }

    fn restore_dashboard(
        &self,
        id: String,
        version: u64,
        base: u64,
        author: String,
    ) -> BoxFuture<'_, Result<SaveOutcome, ApiError>> {
        Box::pin(async move {
            dashboard_answer(
                Store::restore_dashboard(self, &id, version, base, &author, routes::now_ms()).await,
            )
        })
    }

    fn delete_dashboard(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { dashboard_answer(Store::delete_dashboard(self, &id).await) })
    }

    fn create_share_link(
        &self,
        id: String,
        label: String,
        expires_in_ms: Option<i64>,
    ) -> BoxFuture<'_, Result<CreatedShareLink, ApiError>> {
        Box::pin(async move {
            dashboard_answer(
                Store::create_share_link(self, &id, &label, expires_in_ms, routes::now_ms()).await,
            )
        })
    }

    fn share_links(&self, id: String) -> BoxFuture<'_, Result<Vec<ShareLink>, ApiError>> {
        Box::pin(async move { dashboard_answer(Store::share_links(self, &id).await) })
    }

    fn analytics(
        &self,
        query: app::events::AnalyticsQuery,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsAnswer, ApiError>> {
        Box::pin(
            async move { analytics_answer(Store::analytics(self, query, routes::now_ms()).await) },
        )
    }

    fn shared_query(
        &self,
        token: String,
        query: app::query::Query,
    ) -> BoxFuture<'_, Result<app::query::QueryResult, ApiError>> {
        Box::pin(async move {
            let dashboard =
                dashboard_answer(Store::shared_dashboard(self, &token, routes::now_ms()).await)?;
            let shown = app::widget_data::shown_selectors(&dashboard).contains(&query.selector);
            if !shown {
                return Err(ApiError::Forbidden(
                    "this share link's dashboard does not show that".into(),
                ));
            }
            Backend::query(self, query).await
        })
    }

    fn shared_analytics(
        &self,
        token: String,
        query: app::events::AnalyticsQuery,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsAnswer, ApiError>> {
        Box::pin(async move {
            let now = routes::now_ms();
            let dashboard = dashboard_answer(Store::shared_dashboard(self, &token, now).await)?;
            if !app::widget_data::shows(&dashboard, &query) {
                return Err(ApiError::Forbidden(
                    "this share link's dashboard does not show that".into(),
                ));
            }
            analytics_answer(Store::analytics(self, query, now).await)
        })
    }

    fn tokens(&self) -> BoxFuture<'_, Result<Vec<app::auth::TokenInfo>, ApiError>> {
        Box::pin(async move { Ok(Store::tokens(self).await?) })
    }

    fn create_token(
        &self,
        role: app::auth::Role,
        scope: Option<app::auth::TokenScope>,
        label: String,
        created_by: String,
    ) -> BoxFuture<'_, Result<app::auth::CreatedToken, ApiError>> {
        Box::pin(async move {
            let now = routes::now_ms();
            Ok(Store::create_token(self, role, scope, &label, &created_by, now).await?)
        })
    }

    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { Ok(Store::revoke_token(self, &id).await?) })
    }

    fn sessions(&self) -> BoxFuture<'_, Result<Vec<app::auth::SessionInfo>, ApiError>> {
        Box::pin(async move { Ok(Store::sessions(self).await?) })
    }

    fn revoke_session(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { Ok(Store::revoke_session(self, &id).await?) })
    }

    fn create_login_link(
        &self,
        role: app::auth::Role,
        label: String,
    ) -> BoxFuture<'_, Result<app::auth::CreatedLoginLink, ApiError>> {
        Box::pin(async move {
            Ok(Store::create_login_link(self, role, &label, routes::now_ms()).await?)
        })
    }

    fn analytics_definitions(
        &self,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsDefinitions, ApiError>> {
        Box::pin(async move {
            analytics_answer(
                self.definitions()
                    .await
                    .map_err(events::AnalyticsError::from),
            )
        })
    }

    fn change_analytics(
        &self,
        change: app::events::AnalyticsChange,
    ) -> BoxFuture<'_, Result<app::events::AnalyticsDefinitions, ApiError>> {
        Box::pin(async move {
            analytics_answer(Store::change_analytics(self, change, routes::now_ms()).await)
        })
    }

    fn revoke_share_link(&self, id: String, link: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { dashboard_answer(Store::revoke_share_link(self, &id, &link).await) })
    }
}

/// A dashboard answer as a browser reads it; storage trouble is logged here, once.
fn dashboard_answer<T>(result: Result<T, DashboardError>) -> Result<T, ApiError> {
    result
        .inspect_err(|error| {
            if let DashboardError::Storage(error) = error {
                tracing::warn!(%error, "dashboard storage failed");
            }
        })
        .map_err(ApiError::from)
}

/// An analytics answer as a browser reads it; storage trouble is logged here, once.
fn analytics_answer<T>(result: Result<T, events::AnalyticsError>) -> Result<T, ApiError> {
    result.map_err(|error| match error {
        events::AnalyticsError::Storage(error) => {
            tracing::warn!(%error, "analytics storage failed");
            ApiError::Unavailable
        }
        events::AnalyticsError::Invalid(message) => ApiError::Invalid(message),
        events::AnalyticsError::NotFound(message) => ApiError::NotFound(message),
    })
}
