//! Recording events: the rankings of property values per bucket, the raw log, funnel
//! progress, experiment conversions and exposures. (Counts per event and unique users per
//! bucket are ordinary series: see [`event_observations`].)

use std::collections::HashMap;

use app::analytics::{assign_variant, funnel_outcome};
use app::events::{Event, Experiment, Funnel};
use app::model::{EVENT_COUNT_METRIC, EVENT_USERS_METRIC};
use app::model::{MetricKind, Observation, Observed, SeriesKey};

use super::error::AnalyticsError;
use crate::storage::keys::name_hash;
use crate::storage::sketch::bin_name;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

/// The property ranking that holds event names.
pub(super) const EVENT_NAME_RANKING: (&str, &str) = ("", "event");
/// Ranked buckets: one minute (for ranges up to [`MINUTE_RANKING_SPAN_MS`]) and one hour.
pub(super) const RANKING_TIERS: [(&str, i64); 2] = [("1m", 60_000), ("1h", 3_600_000)];
/// Longest range read from one-minute rankings (360 buckets).
pub(super) const MINUTE_RANKING_SPAN_MS: i64 = 6 * 3_600_000;
/// How long one-minute rankings are kept (hourly ones keep the 1-hour rollup retention).
pub(super) const MINUTE_RANKING_RETENTION_MS: i64 = 2 * 86_400_000;
/// Minutes in a day: a funnel's flow is kept in one hash per day.
pub(super) const FLOW_MINUTES_PER_DAY: i64 = 1_440;
/// How long a day of a funnel's flow is kept: a day's window compared with a week earlier,
/// and a day to spare.
const FLOW_KEPT_MS: i64 = 9 * 86_400_000;

/// Most events of one user kept per funnel (the newest).
const MAX_FUNNEL_EVENTS_PER_USER: usize = 1_000;

/// Compare-and-set of funnel users' progress. KEYS: the depths hash, then every other key
/// named by an index below. ARGV, per user: the index of their events key, their field in the
/// depths hash, the events and depth expected ('' for none), 'd' to delete the events or 's'
/// to set them, the events, their time to live, the new depth ('' unchanged), then a count of
/// increments and per increment: key index, field, amount, time to live ('' none). A user whose
/// events or depth differ from the expected is left alone, and their position (0-based) is
/// returned.
const FUNNEL_CAS_LUA: &str = r"#!lua
local conflicts = {}
local i, user = 1, 0
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i])]
  local field = ARGV[i + 1]
  local count = tonumber(ARGV[i + 8])
  local events = redis.call('GET', key) or ''
  local depth = redis.call('HGET', KEYS[1], field) or ''
  if events == ARGV[i + 2] and depth == ARGV[i + 3] then
    if ARGV[i + 4] == 'd' then
      redis.call('DEL', key)
    else
      redis.call('SET', key, ARGV[i + 5], 'PX', ARGV[i + 6])
    end
    if ARGV[i + 7] ~= '' then redis.call('HSET', KEYS[1], field, ARGV[i + 7]) end
    for j = 0, count - 1 do
      local at = i + 9 + j * 4
      local target = KEYS[tonumber(ARGV[at])]
      redis.call('HINCRBY', target, ARGV[at + 1], ARGV[at + 2])
      if ARGV[at + 3] ~= '' then redis.call('PEXPIRE', target, ARGV[at + 3]) end
    end
  else
    table.insert(conflicts, user)
  end
  i = i + 9 + count * 4
  user = user + 1
end
return conflicts
";

static FUNNEL_CAS_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(FUNNEL_CAS_LUA));

/// Times a batch's funnel users are re-read and recounted after another process moved them.
const MAX_FUNNEL_ATTEMPTS: usize = 20;
/// Users per compare-and-set call, so that one call stays brief.
const FUNNEL_USERS_PER_CALL: usize = 200;

/// One compare-and-set call of funnel users (see [`FUNNEL_CAS_LUA`]) being built.
struct FunnelCall {
    keys: Vec<String>,
    index: HashMap<String, usize>,
    args: Vec<String>,
    counts: String,
}

/// An increment of a funnel hash: key, field, amount, time to live.
type Increment = (String, String, i64, Option<i64>);

