//! The "Product analytics (demo)" dashboard, which shows the simulated traffic.

use app::dashboard::{AnalyticsSource, Dashboard, GridRect, Widget, WidgetKind};
use app::events::PAGE_VIEW;
use app::query::Aggregation;

use super::simulation::EXPERIMENT_ID;

/// The demo dashboard.
pub(super) fn dashboard(funnel_id: &str) -> Dashboard {
    let at = |x, y, w, h| GridRect { x, y, w, h };
    let mut dashboard = Dashboard::new("Product analytics (demo)");
    dashboard.description = "Simulated traffic from livedash --demo.".into();
    let latency = Widget::new(
        "latency",
        WidgetKind::Percentiles,
        "Response time",
        at(0, 4, 6, 8),
    )
    .showing(
        "http_request_duration_ms",
        Aggregation::Quantile { q: 0.99 },
    )
    .grouped_by(&[])
    .with_unit("ms");
    let heatmap = Widget::new(
        "latency-heatmap",
        WidgetKind::Heatmap,
        "Response time distribution",
        at(0, 27, 12, 8),
    )
    .showing("http_request_duration_ms", Aggregation::Quantile { q: 0.5 })
    .grouped_by(&[])
    .with_unit("ms");
    let mut averages = Widget::new(
        "latency-band",
        WidgetKind::Line,
        "Average response time by service, with its min/max band",
        at(0, 35, 12, 8),
    )
    .showing("http_request_duration_ms", Aggregation::Avg)
    .grouped_by(&["service"])
    .with_unit("ms");
    averages.display.band = true;
    let mut page_views = Widget::new(
        "page-views",
        WidgetKind::Stat,
        "Page views per second",
        at(3, 0, 3, 4),
    )
    .showing("events{event=\"page_view\"}", Aggregation::Rate)
    .grouped_by(&[]);
    page_views.display.decimals = Some(1);
    dashboard.widgets = vec![
        Widget::new(
            "visitors",
            WidgetKind::Uniques,
            "Unique visitors",
            at(0, 0, 3, 4),
        )
        .with_source(AnalyticsSource::default()),
        page_views,
        Widget::new("signups", WidgetKind::Stat, "Sign-ups", at(6, 0, 3, 4))
            .showing("events{event=\"signup_completed\"}", Aggregation::Sum)
            .grouped_by(&[]),
        Widget::new(
            "errors",
            WidgetKind::Stat,
            "Errors per second",
            at(9, 0, 3, 4),
        )
        .showing("http_requests_total{status=\"500\"}", Aggregation::Rate)
        .grouped_by(&[]),
        latency,
        Widget::new(
            "funnel",
            WidgetKind::Funnel,
            "Sign-up funnel",
            at(6, 4, 6, 8),
        )
        .with_source(AnalyticsSource {
            id: funnel_id.into(),
            ..AnalyticsSource::default()
        }),
        Widget::new(
            "experiment",
            WidgetKind::Experiment,
            "Checkout button experiment",
            at(0, 12, 8, 7),
        )
        .with_source(AnalyticsSource {
            id: EXPERIMENT_ID.into(),
            ..AnalyticsSource::default()
        }),
        Widget::new(
            "top-pages",
            WidgetKind::TopValues,
            "Top pages",
            at(8, 12, 4, 7),
        )
        .with_source(AnalyticsSource {
            event: PAGE_VIEW.into(),
            property: "path".into(),
            ..AnalyticsSource::default()
        }),
        Widget::new(
            "requests",
            WidgetKind::Line,
            "Requests per second by service",
            at(0, 19, 6, 8),
        )
        .showing("http_requests_total", Aggregation::Rate)
        .grouped_by(&["service"]),
        Widget::new(
            "feed",
            WidgetKind::EventFeed,
            "Latest events",
            at(6, 19, 6, 8),
        )
        .with_source(AnalyticsSource::default()),
        heatmap,
        averages,
    ];
    dashboard
}
