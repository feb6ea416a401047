//! What a share link may show: the selectors and the analytics its dashboard's widgets ask
//! for, and nothing else. The server asks this before it answers a share link's viewer.

use crate::dashboard::Dashboard;
use crate::events::AnalyticsQuery;
use crate::query::Selector;
use crate::widget_data::analytics_query;

/// The selectors `dashboard`'s widgets show: all a share link's viewer may ask for.
#[must_use]
pub fn shown_selectors(dashboard: &Dashboard) -> Vec<Selector> {
    dashboard
        .widgets
        .iter()
        .filter_map(|widget| widget.query.as_ref())
        .filter_map(|query| Selector::parse(&query.selector).ok())
        .collect()
}

/// Whether a widget of `dashboard` asks `query` (for the window the query names): what a
/// share link's viewer may ask.
#[must_use]
pub fn shows(dashboard: &Dashboard, query: &AnalyticsQuery) -> bool {
    let window = match query {
        AnalyticsQuery::Top { from, to, .. }
        | AnalyticsQuery::Uniques { from, to, .. }
        | AnalyticsQuery::Heatmap { from, to, .. }
        | AnalyticsQuery::Web { from, to, .. } => (*from, *to - 1),
        AnalyticsQuery::Funnel { .. }
        | AnalyticsQuery::Experiment { .. }
        | AnalyticsQuery::Latest { .. } => (0, 0),
    };
    // A viewer may filter a web widget by what it shows, as the dashboard's own users can.
    let mut unfiltered = query.clone();
    if let AnalyticsQuery::Web { filters, .. } = &mut unfiltered {
        filters.clear();
    }
    dashboard
        .widgets
        .iter()
        .any(|widget| analytics_query(widget, window).as_ref() == Some(&unfiltered))
}
