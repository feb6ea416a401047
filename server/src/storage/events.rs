//! Analytics events in Redis: rankings of property values per bucket, the raw event log,
//! funnels and experiments. (Counts per event and unique users per bucket are ordinary counter
//! and set series, written through the metrics engine: see [`event_observations`].)

use std::collections::HashMap;
use std::sync::Arc;

use app::analytics::{VariantCounts, assign_variant, funnel_outcome};
use app::events::{
    AnalyticsAnswer, AnalyticsChange, AnalyticsDefinitions, AnalyticsQuery, EVENT_COUNT_METRIC,
    EVENT_USERS_METRIC, Event, Experiment, ExperimentReport, Funnel, FunnelReport, check_id,
    experiment_rows,
};
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use tokio::sync::Mutex;

use super::keys::random_hex;
use super::sketch::{Sketch, bin_name};
use super::{StorageError, Store};

/// The property ranking that holds event names.
const EVENT_NAME_RANKING: (&str, &str) = ("", "event");
/// Ranked buckets: one minute (for ranges up to [`MINUTE_RANKING_SPAN_MS`]) and one hour.
const RANKING_TIERS: [(&str, i64); 2] = [("1m", 60_000), ("1h", 3_600_000)];
/// The index of the one-hour rollups in [`crate::config::TIERS`], whose retention hourly
/// rankings keep.
const HOUR_TIER: usize = 2;
/// Longest range read from one-minute rankings (360 buckets).
const MINUTE_RANKING_SPAN_MS: i64 = 6 * 3_600_000;
/// How long one-minute rankings are kept (hourly ones keep the 1-hour rollup retention).
const MINUTE_RANKING_RETENTION_MS: i64 = 2 * 86_400_000;
/// Most events of one user kept per funnel (the newest).
const MAX_FUNNEL_EVENTS_PER_USER: usize = 1_000;
/// Log entries read per step of a backfill or of the latest-events listing.
const LOG_PAGE: usize = 100;
/// Most values one ranking answer lists.
const MAX_TOP_LIMIT: u32 = 100;
/// Most events one latest-events answer lists.
const MAX_LATEST_LIMIT: u32 = 200;

/// Converts exposed users who send the goal event: `KEYS` are the exposed sets of every variant,
/// then the converted sets; `ARGV` pairs a variant's 1-based index with a user id.
const CONVERT_LUA: &str = r"
local variants = #KEYS / 2
for i = 1, #ARGV, 2 do
  local index = tonumber(ARGV[i])
  if redis.call('SISMEMBER', KEYS[index], ARGV[i + 1]) == 1 then
    redis.call('SADD', KEYS[variants + index], ARGV[i + 1])
  end
end
return 0
";

static CONVERT_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(CONVERT_LUA));

/// What analytics requests can fail with.
#[derive(thiserror::Error, Debug, Clone)]
pub enum AnalyticsError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The request or definition is unusable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No funnel or experiment has that id.
    #[error("{0}")]
    NotFound(String),
}

/// How events are kept (from the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSettings {
    /// Properties whose values are ranked per bucket (top pages: `path`).
    pub ranked_properties: Vec<String>,
    /// How long the raw event log keeps events, ms (what a funnel can backfill from).
    pub log_retention_ms: i64,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            ranked_properties: vec!["path".into()],
            log_retention_ms: 7 * 86_400_000,
        }
    }
}

/// The state analytics keeps per process.
#[derive(Clone, Default)]
pub(crate) struct EventState {
    pub(crate) settings: EventSettings,
    /// Funnel progress is read, recomputed and written back; one batch at a time in a process,
    /// so two requests with the same user's events cannot both count them.
    funnel_lock: Arc<Mutex<()>>,
}

impl EventState {
    pub(crate) fn new(settings: EventSettings) -> Self {
        Self {
            settings,
            funnel_lock: Arc::default(),
        }
    }
}

/// The metrics-engine side of `events`: one `events{event=…}` counter increment and one
/// `event_users{event=…}` set member per event, so counts and unique users get rollups, queries
/// and live push like any series.
#[must_use]
pub fn event_observations(events: &[Event]) -> Vec<Observation> {
    let mut observations = Vec::with_capacity(events.len() * 2);
    for event in events {
        observations.push(Observation {
            series: SeriesKey::new(EVENT_COUNT_METRIC).with_label("event", event.event.clone()),
            kind: MetricKind::Counter,
            ts: event.ts,
            value: Observed::Number(1.0),
        });
        observations.push(Observation {
            series: SeriesKey::new(EVENT_USERS_METRIC).with_label("event", event.event.clone()),
            kind: MetricKind::Set,
            ts: event.ts,
            value: Observed::Member(event.user_id.clone()),
        });
    }
    observations
}

