//! Running a query: planning it, reading its series and combining them into lines per step.

use std::collections::BTreeMap;

use app::query::{Aggregation, NAME_LABEL, Query, QueryResult, ResultSeries};

use super::accumulate::Steps;
use super::error::QueryError;
use super::resolve::Resolved;
use crate::config::TIERS;
use crate::storage::Store;
use crate::storage::plan::{Planner, Reading, check_range};

impl Store {
    /// Plans queries at `now_ms` against this store's retention and query limits.
    pub(crate) fn planner(&self, now_ms: i64) -> Planner {
        Planner {
            now_ms,
            retention: self.retention(),
            limits: self.query_limits(),
        }
    }

    /// Runs `query` at time `now_ms`.
    ///
    /// # Errors
    /// See [`QueryError`].
    pub async fn query(&self, query: &Query, now_ms: i64) -> Result<QueryResult, QueryError> {
        let started = std::time::Instant::now();
        let result = self.run_query(query, now_ms).await;
        let refused = matches!(&result, Err(error) if !matches!(error, QueryError::Storage(_)));
        crate::telemetry::metrics().queried(started.elapsed(), refused);
        result
    }

    async fn run_query(&self, query: &Query, now_ms: i64) -> Result<QueryResult, QueryError> {
        // Checked before anything is resolved, so the parameter at fault is named as given.
        check_range(query.range)?;
        let (from, to) = query.range.resolve(now_ms);
        let resolved = self.resolve(&query.selector, query.aggregation).await?;
        self.compute(
            &resolved,
            query.aggregation,
            query.group_by.as_deref(),
            (from, to, query.step_ms),
            now_ms,
        )
        .await
    }

    /// Reads `resolved` over `[from, to)` at `step_ms` (or the default) and combines it into
    /// lines, one per distinct `group_by` label set.
    ///
    /// # Errors
    /// A bad range or step, or storage failed.
    pub async fn compute(
        &self,
        resolved: &Resolved,
        aggregation: Aggregation,
        group_by: Option<&[String]>,
        (from, to, step_ms): (i64, i64, Option<i64>),
        now_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        let Resolved {
            series,
            kind,
            by_name,
        } = resolved;
        let kind = *kind;
        let plan = self.planner(now_ms).plan(
            (from, to, step_ms),
            Reading::of(aggregation),
            series.len(),
        )?;

        // All series at once: the multiplexed connection pipelines the requests.
        let per_series = futures::future::try_join_all(
            series
                .iter()
                .map(|(id, _)| self.read_series(id, &plan, aggregation, now_ms)),
        )
        .await?;

        // Combine series into lines.
        let mut lines: BTreeMap<BTreeMap<String, String>, Steps> = BTreeMap::new();
        for ((_, key), steps) in series.iter().zip(per_series) {
            let labels = match group_by {
                None if *by_name => {
                    let mut labels = key.labels.clone();
                    labels.insert(NAME_LABEL.to_owned(), key.name.clone());
                    labels
                }
                None => key.labels.clone(),
                Some(group) => super::window::group_labels(key, group),
            };
            match lines.entry(labels) {
                // The line's first series: its steps are the line's (no copy).
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(steps);
                }
                std::collections::btree_map::Entry::Occupied(mut line) => {
                    for (start, accumulator) in steps.iter() {
                        line.get_mut().at(start).merge_series(accumulator);
                    }
                }
            }
        }

        let mut result = Vec::with_capacity(lines.len());
        for (labels, steps) in lines {
            let points = if matches!(aggregation, Aggregation::Unique) {
                self.unique_counts(&steps).await?
            } else {
                steps
                    .iter()
                    .filter_map(|(start, accumulator)| {
                        let elapsed = (start + plan.step_ms).min(now_ms) - start;
                        accumulator
                            .finish(aggregation, kind, elapsed as f64 / 1000.0)
                            .map(|value| (start, value))
                    })
                    .collect()
            };
            if !points.is_empty() {
                result.push(ResultSeries { labels, points });
            }
        }
        Ok(QueryResult {
            series: result,
            step_ms: plan.step_ms,
            tier: plan.tier.map_or("raw", |index| TIERS[index].0).to_owned(),
            from: plan.from,
            to: plan.to,
        })
    }
}
