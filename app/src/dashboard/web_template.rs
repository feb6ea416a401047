//! The built-in Web analytics dashboard of a site: ordinary widgets (so it can be edited like
//! any dashboard) showing its visitors, visits and their sources, pages and devices.

use crate::dashboard::{AnalyticsSource, Dashboard, DashboardRange, GridRect, Widget, WidgetKind};

/// The rankings the dashboard shows, with their place: two rows of three, then one.
const RANKED: [(&str, u32, u32); 9] = [
    ("page", 0, 5),
    ("entry", 4, 5),
    ("exit", 8, 5),
    ("channel", 0, 13),
    ("referrer", 4, 13),
    ("utm_campaign", 8, 13),
    ("browser", 0, 21),
    ("os", 4, 21),
    ("device", 8, 21),
];

/// The Web analytics dashboard of `site` (`""`: the events sent without a site).
#[must_use]
pub fn web_analytics(site: &str) -> Dashboard {
    let shown = if site.is_empty() { "(no site)" } else { site };
    let mut dashboard = Dashboard::new(format!("Web analytics: {shown}"));
    dashboard.description =
        "Visitors, visits and where they came from. Click a row to filter every widget by it."
            .into();
    dashboard.range = DashboardRange::Last { ms: 86_400_000 };
    let source = |ranking: &str| AnalyticsSource {
        id: site.to_owned(),
        property: ranking.to_owned(),
        ..AnalyticsSource::default()
    };
    let mut widgets = vec![
        Widget::new(
            "web-stats",
            WidgetKind::WebStats,
            "Overview",
            GridRect {
                x: 0,
                y: 0,
                w: 12,
                h: 5,
            },
        )
        .with_source(source("")),
    ];
    for (ranking, x, y) in RANKED {
        widgets.push(
            Widget::new(
                &format!("web-{ranking}"),
                WidgetKind::WebRanking,
                crate::web::ranking_label(ranking),
                GridRect { x, y, w: 4, h: 8 },
            )
            .with_source(source(ranking)),
        );
    }
    widgets.push(
        Widget::new(
            "web-visitor",
            WidgetKind::WebRanking,
            crate::web::ranking_label("visitor"),
            GridRect {
                x: 0,
                y: 29,
                w: 4,
                h: 6,
            },
        )
        .with_source(source("visitor")),
    );
    widgets.push(
        Widget::new(
            "web-feed",
            WidgetKind::EventFeed,
            "Latest events (click a user for their timeline)",
            GridRect {
                x: 4,
                y: 29,
                w: 8,
                h: 6,
            },
        )
        .with_source(AnalyticsSource::default()),
    );
    dashboard.widgets = widgets;
    dashboard
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard passes the rules every saved dashboard must.
    #[test]
    fn the_built_in_dashboard_is_a_valid_dashboard() {
        assert_eq!(web_analytics("shop.example").validate(), Ok(()));
        assert_eq!(web_analytics("").validate(), Ok(()));
    }
}