impl FunnelCall {
    fn new(depths: String, counts: String) -> Self {
        let mut call = Self {
            keys: Vec::new(),
            index: HashMap::new(),
            args: Vec::new(),
            counts: counts.clone(),
        };
        call.key(depths);
        call
    }

    /// The 1-based position of `key` in KEYS.
    fn key(&mut self, key: String) -> usize {
        if let Some(index) = self.index.get(&key) {
            return *index;
        }
        self.keys.push(key.clone());
        self.index.insert(key, self.keys.len());
        self.keys.len()
    }

    /// A user: delete their events (`set` None) or set them with a time to live.
    fn user(
        &mut self,
        events_key: &str,
        field: &str,
        (events, depth): (Option<&str>, Option<&str>),
        set: Option<(String, i64)>,
        new_depth: Option<String>,
        increments: Vec<Increment>,
    ) {
        let key = self.key(events_key.to_owned()).to_string();
        let (action, kept, ttl) = match set {
            Some((kept, ttl)) => ("s", kept, ttl.to_string()),
            None => ("d", String::new(), String::new()),
        };
        self.args.extend([
            key,
            field.to_owned(),
            events.unwrap_or_default().to_owned(),
            depth.unwrap_or_default().to_owned(),
            action.to_owned(),
            kept,
            ttl,
            new_depth.unwrap_or_default(),
            increments.len().to_string(),
        ]);
        for (target, field, amount, ttl) in increments {
            let target = self.key(target).to_string();
            self.args.extend([
                target,
                field,
                amount.to_string(),
                ttl.map(|ttl| ttl.to_string()).unwrap_or_default(),
            ]);
        }
    }

    fn invocation(&self) -> redis::ScriptInvocation<'static> {
        let mut invocation = FUNNEL_CAS_SCRIPT.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        invocation.arg(&self.args);
        invocation
    }
}

