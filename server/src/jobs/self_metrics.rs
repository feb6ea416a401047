//! livedash's own metrics, recorded like any other series at a fixed interval, and the
//! "Overview" dashboard of them that exists from the first start.
//!
//! Series (label `instance`: the process's name, `LIVEDASH_INSTANCE`, so several processes stay
//! apart):
//! `livedash_points_stored_total` (counter: points written through the group-commit writer,
//! these included), `livedash_live_viewers` and `livedash_live_queries` (gauges),
//! `livedash_redis_latency_ms` (histogram of `PING` round trips), `livedash_memory_bytes`
//! (gauge: resident memory).

use std::time::Duration;

use app::clock::now_ms;
use app::dashboard::{Dashboard, GridRect, Widget, WidgetKind};
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::query::Aggregation;
use tokio_util::sync::CancellationToken;

use crate::live::Hub;
use crate::storage::Store;
use crate::storage::dashboards::DashboardError;
use crate::storage::writer::Writer;

/// Records the metrics every `interval` until `shutdown`.
pub async fn record(
    store: Store,
    writer: Writer,
    hub: Hub,
    instance: String,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stored_before = writer.stored_total();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let ts = now_ms();
        let series = |name: &str| SeriesKey::new(name).with_label("instance", &instance);
        let point = |name: &str, kind, value| Observation {
            series: series(name),
            kind,
            ts,
            value: Observed::Number(value),
        };
        let stored = writer.stored_total();
        let mut batch = vec![
            point(
                "livedash_points_stored_total",
                MetricKind::Counter,
                (stored - stored_before) as f64,
            ),
            point(
                "livedash_live_viewers",
                MetricKind::Gauge,
                hub.listeners() as f64,
            ),
            point(
                "livedash_live_queries",
                MetricKind::Gauge,
                hub.feeds() as f64,
            ),
        ];
        stored_before = stored;
        if let Ok(latency) = store.ping().await {
            batch.push(point(
                "livedash_redis_latency_ms",
                MetricKind::Histogram,
                latency.as_secs_f64() * 1000.0,
            ));
        }
        if let Some(bytes) = crate::telemetry::process::resident_bytes() {
            batch.push(point("livedash_memory_bytes", MetricKind::Gauge, bytes));
        }
        if let Err(error) = writer.write(batch).await {
            tracing::debug!(%error, "own metrics not recorded this time");
        }
    }
}

/// Creates the Overview dashboard unless one was created before (by this process or another:
/// a marker key decides, so concurrent first starts make one, and one deleted by a user stays
/// deleted).
///
/// # Errors
/// Redis failed.
pub async fn ensure_overview(store: &Store) -> Result<(), DashboardError> {
    if store.overview_id().await?.is_some() {
        return Ok(());
    }
    // The id is claimed before the dashboard exists, so a list never shows two; only the
    // process that claimed it creates it.
    let id = Store::new_dashboard_id()?;
    if store.claim_overview(&id).await? {
        store
            .create_dashboard_as(
                id,
                overview(),
                "Created on first start",
                "livedash",
                now_ms(),
            )
            .await?;
    }
    Ok(())
}

/// The Overview dashboard: livedash's own metrics.
#[must_use]
pub fn overview() -> Dashboard {
    let widget = |id: &str,
                  kind: WidgetKind,
                  title: &str,
                  layout: GridRect,
                  selector: &str,
                  aggregation: Aggregation,
                  unit: &str| {
        Widget::new(id, kind, title, layout)
            .showing(selector, aggregation)
            .grouped_by(&["instance"])
            .with_unit(unit)
    };
    let at = |x, y, w, h| GridRect { x, y, w, h };
    let mut dashboard = Dashboard::new("Overview");
    dashboard.description =
        "livedash's own metrics: what it stores, who watches, how Redis answers.".into();
    dashboard.widgets = vec![
        widget(
            "points-rate",
            WidgetKind::Line,
            "Points stored per second",
            at(0, 0, 8, 8),
            "livedash_points_stored_total",
            Aggregation::Rate,
            "points/s",
        ),
        widget(
            "viewers",
            WidgetKind::Stat,
            "Live viewers",
            at(8, 0, 4, 4),
            "livedash_live_viewers",
            Aggregation::Last,
            "",
        ),
        widget(
            "queries",
            WidgetKind::Stat,
            "Live queries",
            at(8, 4, 4, 4),
            "livedash_live_queries",
            Aggregation::Last,
            "",
        ),
        widget(
            "redis-p99",
            WidgetKind::Line,
            "Redis round trip, p99",
            at(0, 8, 8, 8),
            "livedash_redis_latency_ms",
            Aggregation::Quantile { q: 0.99 },
            "ms",
        ),
        widget(
            "memory",
            WidgetKind::Stat,
            "Memory",
            at(8, 8, 4, 8),
            "livedash_memory_bytes",
            Aggregation::Last,
            "B",
        ),
    ];
    dashboard
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Overview dashboard keeps every rule a saved dashboard keeps.
    #[test]
    fn overview_is_valid() {
        assert_eq!(overview().validate(), Ok(()));
    }
}
