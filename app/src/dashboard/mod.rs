//! Dashboards: widgets on a 12-column grid, their queries and display options, versions, and
//! the grid rules the editor follows (collisions push widgets down, the layout compacts up).

pub mod document;
pub mod grid;
pub mod validation;
pub mod web_template;
pub mod widget;

pub use document::{
    CreatedShareLink, Dashboard, DashboardRange, DashboardSummary, SaveOutcome, ShareLink,
    VersionInfo,
};
pub use grid::{GRID_COLUMNS, GridRect, MAX_WIDGET_ROWS, compact, free_spot, place};
pub use validation::{
    InvalidDashboard, MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, MAX_THRESHOLDS, MAX_TITLE_CHARS,
    MAX_WIDGETS,
};
pub use widget::{AnalyticsSource, Display, Threshold, Widget, WidgetKind, WidgetQuery};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Aggregation;

    fn rect(x: u32, y: u32, w: u32, h: u32) -> GridRect {
        GridRect { x, y, w, h }
    }

    fn no_overlaps(rects: &[GridRect]) -> bool {
        rects.iter().enumerate().all(|(a, first)| {
            rects
                .iter()
                .skip(a + 1)
                .all(|second| !first.overlaps(second))
        })
    }

    /// Moving a widget onto another pushes that one down; the layout then closes gaps upwards.
    #[test]
    fn moving_onto_a_widget_pushes_it_down_and_compacts() {
        // A (0,0 6x4) and B (6,0 6x4) side by side, C (0,4 12x2) below both.
        let rects = [rect(0, 0, 6, 4), rect(6, 0, 6, 4), rect(0, 4, 12, 2)];
        // Drag B onto A's place.
        let placed = place(&rects, 1, rect(0, 0, 6, 4));
        assert_eq!(placed[1], rect(0, 0, 6, 4), "B where it was dropped");
        assert_eq!(placed[0], rect(0, 4, 6, 4), "A pushed below B");
        assert_eq!(placed[2], rect(0, 8, 12, 2), "C pushed below A");
        assert!(no_overlaps(&placed));
    }

    /// A widget moved away leaves a gap that the ones below close.
    #[test]
    fn gaps_close_upwards() {
        let rects = [rect(0, 0, 12, 3), rect(0, 3, 4, 2), rect(4, 3, 4, 5)];
        // Move the top one to the right of the others, below them.
        let placed = place(&rects, 0, rect(0, 20, 12, 3));
        assert_eq!(placed[1], rect(0, 0, 4, 2));
        assert_eq!(placed[2], rect(4, 0, 4, 5));
        assert_eq!(
            placed[0],
            rect(0, 5, 12, 3),
            "rises to just below the others"
        );
    }

    /// Dragging a widget down onto the one below swaps their order.
    #[test]
    fn moving_down_steps_over() {
        let rects = [rect(0, 0, 6, 2), rect(0, 2, 6, 2)];
        let placed = place(&rects, 0, rect(0, 3, 6, 2));
        assert_eq!(placed[1], rect(0, 0, 6, 2));
        assert_eq!(placed[0], rect(0, 2, 6, 2));
    }

    /// Resizing wider than the grid is clamped; growing pushes neighbours down.
    #[test]
    fn resizing_clamps_and_pushes() {
        let rects = [rect(0, 0, 4, 4), rect(4, 0, 4, 4)];
        let placed = place(&rects, 0, rect(0, 0, 20, 4));
        assert_eq!(placed[0], rect(0, 0, 12, 4));
        assert_eq!(placed[1], rect(4, 4, 4, 4));
        let placed = place(&rects, 1, rect(10, 0, 4, 4));
        assert_eq!(placed[1], rect(8, 0, 4, 4), "kept inside the 12 columns");
    }

    /// New widgets take the first free spot from the top left.
    #[test]
    fn new_widgets_fill_free_space() {
        let rects = [rect(0, 0, 6, 4)];
        assert_eq!(free_spot(&rects, 6, 4), rect(6, 0, 6, 4));
        assert_eq!(free_spot(&rects, 8, 2), rect(0, 4, 8, 2));
        assert_eq!(free_spot(&[], 3, 3), rect(0, 0, 3, 3));
    }

    /// Every random sequence of moves and resizes leaves a layout without overlaps and
    /// without a widget that could rise.
    #[test]
    fn random_edits_keep_the_layout_sound() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n)) as u32
        };
        let mut rects: Vec<GridRect> = Vec::new();
        for _ in 0..12 {
            let (w, h) = (1 + next(6), 1 + next(5));
            rects.push(free_spot(&rects, w, h));
        }
        for _ in 0..500 {
            let moved = next(rects.len() as u32) as usize;
            let to = rect(next(12), next(30), 1 + next(12), 1 + next(8));
            rects = place(&rects, moved, to);
            assert!(no_overlaps(&rects), "{rects:?}");
            let mut settled = rects.clone();
            compact(&mut settled);
            assert_eq!(settled, rects, "nothing can rise further");
        }
    }

    fn sample() -> Dashboard {
        let mut dashboard = Dashboard::new("Service health");
        dashboard.widgets.push(
            Widget::new("w1", WidgetKind::Line, "CPU", rect(0, 0, 6, 8))
                .showing(r#"cpu_usage{host="a"}"#, Aggregation::Avg),
        );
        dashboard
    }

    /// A sound dashboard passes; each broken rule is named by its field.
    #[test]
    fn validation_names_the_field() {
        assert_eq!(sample().validate(), Ok(()));
        let broken = |change: fn(&mut Dashboard)| {
            let mut dashboard = sample();
            change(&mut dashboard);
            dashboard.validate().unwrap_err().field
        };
        assert_eq!(broken(|d| d.title = "  ".into()), "title");
        assert_eq!(broken(|d| d.widgets[0].layout.w = 13), "widgets[0].layout");
        assert_eq!(broken(|d| d.widgets[0].layout.h = 0), "widgets[0].layout");
        assert_eq!(broken(|d| d.widgets[0].query = None), "widgets[0].query");
        assert_eq!(
            broken(|d| d.widgets[0].query.as_mut().unwrap().selector = "cpu{".into()),
            "widgets[0].query.selector"
        );
        assert_eq!(
            broken(|d| d.widgets[0].display.thresholds.push(Threshold {
                value: 1.0,
                color: "red; background:url(x)".into()
            })),
            "widgets[0].display.thresholds[0].color"
        );
        assert_eq!(
            broken(|d| {
                let mut copy = d.widgets[0].clone();
                copy.layout.x = 3;
                d.widgets.push(copy);
            }),
            "widgets[1].id"
        );
        assert_eq!(
            broken(|d| {
                let mut copy = d.widgets[0].clone();
                copy.id = "w2".into();
                copy.layout.x = 3;
                d.widgets.push(copy);
            }),
            "widgets[1].layout"
        );
    }

    /// The JSON form is what export writes and import reads; defaults fill what is left out.
    #[test]
    fn json_round_trip_with_defaults() {
        let dashboard = sample();
        let json = serde_json::to_string(&dashboard).unwrap();
        assert_eq!(serde_json::from_str::<Dashboard>(&json).unwrap(), dashboard);
        let minimal: Dashboard = serde_json::from_str(
            r#"{"title":"t","widgets":[{"id":"n","kind":"text","layout":{"x":0,"y":0,"w":4,"h":2},"text":"hi"}]}"#,
        )
        .unwrap();
        assert_eq!(minimal.range, DashboardRange::default());
        assert!(minimal.widgets[0].display.legend);
        assert_eq!(minimal.validate(), Ok(()));
    }
}
