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
use crate::storage::{StorageError, Store};

/// The property ranking that holds event names.
pub(super) const EVENT_NAME_RANKING: (&str, &str) = ("", "event");
/// Ranked buckets: one minute (for ranges up to [`MINUTE_RANKING_SPAN_MS`]) and one hour.
pub(super) const RANKING_TIERS: [(&str, i64); 2] = [("1m", 60_000), ("1h", 3_600_000)];
/// The index of the one-hour rollups in [`crate::config::TIERS`], whose retention hourly
/// rankings keep.
const HOUR_TIER: usize = 2;
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

    /// Counts `funnel` over every event the raw log still holds, oldest first; returns the
    /// oldest event's time (`None` when the log is empty).
    pub(super) async fn backfill(&self, funnel: &Funnel) -> Result<Option<i64>, StorageError> {
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
            pipe.cmd("HGET").arg(&depths_key).arg(name_hash(user));
        }
        let stored: Vec<Option<String>> = pipe.query_async(&mut self.connection()).await?;
        let mut pipe = redis::pipe();
        let mut step_increments = vec![0_i64; funnel.steps.len()];
        // Steps reached, by the minute of the user's newest event (what funnel alert rules
        // count over their windows).
        let mut flow: HashMap<(i64, usize), i64> = HashMap::new();
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
            for step in old_depth..outcome.depth {
                *flow.entry((newest.div_euclid(60_000), step)).or_default() += 1;
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
                .arg(name_hash(user))
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
        for ((minute, step), reached) in flow {
            let day = self
                .keys
                .funnel_flow(&funnel.id, minute.div_euclid(FLOW_MINUTES_PER_DAY));
            pipe.cmd("HINCRBY")
                .arg(&day)
                .arg(format!("{minute}:{step}"))
                .arg(reached)
                .ignore();
            pipe.cmd("PEXPIRE").arg(&day).arg(FLOW_KEPT_MS).ignore();
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
