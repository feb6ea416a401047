//! Reading visits back: a site's counts over a range, added up over buckets and partitions.

use std::collections::{BTreeMap, HashMap};

use futures::future::try_join_all;
use redis::RedisError;
use serde::Serialize;

use super::session::{DIMENSIONS, TIERS};
use super::{CURRENT_WINDOW_MS, MINUTE_SPAN_MS};
use crate::storage::{StorageError, Store};

/// A site's visits that started in a range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VisitReport {
    pub visits: u64,
    pub pageviews: u64,
    /// The visits' durations added up (first to last event), ms.
    pub duration_ms: u64,
    /// Visits with at most one page view and no other event.
    pub bounces: u64,
    /// Users with an event in the last five minutes (whatever the range).
    pub current_visitors: u64,
    /// Per ranking (`entry`, `exit`, and each dimension: `channel`, `referrer`, `utm_source`, …,
    /// `device`), its values by visits, most first.
    pub rankings: BTreeMap<String, Vec<Ranked>>,
}

/// One value of a ranking and the visits it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub value: String,
    pub visits: u64,
}

/// The rankings every report has: entry and exit pages, then [`DIMENSIONS`].
fn ranking_names() -> impl Iterator<Item = &'static str> {
    ["entry", "exit"].into_iter().chain(DIMENSIONS)
}

impl Store {
    /// The visits of `site` that started in `[from, to)`, read from minute counts for ranges of
    /// up to six hours and from hour counts beyond (the range widened to whole buckets).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn visit_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        now_ms: i64,
    ) -> Result<VisitReport, StorageError> {
        let (tier, width) = TIERS[usize::from(to - from > MINUTE_SPAN_MS)];
        let first = from - from.rem_euclid(width);
        let starts: Vec<i64> = (0..)
            .map(|n| first + n * width)
            .take_while(|start| *start < to)
            .collect();
        if starts.is_empty() {
            return Ok(VisitReport::default());
        }
        let reads = (0..self.log.count()).map(|partition| {
            let base = self.keys.visits_base(site, partition);
            let starts = &starts;
            async move {
                let buckets: Vec<String> = starts
                    .iter()
                    .map(|start| format!("{base}{tier}:{start}"))
                    .collect();
                let mut pipe = redis::pipe();
                for bucket in &buckets {
                    pipe.cmd("HGETALL").arg(bucket);
                }
                for ranking in ranking_names() {
                    pipe.cmd("ZUNION").arg(buckets.len());
                    for bucket in &buckets {
                        pipe.arg(format!("{bucket}:{ranking}"));
                    }
                    pipe.arg("WITHSCORES");
                }
                pipe.cmd("ZCOUNT")
                    .arg(format!("{base}cur"))
                    .arg(now_ms - CURRENT_WINDOW_MS)
                    .arg("+inf");
                let reply: Vec<redis::Value> = pipe.query_async(&mut self.connection()).await?;
                Ok::<_, StorageError>((buckets.len(), reply))
            }
        });
        let mut report = VisitReport::default();
        let mut rankings: HashMap<&str, HashMap<String, f64>> = HashMap::new();
        for (buckets, reply) in try_join_all(reads).await? {
            let mut values = reply.into_iter();
            for _ in 0..buckets {
                let counts: HashMap<String, i64> =
                    redis::from_redis_value(values.next().unwrap_or(redis::Value::Nil))
                        .map_err(RedisError::from)?;
                let get = |field: &str| u64::try_from(counts.get(field).copied().unwrap_or(0));
                report.visits += get("visits").unwrap_or(0);
                report.pageviews += get("pageviews").unwrap_or(0);
                report.duration_ms += get("duration").unwrap_or(0);
                report.bounces += get("bounces").unwrap_or(0);
            }
            for ranking in ranking_names() {
                let entries: Vec<(String, f64)> =
                    redis::from_redis_value(values.next().unwrap_or(redis::Value::Nil))
                        .map_err(RedisError::from)?;
                let merged = rankings.entry(ranking).or_default();
                for (value, visits) in entries {
                    *merged.entry(value).or_default() += visits;
                }
            }
            if let Some(current) = values.next() {
                report.current_visitors +=
                    redis::from_redis_value::<u64>(current).map_err(RedisError::from)?;
            }
        }
        for (ranking, values) in rankings {
            let mut ranked: Vec<Ranked> = values
                .into_iter()
                .filter(|(_, visits)| *visits >= 0.5)
                .map(|(value, visits)| Ranked {
                    value,
                    // Whole counts: each visit adds one.
                    visits: visits.round() as u64,
                })
                .collect();
            ranked.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.value.cmp(&b.value)));
            report.rankings.insert(ranking.to_owned(), ranked);
        }
        Ok(report)
    }
}
