//! Answers to analytics widgets: funnel and experiment reports, rankings, unique users,
//! heatmaps and the latest events.

use std::collections::HashMap;

use app::analytics::VariantCounts;
use app::events::{
    AnalyticsAnswer, AnalyticsQuery, Event, Experiment, ExperimentReport, Funnel, FunnelReport,
    experiment_rows,
};
use app::model::EVENT_USERS_METRIC;

use super::error::AnalyticsError;
use super::record::{
    EVENT_NAME_RANKING, MINUTE_RANKING_RETENTION_MS, MINUTE_RANKING_SPAN_MS, RANKING_TIERS,
    bucket_start,
};
use crate::storage::query::QueryError;
use crate::storage::sketch::Sketch;
use crate::storage::slots::Batch;
use crate::storage::{StorageError, Store};

/// Most values one ranking answer lists.
const MAX_TOP_LIMIT: u32 = 100;
/// Most events one latest-events answer lists.
const MAX_LATEST_LIMIT: u32 = 200;

/// Lowers fields of a hash of numbers: KEYS[1] the hash, ARGV field and value pairs; a field
/// is set when it is missing or holds a higher number.
const LOWER_LUA: &str = r"#!lua
for i = 1, #ARGV, 2 do
  local before = redis.call('HGET', KEYS[1], ARGV[i])
  if not before or tonumber(ARGV[i + 1]) < tonumber(before) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
";

impl Store {
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
                    Err(QueryError::Storage(error)) => Err(error.into()),
                    Err(QueryError::KindMismatch { series, kind, .. }) => {
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
            AnalyticsQuery::Web {
                site,
                from,
                to,
                filters,
            } => {
                check_range(from, to)?;
                check_filters(&filters)?;
                let range = (from, to.min(now_ms + 1));
                let mut report = if filters.is_empty() {
                    self.visit_report(&site, range.0, range.1, now_ms).await?
                } else {
                    self.filtered_visit_report(&site, range, &filters, now_ms)
                        .await?
                };
                for ranked in report.rankings.values_mut() {
                    ranked.truncate(MAX_TOP_LIMIT as usize);
                }
                Ok(AnalyticsAnswer::Web(report))
            }
        }
    }

    async fn funnel_report(&self, funnel: Funnel) -> Result<FunnelReport, StorageError> {
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.cmd("HGETALL", &self.keys.funnel_counts(&funnel.id));
        for step in 1..funnel.steps.len() {
            batch.cmd("HGETALL", &self.keys.funnel_gaps(&funnel.id, step));
        }
        let mut replies: Vec<HashMap<String, i64>> = batch.query(&connection).await?;
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

    pub(crate) async fn experiment_report(
        &self,
        experiment: Experiment,
    ) -> Result<ExperimentReport, StorageError> {
        let id = &experiment.id;
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for variant in 0..experiment.variants.len() {
            batch.cmd("SCARD", &self.keys.experiment_exposed(id, variant));
            batch.cmd("SCARD", &self.keys.experiment_converted(id, variant));
        }
        let sizes: Vec<u64> = batch.query(&connection).await?;
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
            // Lowered in one step: a slower process with an older, higher value cannot undo
            // another's lower one.
            let _: i64 = redis::Script::new(LOWER_LUA)
                .key(self.keys.experiment_min_p(id))
                .arg(lower)
                .invoke_async(&mut self.connection())
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

    /// Distinct users over `[from, to)`: the union of every bucket of every `event_users`
    /// series of `event` (all events when empty), in the finest tier that keeps the range
    /// within 2 000 buckets.
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
            Err(QueryError::Storage(error)) => return Err(error.into()),
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
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let counts = self.union_counts(&[keys]).await?;
        Ok(counts.first().copied().unwrap_or_default())
    }

    /// The newest `limit` events (of `event`, or of any when empty), newest first.
    async fn latest_events(&self, event: &str, limit: usize) -> Result<Vec<Event>, StorageError> {
        let mut found = Vec::new();
        let mut before = "+".to_owned();
        // Bounded: a rare event name must not make one request read the whole log.
        for _ in 0..10 {
            let entries = self
                .log_page("XREVRANGE", &before, "-", super::raw_log::LOG_PAGE)
                .await?;
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

/// Most filters one web report takes.
const MAX_WEB_FILTERS: usize = 10;

fn check_filters(filters: &[app::web::WebFilter]) -> Result<(), AnalyticsError> {
    if filters.len() > MAX_WEB_FILTERS {
        return Err(AnalyticsError::Invalid(format!(
            "parameter `filters`: at most {MAX_WEB_FILTERS} filters, not {}",
            filters.len()
        )));
    }
    match filters
        .iter()
        .find(|filter| !crate::storage::visits::is_ranking(&filter.ranking))
    {
        Some(unknown) => Err(AnalyticsError::Invalid(format!(
            "parameter `filters`: no ranking is called `{}`",
            unknown.ranking
        ))),
        None => Ok(()),
    }
}

fn check_range(from: i64, to: i64) -> Result<(), AnalyticsError> {
    // Bounded times first, so that `to - from` cannot overflow.
    crate::storage::plan::check_times(from, to)
        .map_err(|error| AnalyticsError::Invalid(error.to_string()))?;
    if to - from > MAX_ANALYTICS_RANGE_MS {
        return Err(AnalyticsError::Invalid(format!(
            "parameter `to`: the range [{from}, {to}) is longer than 400 days"
        )));
    }
    Ok(())
}
