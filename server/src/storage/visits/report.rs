//! Reading a site's web analytics back: its counts over a range, added up over buckets and
//! partitions.

use std::collections::HashMap;

use app::web::{Ranked, WebReport};
use futures::future::try_join_all;
use redis::RedisError;

use super::session::{DIMENSIONS, TIERS};
use super::{CURRENT_WINDOW_MS, MINUTE_SPAN_MS};
use crate::storage::{StorageError, Store};

/// The rankings every report has: pages viewed, entry and exit pages, then [`DIMENSIONS`].
pub(super) fn ranking_names() -> impl Iterator<Item = &'static str> {
    ["page", "entry", "exit"].into_iter().chain(DIMENSIONS)
}

/// Which count buckets a report over `[from, to)` reads: their tier's letter and their starts
/// (minutes up to six hours, hours beyond; the range widened to whole buckets).
pub(super) fn report_buckets(from: i64, to: i64) -> (&'static str, i64, Vec<i64>) {
    let (tier, width) = TIERS[usize::from(to - from > MINUTE_SPAN_MS)];
    let first = from - from.rem_euclid(width);
    let starts = (0..)
        .map(|n| first + n * width)
        .take_while(|start| *start < to)
        .collect();
    (tier, width, starts)
}

/// `values` (summed over partitions) as a ranking, most first.
pub(super) fn ranked(values: HashMap<String, f64>) -> Vec<Ranked> {
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
    ranked
}

impl Store {
    /// The web analytics of `site` over `[from, to)` from its counts: the visits that started
    /// in it, the pages viewed and the visitors (a HyperLogLog per bucket) in it, read from minute
    /// counts for ranges of up to six hours and from hour counts beyond (the range widened to
    /// whole buckets).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn visit_report(
        &self,
        site: &str,
        from: i64,
        to: i64,
        now_ms: i64,
    ) -> Result<WebReport, StorageError> {
        let (tier, _, starts) = report_buckets(from, to);
        if starts.is_empty() {
            return Ok(WebReport::default());
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
                // Partitions hold different users: their visitors add up.
                pipe.cmd("PFCOUNT");
                for bucket in &buckets {
                    pipe.arg(format!("{bucket}:u"));
                }
                let reply: Vec<redis::Value> = pipe.query_async(&mut self.connection()).await?;
                Ok::<_, StorageError>((buckets.len(), reply))
            }
        });
        let mut report = WebReport::default();
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
            let mut count = || {
                redis::from_redis_value::<u64>(values.next().unwrap_or(redis::Value::Int(0)))
                    .map_err(RedisError::from)
            };
            report.current_visitors += count()?;
            report.visitors += count()?;
        }
        for (ranking, values) in rankings {
            report.rankings.insert(ranking.to_owned(), ranked(values));
        }
        Ok(report)
    }
}