/// The bucket start of `ts` in a tier `width` ms wide.
fn bucket_start(ts: i64, width: i64) -> i64 {
    ts - ts.rem_euclid(width)
}

/// A funnel user's progress as kept in the depths hash: `depth;gap,gap`.
fn parse_progress(text: &str) -> (usize, Vec<i64>) {
    let (depth, gaps) = text.split_once(';').unwrap_or((text, ""));
    (
        depth.parse().unwrap_or(0),
        gaps.split(',').filter_map(|gap| gap.parse().ok()).collect(),
    )
}

impl Store {
    /// Stores what events add beside their series: the rankings, the raw log, funnel progress
    /// and experiment conversions. Call after [`event_observations`] were written.
    ///
    /// # Errors
    /// Redis failed; the caller must not acknowledge the events.
    pub async fn record_events(&self, events: &[Event], now_ms: i64) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let settings = &self.events.settings;
        // Keyed by (event, property, tier, bucket start): the key name, a hash, is built once
        // per bucket rather than once per event.
        let mut rankings: HashMap<(&str, &str, usize, i64), HashMap<&str, u64>> = HashMap::new();
        for event in events {
            let mut ranked = vec![(EVENT_NAME_RANKING, event.event.as_str())];
            for property in &settings.ranked_properties {
                if let Some(value) = event.properties.get(property) {
                    ranked.push(((event.event.as_str(), property.as_str()), value.as_str()));
                }
            }
            for ((ranked_event, property), value) in ranked {
                for (index, (_, width)) in RANKING_TIERS.iter().enumerate() {
                    let start = bucket_start(event.ts, *width);
                    *rankings
                        .entry((ranked_event, property, index, start))
                        .or_default()
                        .entry(value)
                        .or_default() += 1;
                }
            }
        }
        let mut pipe = redis::pipe();
        for ((ranked_event, property, index, start), counts) in &rankings {
            let (tier, width) = RANKING_TIERS[*index];
            let kept = if *index == 0 {
                MINUTE_RANKING_RETENTION_MS
            } else {
                self.retention.tiers_ms[HOUR_TIER]
            };
            let key = self.keys.top(ranked_event, property, tier, *start);
            for (value, count) in counts {
                pipe.cmd("ZINCRBY")
                    .arg(&key)
                    .arg(*count)
                    .arg(*value)
                    .ignore();
            }
            pipe.cmd("PEXPIREAT")
                .arg(key)
                .arg(start + width + kept)
                .ignore();
        }
        let batch = serde_json::to_string(events).unwrap_or_default();
        pipe.cmd("XADD")
            .arg(self.keys.event_log())
            .arg("MINID")
            .arg("~")
            .arg(now_ms - settings.log_retention_ms)
            .arg("*")
            .arg("b")
            .arg(batch)
            .ignore();
        // The definitions come back in the same round trip.
        pipe.cmd("HVALS").arg(self.keys.funnels());
        pipe.cmd("HVALS").arg(self.keys.experiments());
        let stored: (Vec<String>, Vec<String>) = pipe.query_async(&mut self.connection()).await?;
        let definitions = self.decode_definitions(stored)?;
        if !definitions.funnels.is_empty() {
            let _guard = self.events.funnel_lock.lock().await;
            for funnel in &definitions.funnels {
                self.advance_funnel(funnel, events.iter()).await?;
            }
        }
        for experiment in &definitions.experiments {
            self.convert(experiment, events).await?;
        }
        Ok(())
    }

    /// Every funnel and experiment.
    ///
    /// # Errors
    /// Redis failed or holds something livedash did not write.
    pub async fn definitions(&self) -> Result<AnalyticsDefinitions, StorageError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(self.keys.funnels());
        pipe.cmd("HVALS").arg(self.keys.experiments());
        let stored = pipe.query_async(&mut self.connection()).await?;
        self.decode_definitions(stored)
    }

    /// The funnels and experiments from their hashes' values, sorted by name.
    fn decode_definitions(
        &self,
        (funnels, experiments): (Vec<String>, Vec<String>),
    ) -> Result<AnalyticsDefinitions, StorageError> {
        let corrupt = |key: String| {
            move |error: serde_json::Error| StorageError::Corrupt {
                key,
                reason: error.to_string(),
            }
        };
        let mut definitions = AnalyticsDefinitions {
            funnels: funnels
                .iter()
                .map(|json| serde_json::from_str(json))
                .collect::<Result<_, _>>()
                .map_err(corrupt(self.keys.funnels()))?,
            experiments: experiments
                .iter()
                .map(|json| serde_json::from_str(json))
                .collect::<Result<_, _>>()
                .map_err(corrupt(self.keys.experiments()))?,
        };
        definitions
            .funnels
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        definitions
            .experiments
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(definitions)
    }

    /// Applies a change from the analytics page and returns the definitions after it.
    ///
    /// # Errors
    /// An invalid definition, an unknown id, or storage failed.
    pub async fn change_analytics(
        &self,
        change: AnalyticsChange,
        now_ms: i64,
    ) -> Result<AnalyticsDefinitions, AnalyticsError> {
        let mut connection = self.connection();
        match change {
            AnalyticsChange::CreateFunnel {
                mut funnel,
                backfill,
            } => {
                funnel.validate().map_err(AnalyticsError::Invalid)?;
                funnel.id = random_hex::<8>("a funnel id")?;
                funnel.created_ms = now_ms;
                funnel.counts_from_ms = None;
                if backfill {
                    funnel.counts_from_ms = Some(self.backfill(&funnel).await?.unwrap_or(now_ms));
                }
                let json = serde_json::to_string(&funnel).unwrap_or_default();
                let () = redis::cmd("HSET")
                    .arg(self.keys.funnels())
                    .arg(&funnel.id)
                    .arg(json)
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
            }
            AnalyticsChange::DeleteFunnel { id } => {
                let funnel = self.funnel(&id).await?;
                let mut pipe = redis::pipe();
                pipe.cmd("HDEL").arg(self.keys.funnels()).arg(&id).ignore();
                pipe.cmd("DEL")
                    .arg(self.keys.funnel_depths(&id))
                    .arg(self.keys.funnel_counts(&id))
                    .ignore();
                for step in 0..funnel.steps.len() {
                    pipe.cmd("DEL")
                        .arg(self.keys.funnel_gaps(&id, step))
                        .ignore();
                }
                let () = pipe
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
            }
            AnalyticsChange::CreateExperiment { mut experiment } => {
                experiment.validate().map_err(AnalyticsError::Invalid)?;
                experiment.created_ms = now_ms;
                let json = serde_json::to_string(&experiment).unwrap_or_default();
                let created: bool = redis::cmd("HSETNX")
                    .arg(self.keys.experiments())
                    .arg(&experiment.id)
                    .arg(json)
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
                if !created {
                    return Err(AnalyticsError::Invalid(format!(
                        "an experiment with id {:?} exists already",
                        experiment.id
                    )));
                }
            }
            AnalyticsChange::DeleteExperiment { id } => {
                let experiment = self.experiment(&id).await?;
                let mut pipe = redis::pipe();
                pipe.cmd("HDEL")
                    .arg(self.keys.experiments())
                    .arg(&id)
                    .ignore();
                pipe.cmd("DEL")
                    .arg(self.keys.experiment_min_p(&id))
                    .ignore();
                for variant in 0..experiment.variants.len() {
                    pipe.cmd("DEL")
                        .arg(self.keys.experiment_exposed(&id, variant))
                        .arg(self.keys.experiment_converted(&id, variant))
                        .ignore();
                }
                let () = pipe
                    .query_async(&mut connection)
                    .await
                    .map_err(StorageError::from)?;
            }
        }
        Ok(self.definitions().await?)
    }

    /// Marks funnel `id` as counting from `from_ms`: `--demo` makes its funnel before it
    /// records its history, with older times, through it.
    ///
    /// # Errors
    /// No such funnel, or storage failed.
    pub async fn set_funnel_counts_from(
        &self,
        id: &str,
        from_ms: i64,
    ) -> Result<(), AnalyticsError> {
        let mut funnel = self.funnel(id).await?;
        funnel.counts_from_ms = Some(from_ms.min(funnel.created_ms));
        let json = serde_json::to_string(&funnel).unwrap_or_default();
        let () = redis::cmd("HSET")
            .arg(self.keys.funnels())
            .arg(id)
            .arg(json)
            .query_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?;
        Ok(())
    }

    /// Claims the writing of `--demo`'s history: `true` in one process only, and only on a
    /// Redis without demo data (no demo dashboard made yet, by this version or an earlier
    /// one). The claim stays whatever happens after, so the history is written once per Redis
    /// at most.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_demo_history(&self, now_ms: i64) -> Result<bool, StorageError> {
        let mut connection = self.connection();
        let has_demo: bool = redis::cmd("EXISTS")
            .arg(self.keys.demo())
            .query_async(&mut connection)
            .await?;
        if has_demo {
            return Ok(false);
        }
        let claimed: Option<String> = redis::cmd("SET")
            .arg(self.keys.demo_history())
            .arg(format!("writing since {now_ms}"))
            .arg("NX")
            .query_async(&mut connection)
            .await?;
        Ok(claimed.is_some())
    }

    /// Records how writing `--demo`'s history ended (`done: …`, `stopped: …`, `failed …`).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn finish_demo_history(&self, outcome: &str) -> Result<(), StorageError> {
        let () = redis::cmd("SET")
            .arg(self.keys.demo_history())
            .arg(outcome)
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// How writing `--demo`'s history went: `None` when no process claimed it, else
    /// `writing since <ms>` while it is written, then `done: …`, `stopped: …` or `failed …`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn demo_history(&self) -> Result<Option<String>, StorageError> {
        Ok(redis::cmd("GET")
            .arg(self.keys.demo_history())
            .query_async(&mut self.connection())
            .await?)
    }

    async fn funnel(&self, id: &str) -> Result<Funnel, AnalyticsError> {
        self.definition(self.keys.funnels(), id, "funnel").await
    }

    async fn experiment(&self, id: &str) -> Result<Experiment, AnalyticsError> {
        check_id(id).map_err(AnalyticsError::NotFound)?;
        self.definition(self.keys.experiments(), id, "experiment")
            .await
    }

    /// One definition from the hash `key` (`what` names it in the error).
    async fn definition<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        id: &str,
        what: &str,
    ) -> Result<T, AnalyticsError> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg(id)
            .query_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?;
        let json = json.ok_or_else(|| AnalyticsError::NotFound(format!("no {what} {id:?}")))?;
        serde_json::from_str(&json).map_err(|error| {
            AnalyticsError::Storage(StorageError::Corrupt {
                key,
                reason: error.to_string(),
            })
        })
    }

    /// Counts `funnel` over every event the raw log still holds, oldest first; returns the
    /// oldest event's time (`None` when the log is empty).
    async fn backfill(&self, funnel: &Funnel) -> Result<Option<i64>, StorageError> {
        let _guard = self.events.funnel_lock.lock().await;
        let mut oldest = None;
        let mut after = "-".to_owned();
        loop {
            let entries = self.log_page("XRANGE", &after, "+").await?;
            let Some((last_id, _)) = entries.last() else {
                break;
            };
            after = format!("({last_id}");
            let events: Vec<Event> = entries.into_iter().flat_map(|(_, batch)| batch).collect();
            if oldest.is_none() {
                oldest = events.iter().map(|event| event.ts).min();
            }
            self.advance_funnel(funnel, events.iter()).await?;
        }
        Ok(oldest)
    }

    /// One page of the raw log, decoded: `command` is `XRANGE` or `XREVRANGE`, with its two
    /// bounds in the order that command takes them.
    async fn log_page(
        &self,
        command: &str,
        first: &str,
        second: &str,
    ) -> Result<Vec<(String, Vec<Event>)>, StorageError> {
        let reply: Vec<(String, HashMap<String, String>)> = redis::cmd(command)
            .arg(self.keys.event_log())
            .arg(first)
            .arg(second)
            .arg("COUNT")
            .arg(LOG_PAGE)
            .query_async(&mut self.connection())
            .await?;
        reply
            .into_iter()
            .map(|(id, fields)| {
                let batch = fields.get("b").map_or(Ok(Vec::new()), |json| {
                    serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
                        key: self.keys.event_log(),
                        reason: error.to_string(),
                    })
                })?;
                Ok((id, batch))
            })
            .collect()
    }

    /// Moves each user with events in `events` through `funnel`: their recent matching events
    /// are read back, the new ones added, and when the deepest step reached grows, the step
    /// counts and step-time sketches follow.
    async fn advance_funnel<'a>(
        &self,
        funnel: &Funnel,
        events: impl Iterator<Item = &'a Event>,
    ) -> Result<(), StorageError> {
        let mut by_user: HashMap<&str, Vec<(i64, Vec<usize>)>> = HashMap::new();
        for event in events {
            let steps = funnel.steps_matched(event);
            if !steps.is_empty() {
                by_user
                    .entry(event.user_id.as_str())
                    .or_default()
                    .push((event.ts, steps));
            }
        }
        if by_user.is_empty() {
            return Ok(());
        }
        let users: Vec<&str> = by_user.keys().copied().collect();
        let depths_key = self.keys.funnel_depths(&funnel.id);
        let mut pipe = redis::pipe();
        for user in &users {
            pipe.cmd("GET").arg(self.keys.funnel_user(&funnel.id, user));
            pipe.cmd("HGET")
                .arg(&depths_key)
                .arg(super::keys::name_hash(user));
        }
        let stored: Vec<Option<String>> = pipe.query_async(&mut self.connection()).await?;
        let mut pipe = redis::pipe();
        let mut step_increments = vec![0_i64; funnel.steps.len()];
        let mut gap_changes: HashMap<(usize, String), i64> = HashMap::new();
        for (user, state) in users.iter().zip(stored.chunks_exact(2)) {
            let mut recent: Vec<(i64, Vec<usize>)> = state[0]
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default();
            let (old_depth, old_gaps) = state[1].as_deref().map(parse_progress).unwrap_or_default();
            recent.extend(by_user.remove(user).unwrap_or_default());
            recent.sort_by_key(|(ts, _)| *ts);
            let outcome = funnel_outcome(&recent, funnel.steps.len(), funnel.window_ms);
            // Kept for later batches: events older than a window before the newest cannot be
            // part of an attempt that includes a later event, and every attempt among them
            // alone has just been counted.
            let newest = recent.last().map_or(0, |(ts, _)| *ts);
            recent.retain(|(ts, _)| *ts >= newest - funnel.window_ms);
            if recent.len() > MAX_FUNNEL_EVENTS_PER_USER {
                recent.drain(..recent.len() - MAX_FUNNEL_EVENTS_PER_USER);
            }
            let user_key = self.keys.funnel_user(&funnel.id, user);
            if old_depth == funnel.steps.len() {
                // Complete: nothing more can change for this user.
                pipe.cmd("DEL").arg(&user_key).ignore();
                continue;
            }
            pipe.cmd("SET")
                .arg(&user_key)
                .arg(serde_json::to_string(&recent).unwrap_or_default())
                .arg("PX")
                .arg(funnel.window_ms + 60_000)
                .ignore();
            if outcome.depth <= old_depth {
                continue;
            }
            for increment in &mut step_increments[old_depth..outcome.depth] {
                *increment += 1;
            }
            for (index, gap) in old_gaps.iter().enumerate() {
                *gap_changes
                    .entry((index + 1, bin_name(*gap as f64)))
                    .or_default() -= 1;
            }
            for (index, gap) in outcome.step_gaps_ms.iter().enumerate() {
                *gap_changes
                    .entry((index + 1, bin_name(*gap as f64)))
                    .or_default() += 1;
            }
            let gaps: Vec<String> = outcome
                .step_gaps_ms
                .iter()
                .map(ToString::to_string)
                .collect();
            pipe.cmd("HSET")
                .arg(&depths_key)
                .arg(super::keys::name_hash(user))
                .arg(format!("{};{}", outcome.depth, gaps.join(",")))
                .ignore();
        }
        let counts_key = self.keys.funnel_counts(&funnel.id);
        for (step, increment) in step_increments.iter().enumerate() {
            if *increment != 0 {
                pipe.cmd("HINCRBY")
                    .arg(&counts_key)
                    .arg(step)
                    .arg(*increment)
                    .ignore();
            }
        }
        for ((step, bin), change) in gap_changes {
            if change != 0 {
                pipe.cmd("HINCRBY")
                    .arg(self.keys.funnel_gaps(&funnel.id, step))
                    .arg(bin)
                    .arg(change)
                    .ignore();
            }
        }
        let () = pipe.query_async(&mut self.connection()).await?;
        Ok(())
    }

    /// Converts the exposed users among the senders of `experiment`'s goal event.
    async fn convert(&self, experiment: &Experiment, events: &[Event]) -> Result<(), StorageError> {
        let weights = experiment.weights();
        let mut arguments = Vec::new();
        for event in events {
            if event.event != experiment.goal_event {
                continue;
            }
            if let Some(index) = assign_variant(&experiment.id, &event.user_id, &weights) {
                arguments.push((index + 1).to_string());
                arguments.push(event.user_id.clone());
            }
        }
        if arguments.is_empty() {
            return Ok(());
        }
        let mut invocation = CONVERT_SCRIPT.prepare_invoke();
        for variant in 0..experiment.variants.len() {
            invocation.key(self.keys.experiment_exposed(&experiment.id, variant));
        }
        for variant in 0..experiment.variants.len() {
            invocation.key(self.keys.experiment_converted(&experiment.id, variant));
        }
        invocation.arg(arguments);
        let _: i64 = invocation.invoke_async(&mut self.connection()).await?;
        Ok(())
    }

    /// The variant of `experiment_id` for `user_id` (the same on every call and in every
    /// process); with `expose`, the user counts as exposed to it from now on.
    ///
    /// # Errors
    /// No such experiment, a bad user id, or storage failed.
    pub async fn assign(
        &self,
        experiment_id: &str,
        user_id: &str,
        expose: bool,
    ) -> Result<String, AnalyticsError> {
        if user_id.is_empty() || user_id.len() > app::events::MAX_USER_ID_LEN {
            return Err(AnalyticsError::Invalid(format!(
                "user_id must be 1 to {} bytes",
                app::events::MAX_USER_ID_LEN
            )));
        }
        let experiment = self.experiment(experiment_id).await?;
        let index = assign_variant(&experiment.id, user_id, &experiment.weights())
            .ok_or_else(|| AnalyticsError::Invalid("the experiment has no weight".into()))?;
        if expose {
            let _: i64 = redis::cmd("SADD")
                .arg(self.keys.experiment_exposed(&experiment.id, index))
                .arg(user_id)
                .query_async(&mut self.connection())
                .await
                .map_err(StorageError::from)?;
        }
        Ok(experiment.variants[index].name.clone())
    }

    /// Answers an analytics widget.
    ///
    /// # Errors
    /// An unknown funnel or experiment, a bad range, or storage failed.
    pub async fn analytics(
        &self,
        query: AnalyticsQuery,
        now_ms: i64,
    ) -> Result<AnalyticsAnswer, AnalyticsError> {
        match query {
            AnalyticsQuery::Funnel { id } => Ok(AnalyticsAnswer::Funnel(
                self.funnel_report(self.funnel(&id).await?).await?,
            )),
            AnalyticsQuery::Experiment { id } => Ok(AnalyticsAnswer::Experiment(
                self.experiment_report(self.experiment(&id).await?).await?,
            )),
            AnalyticsQuery::Top {
                event,
                property,
                from,
                to,
                limit,
            } => {
                check_range(from, to)?;
                let (event, property) = if property.is_empty() {
                    EVENT_NAME_RANKING
                } else {
                    (event.as_str(), property.as_str())
                };
                let (entries, total) = self
                    .top(
                        (event, property),
                        (from, to.min(now_ms + 1)),
                        limit.min(MAX_TOP_LIMIT),
                        now_ms,
                    )
                    .await?;
                Ok(AnalyticsAnswer::Top { entries, total })
            }
            AnalyticsQuery::Uniques { event, from, to } => {
                check_range(from, to)?;
                Ok(AnalyticsAnswer::Uniques {
                    users: self
                        .uniques(&event, (from, to.min(now_ms + 1)), now_ms)
                        .await?,
                })
            }
            AnalyticsQuery::Heatmap {
                selector,
                from,
                to,
                step_ms,
            } => {
                check_range(from, to)?;
                let selector = app::query::Selector::parse(&selector)
                    .map_err(|error| AnalyticsError::Invalid(error.to_string()))?;
                match self
                    .heatmap(&selector, (from, to, Some(step_ms)), now_ms)
                    .await
                {
                    Ok(heatmap) => Ok(AnalyticsAnswer::Heatmap(heatmap)),
                    Err(super::query::QueryError::Storage(error)) => Err(error.into()),
                    Err(super::query::QueryError::KindMismatch { series, kind, .. }) => {
                        Err(AnalyticsError::Invalid(format!(
                            "a heatmap shows histograms, and {series} is a {kind}"
                        )))
                    }
                    Err(other) => Err(AnalyticsError::Invalid(other.to_string())),
                }
            }
            AnalyticsQuery::Latest { event, limit } => Ok(AnalyticsAnswer::Latest {
                events: self
                    .latest_events(&event, limit.min(MAX_LATEST_LIMIT) as usize)
                    .await?,
            }),
        }
    }

    async fn funnel_report(&self, funnel: Funnel) -> Result<FunnelReport, StorageError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(self.keys.funnel_counts(&funnel.id));
        for step in 1..funnel.steps.len() {
            pipe.cmd("HGETALL")
                .arg(self.keys.funnel_gaps(&funnel.id, step));
        }
        let mut replies: Vec<HashMap<String, i64>> =
            pipe.query_async(&mut self.connection()).await?;
        let counts = replies.remove(0);
        let users = (0..funnel.steps.len())
            .map(|step| {
                counts
                    .get(&step.to_string())
                    .map_or(0, |n| u64::try_from(*n).unwrap_or(0))
            })
            .collect();
        let mut median_ms = vec![None];
        for bins in replies {
            let mut sketch = Sketch::default();
            for (bin, count) in bins {
                if let Ok(count) = u64::try_from(count)
                    && count > 0
                {
                    sketch
                        .add_bin(&bin, count)
                        .map_err(|reason| StorageError::Corrupt {
                            key: self.keys.funnel_gaps(&funnel.id, median_ms.len()),
                            reason,
                        })?;
                }
            }
            median_ms.push(sketch.quantile(0.5));
        }
        Ok(FunnelReport {
            funnel,
            users,
            median_ms,
        })
    }

    async fn experiment_report(
        &self,
        experiment: Experiment,
    ) -> Result<ExperimentReport, StorageError> {
        let id = &experiment.id;
        let mut pipe = redis::pipe();
        for variant in 0..experiment.variants.len() {
            pipe.cmd("SCARD")
                .arg(self.keys.experiment_exposed(id, variant));
            pipe.cmd("SCARD")
                .arg(self.keys.experiment_converted(id, variant));
        }
        let sizes: Vec<u64> = pipe.query_async(&mut self.connection()).await?;
        let counts: Vec<VariantCounts> = sizes
            .chunks_exact(2)
            .map(|pair| VariantCounts::new(pair[0], pair[1]))
            .collect();
        let stored: HashMap<String, f64> = redis::cmd("HGETALL")
            .arg(self.keys.experiment_min_p(id))
            .query_async(&mut self.connection())
            .await?;
        let running_min: Vec<Option<f64>> = (0..experiment.variants.len())
            .map(|variant| stored.get(&variant.to_string()).copied())
            .collect();
        let rows = experiment_rows(&experiment, &counts, &running_min);
        let lower: Vec<(usize, f64)> = rows
            .iter()
            .enumerate()
            .filter_map(|(variant, row)| {
                let p = row.always_valid_p_value?;
                running_min[variant]
                    .is_none_or(|before| p < before)
                    .then_some((variant, p))
            })
            .collect();
        if !lower.is_empty() {
            let () = redis::cmd("HSET")
                .arg(self.keys.experiment_min_p(id))
                .arg(lower)
                .query_async(&mut self.connection())
                .await?;
        }
        Ok(ExperimentReport { experiment, rows })
    }

    /// The `limit` most frequent values of `property` on `event` over `[from, to)`, and the
    /// count of all: from the minute rankings for short ranges they still hold, else hourly.
    async fn top(
        &self,
        (event, property): (&str, &str),
        (from, to): (i64, i64),
        limit: u32,
        now_ms: i64,
    ) -> Result<(Vec<(String, u64)>, u64), StorageError> {
        let minutes_kept = from >= now_ms - MINUTE_RANKING_RETENTION_MS;
        let (tier, width) = if to - from <= MINUTE_RANKING_SPAN_MS && minutes_kept {
            RANKING_TIERS[0]
        } else {
            RANKING_TIERS[1]
        };
        let mut keys = Vec::new();
        let mut start = bucket_start(from, width);
        while start < to {
            keys.push(self.keys.top(event, property, tier, start));
            start += width;
        }
        if keys.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // Every bucket of one ranking shares a slot, so one ZUNION merges them.
        let merged: Vec<(String, f64)> = redis::cmd("ZUNION")
            .arg(keys.len())
            .arg(&keys)
            .arg("WITHSCORES")
            .query_async(&mut self.connection())
            .await?;
        let total = merged.iter().map(|(_, count)| *count as u64).sum();
        let mut entries: Vec<(String, u64)> = merged
            .into_iter()
            .map(|(value, count)| (value, count as u64))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        entries.truncate(limit as usize);
        Ok((entries, total))
    }

    /// Distinct users over `[from, to)`: one `PFCOUNT` over every bucket of every
    /// `event_users` series of `event` (all events when empty), in the finest tier that keeps
    /// the range within 2 000 buckets.
    async fn uniques(
        &self,
        event: &str,
        (from, to): (i64, i64),
        now_ms: i64,
    ) -> Result<u64, AnalyticsError> {
        let mut selector = app::query::Selector {
            name: EVENT_USERS_METRIC.into(),
            matchers: Vec::new(),
        };
        if !event.is_empty() {
            selector.matchers.push(app::query::Matcher {
                label: "event".into(),
                op: app::query::MatchOp::Equal,
                value: event.into(),
            });
        }
        let series = match self
            .resolve(&selector, app::query::Aggregation::Unique)
            .await
        {
            Ok(resolved) => resolved.series,
            Err(super::query::QueryError::Storage(error)) => return Err(error.into()),
            Err(other) => return Err(AnalyticsError::Invalid(other.to_string())),
        };
        let tier_index = crate::config::TIERS
            .iter()
            .position(|(_, width)| (to - from) / width <= 2_000)
            .unwrap_or(crate::config::TIERS.len() - 1);
        let (tier, width) = crate::config::TIERS[tier_index];
        // Nothing older than the tier keeps is read.
        let from = from.max(now_ms - self.retention().tiers_ms[tier_index] - width);
        let buckets = usize::try_from((to - bucket_start(from, width)).max(0) / width + 1)
            .unwrap_or(usize::MAX);
        let max_keys = self.query_limits().max_keys;
        if buckets.saturating_mul(series.len()) > max_keys {
            return Err(AnalyticsError::Invalid(format!(
                "unique users over {} series × {buckets} buckets would read more than {max_keys} \
                 Redis keys (LIVEDASH_QUERY_MAX_KEYS): use a shorter range or name one event",
                series.len()
            )));
        }
        let mut keys = Vec::new();
        for (id, _) in &series {
            let mut start = bucket_start(from, width);
            while start < to {
                keys.push(self.keys.set_bucket(id, tier, start));
                start += width;
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        Ok(redis::cmd("PFCOUNT")
            .arg(keys)
            .query_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?)
    }

    /// The newest `limit` events (of `event`, or of any when empty), newest first.
    async fn latest_events(&self, event: &str, limit: usize) -> Result<Vec<Event>, StorageError> {
        let mut found = Vec::new();
        let mut before = "+".to_owned();
        // Bounded: a rare event name must not make one request read the whole log.
        for _ in 0..10 {
            let entries = self.log_page("XREVRANGE", &before, "-").await?;
            let Some((last_id, _)) = entries.last() else {
                break;
            };
            before = format!("({last_id}");
            for (_, batch) in entries {
                found.extend(
                    batch
                        .into_iter()
                        .rev()
                        .filter(|candidate| event.is_empty() || candidate.event == event),
                );
            }
            if found.len() >= limit {
                break;
            }
        }
        found.sort_by_key(|event| std::cmp::Reverse(event.ts));
        found.truncate(limit);
        Ok(found)
    }
}

/// Longest range an analytics widget reads.
const MAX_ANALYTICS_RANGE_MS: i64 = 400 * 86_400_000;

fn check_range(from: i64, to: i64) -> Result<(), AnalyticsError> {
    // Bounded times first, so that `to - from` cannot overflow.
    super::plan::check_times(from, to)
        .map_err(|error| AnalyticsError::Invalid(error.to_string()))?;
    if to - from > MAX_ANALYTICS_RANGE_MS {
        return Err(AnalyticsError::Invalid(format!(
            "parameter `to`: the range [{from}, {to}) is longer than 400 days"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Progress round-trips through its stored text.
    #[test]
    fn progress_text() {
        assert_eq!(parse_progress("3;120,4500"), (3, vec![120, 4500]));
        assert_eq!(parse_progress("1;"), (1, vec![]));
        assert_eq!(bucket_start(125_000, 60_000), 120_000);
    }
}
