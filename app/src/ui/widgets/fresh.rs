//! A fresh widget of a kind, as the editor and Explore add one, and an id no other widget of a
//! dashboard has.

use crate::dashboard::{AnalyticsSource, Dashboard, GridRect, Widget, WidgetKind};
use crate::events::PAGE_VIEW;
use crate::query::Aggregation;

/// An id no widget of `dashboard` has.
pub fn new_widget_id(dashboard: &Dashboard) -> String {
    (1..)
        .map(|n| format!("w{n}"))
        .find(|id| dashboard.widgets.iter().all(|widget| widget.id != *id))
        .unwrap_or_default()
}

/// A fresh widget of `kind` at `layout`, with a query to fill in.
#[must_use]
pub fn new_widget(id: &str, kind: WidgetKind, layout: GridRect) -> Widget {
    let mut widget = Widget::new(id, kind, kind.label(), layout);
    if kind.uses_query() {
        let aggregation = if matches!(kind, WidgetKind::Table | WidgetKind::TopN) {
            Aggregation::Last
        } else {
            Aggregation::Avg
        };
        widget = widget.showing("", aggregation);
    }
    if kind == WidgetKind::Text {
        widget.text = "## Notes\n\nWrite **markdown** here.".to_owned();
    }
    if kind.uses_source() {
        let ranked = kind == WidgetKind::TopValues;
        let property = match kind {
            WidgetKind::TopValues => "path",
            WidgetKind::WebRanking => "page",
            _ => "",
        };
        widget = widget.with_source(AnalyticsSource {
            id: String::new(),
            event: if ranked { PAGE_VIEW } else { "" }.to_owned(),
            property: property.to_owned(),
        });
    }
    widget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_ids_are_fresh() {
        let mut dashboard = Dashboard::new("t");
        dashboard.widgets.push(new_widget(
            "w1",
            WidgetKind::Line,
            GridRect {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
            },
        ));
        dashboard.widgets.push(new_widget(
            "w3",
            WidgetKind::Line,
            GridRect {
                x: 1,
                y: 0,
                w: 1,
                h: 1,
            },
        ));
        assert_eq!(new_widget_id(&dashboard), "w2");
    }
}
