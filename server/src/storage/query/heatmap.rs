//! Heatmaps: how many observations of histograms fell in each value row, per step.

use std::collections::BTreeMap;

use app::query::{Aggregation, Selector};

use super::error::QueryError;
use crate::storage::Store;
use crate::storage::plan::Reading;
use crate::storage::sketch::Sketch;

/// Value rows of a heatmap.
pub const HEATMAP_ROWS: usize = 24;

impl Store {
    /// A heatmap of histogram `selector` over `[from, to)`: per step, how many observations fell
    /// in each of [`HEATMAP_ROWS`] log-spaced value rows. Every step merges its buckets' (and
    /// series') sketches, so a range reads the same whatever tier it comes from.
    ///
    /// # Errors
    /// A bad selector, range or step, a series that is not a histogram, or storage failed.
    pub async fn heatmap(
        &self,
        selector: &Selector,
        (from, to, step_ms): (i64, i64, Option<i64>),
        now_ms: i64,
    ) -> Result<app::events::Heatmap, QueryError> {
        let aggregation = Aggregation::Quantile { q: 0.5 };
        let resolved = self.resolve(selector, aggregation).await?;
        // Sketches live in the rollup tiers; raw points would only give exact values.
        let plan = self.planner(now_ms).plan(
            (from, to, step_ms),
            Reading::RollupSketches,
            resolved.series.len(),
        )?;
        let per_series = futures::future::try_join_all(
            resolved
                .series
                .iter()
                .map(|(id, _)| self.read_series(id, &plan, aggregation, now_ms)),
        )
        .await?;
        let mut columns: BTreeMap<i64, Sketch> = BTreeMap::new();
        for steps in &per_series {
            for (start, accumulator) in steps.iter() {
                if let Some(extra) = &accumulator.extra
                    && extra.sketch.count() > 0
                {
                    columns.entry(start).or_default().merge(&extra.sketch);
                }
            }
        }
        let (mut low, mut high) = (f64::INFINITY, 0.0_f64);
        for sketch in columns.values() {
            for (value, _) in sketch.values().filter(|(value, _)| *value > 0.0) {
                low = low.min(value);
                high = high.max(value);
            }
        }
        if !low.is_finite() {
            (low, high) = (1.0, 10.0);
        }
        if high <= low * 1.01 {
            (low, high) = (low / 1.1, high * 1.1);
        }
        let ratio = (high / low).ln() / HEATMAP_ROWS as f64;
        let bounds: Vec<f64> = (0..=HEATMAP_ROWS)
            .map(|row| low * (ratio * row as f64).exp())
            .collect();
        let row_of = |value: f64| {
            if value <= low {
                0
            } else {
                (((value / low).ln() / ratio) as usize).min(HEATMAP_ROWS - 1)
            }
        };
        Ok(app::events::Heatmap {
            step_ms: plan.step_ms,
            from: plan.from,
            to: plan.to,
            bounds,
            columns: columns
                .into_iter()
                .map(|(start, sketch)| {
                    let mut counts = vec![0_u64; HEATMAP_ROWS];
                    for (value, count) in sketch.values() {
                        counts[row_of(value)] += count;
                    }
                    (start, counts)
                })
                .collect(),
        })
    }
}