/// Converts exposed users who send the goal event: `KEYS` are the exposed sets of every variant,
/// then the converted sets; `ARGV` pairs a variant's 1-based index with a user id.
const CONVERT_LUA: &str = r"#!lua
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
pub(super) fn bucket_start(ts: i64, width: i64) -> i64 {
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
    /// Stores what events add beside their series: the rankings, the raw log, funnel progress,
    /// experiment conversions, the visits of page events, every user's cohort and activity
    /// (see the `visits` and `retention` modules) and their person (see `people`). Call after
    /// [`event_observations`] were written.
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
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for ((ranked_event, property, index, start), counts) in &rankings {
            let (tier, width) = RANKING_TIERS[*index];
            let kept = if *index == 0 {
                MINUTE_RANKING_RETENTION_MS
            } else {
                self.retention.hour_ms()
            };
            let key = self.keys.top(ranked_event, property, tier, *start);
            for (value, count) in counts {
                batch.ignored("ZINCRBY", &key).arg(*count).arg(*value);
            }
            batch.ignored("PEXPIREAT", &key).arg(start + width + kept);
        }
        let log = serde_json::to_string(events).unwrap_or_default();
        batch
            .ignored("XADD", &self.keys.event_log())
            .arg("MINID")
            .arg("~")
            .arg(now_ms - settings.log_retention_ms)
            .arg("*")
            .arg("b")
            .arg(log);
        // The definitions come back in the same round trip.
        batch.cmd("HVALS", &self.keys.funnels());
        batch.cmd("HVALS", &self.keys.experiments());
        let stored: (Vec<String>, Vec<String>) = batch.query(&connection).await?;
        let definitions = self.decode_definitions(stored)?;
        // Funnels and experiments, web analytics and people touch different keys: side by side.
        let definitions = async {
            if !definitions.funnels.is_empty() {
                let _guard = self.events.funnel_lock.lock().await;
                for funnel in &definitions.funnels {
                    self.advance_funnel(funnel, events.iter()).await?;
                }
            }
            for experiment in &definitions.experiments {
                self.convert(experiment, events).await?;
            }
            Ok::<_, StorageError>(())
        };
        let ((), visits, ()) = futures::try_join!(
            definitions,
            self.record_web(events, now_ms),
            self.record_people(events, now_ms)
        )?;
        self.add_person_visits(&visits).await
    }

    /// Counts `funnel` over every event the raw log still holds, oldest first; returns the
    /// oldest event's time (`None` when the log is empty).
    pub(super) async fn backfill(&self, funnel: &Funnel) -> Result<Option<i64>, StorageError> {
        let _guard = self.events.funnel_lock.lock().await;
        let mut oldest = None;
        let mut after = "-".to_owned();
        loop {
            let entries = self
                .log_page("XRANGE", &after, "+", super::raw_log::LOG_PAGE)
                .await?;
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
        // Each user's progress is a compare-and-set: a process that finds it changed by another
        // since it read it reads it again and recounts (never counting a step twice).
        for _ in 0..MAX_FUNNEL_ATTEMPTS {
            if by_user.is_empty() {
                return Ok(());
            }
            let users: Vec<&str> = by_user.keys().copied().collect();
            for chunk in users.chunks(FUNNEL_USERS_PER_CALL) {
                let conflicts = self.advance_users(funnel, chunk, &by_user).await?;
                for user in chunk {
                    if !conflicts.contains(user) {
                        by_user.remove(user);
                    }
                }
            }
        }
        if by_user.is_empty() {
            return Ok(());
        }
        Err(StorageError::Contended {
            key: self.keys.funnel_depths(&funnel.id),
        })
    }

    /// One compare-and-set of `users`' progress through `funnel` with their new `events`;
    /// returns the users whose progress another process changed meanwhile (nothing of theirs
    /// was written).
    async fn advance_users<'u>(
        &self,
        funnel: &Funnel,
        users: &[&'u str],
        events: &HashMap<&str, Vec<(i64, Vec<usize>)>>,
    ) -> Result<Vec<&'u str>, StorageError> {
        let depths_key = self.keys.funnel_depths(&funnel.id);
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for user in users {
            batch.cmd("GET", &self.keys.funnel_user(&funnel.id, user));
            batch.cmd("HGET", &depths_key).arg(name_hash(user));
        }
        let stored: Vec<Option<String>> = batch.query(&connection).await?;
        let mut call = FunnelCall::new(depths_key, self.keys.funnel_counts(&funnel.id));
        for (user, state) in users.iter().zip(stored.chunks_exact(2)) {
            let mut recent: Vec<(i64, Vec<usize>)> = state[0]
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default();
            let (old_depth, old_gaps) = state[1].as_deref().map(parse_progress).unwrap_or_default();
            recent.extend(events.get(user).cloned().unwrap_or_default());
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
            let expected = (state[0].as_deref(), state[1].as_deref());
            let field = name_hash(user);
            if old_depth == funnel.steps.len() {
                // Complete: nothing more can change for this user.
                call.user(&user_key, &field, expected, None, None, Vec::new());
                continue;
            }
            let kept = serde_json::to_string(&recent).unwrap_or_default();
            let set = Some((kept, funnel.window_ms + 60_000));
            if outcome.depth <= old_depth {
                call.user(&user_key, &field, expected, set, None, Vec::new());
                continue;
            }
            let mut increments = Vec::new();
            let counts = call.counts.clone();
            for step in old_depth..outcome.depth {
                increments.push((counts.clone(), step.to_string(), 1, None));
                // Steps reached, by the minute of the user's newest event (what funnel alert
                // rules count over their windows).
                let minute = newest.div_euclid(60_000);
                let day = self
                    .keys
                    .funnel_flow(&funnel.id, minute.div_euclid(FLOW_MINUTES_PER_DAY));
                increments.push((day, format!("{minute}:{step}"), 1, Some(FLOW_KEPT_MS)));
            }
            let mut gap_changes: HashMap<(usize, String), i64> = HashMap::new();
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
            for ((step, bin), change) in gap_changes {
                if change != 0 {
                    increments.push((self.keys.funnel_gaps(&funnel.id, step), bin, change, None));
                }
            }
            let gaps: Vec<String> = outcome
                .step_gaps_ms
                .iter()
                .map(ToString::to_string)
                .collect();
            let depth = format!("{};{}", outcome.depth, gaps.join(","));
            call.user(&user_key, &field, expected, set, Some(depth), increments);
        }
        let conflicts: Vec<usize> = call
            .invocation()
            .invoke_async(&mut connection.clone())
            .await?;
        Ok(conflicts
            .into_iter()
            .filter_map(|index| users.get(index).copied())
            .collect())
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
