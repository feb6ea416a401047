//! What every widget body draws with (its data, the window shown, the page's connection), the
//! grid's pixel sizes, and how fresh a widget's data is, for its header.

use leptos::prelude::*;

use crate::dashboard::Widget;
use crate::live::View;
use crate::model::format_utc;
use crate::ui::shared::status::ConnectionStatus;

/// Pixel height of one grid row, and the gap between cells; the stylesheet uses the same.
pub const ROW_PX: u32 = 36;
pub const GAP_PX: u32 = 8;
/// Height of a widget's header.
pub const HEADER_PX: u32 = 34;

/// What every widget body needs besides its own settings.
#[derive(Clone, Copy)]
pub struct WidgetContext {
    /// The widget's data.
    pub view: RwSignal<View>,
    /// The span shown, `[from, to]` ms; it moves with time for relative ranges.
    pub window: Signal<(i64, i64)>,
    /// The page's live connection.
    pub status: RwSignal<ConnectionStatus>,
    /// A percentiles widget's data, one view per quantile of [`crate::widget_data::PERCENTILES`].
    pub percentiles: [RwSignal<View>; 4],
    /// A line chart's min/max band, one view per entry of [`crate::widget_data::BAND`].
    pub band: [RwSignal<View>; 2],
    /// The alert states a chart marks: every state's newest value (the levels of those that
    /// fire are drawn), and the changes of the alerts on its query over its window.
    pub alerts: [RwSignal<View>; 2],
    /// The share link the page shows the dashboard through, if any (widgets that ask the
    /// server themselves ask through it; only in the browser).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub share: StoredValue<Option<String>>,
}

/// "Reconnecting…" or "No new data since …" for a widget's header, or nothing while its data
/// is fresh.
#[must_use]
pub fn freshness(widget: &Widget, context: &WidgetContext) -> Option<(String, &'static str)> {
    if !widget.kind.uses_query() {
        return None;
    }
    match context.status.get() {
        ConnectionStatus::Reconnecting { .. } => {
            return Some(("Reconnecting…".into(), "badge badge-down"));
        }
        ConnectionStatus::Degraded { .. } => return Some(("Delayed".into(), "badge badge-wait")),
        ConnectionStatus::Ended { .. } => return Some(("Ended".into(), "badge badge-down")),
        ConnectionStatus::Connecting | ConnectionStatus::Live => {}
    }
    let (_, to) = context.window.get();
    context.view.with(|view| {
        if let Some(refused) = &view.refused {
            return Some((refused.clone(), "badge badge-down"));
        }
        view.cursor.as_ref()?;
        let newest = view
            .lines
            .values()
            .filter_map(|points| points.keys().next_back().copied())
            .chain(view.latest.values().map(|value| value.ts))
            .max();
        // Stale: nothing within three steps (at least a minute) of the end of the window.
        let patience = (view.step_ms * 3).max(60_000);
        match newest {
            None => Some(("No data".into(), "badge badge-wait")),
            Some(newest) if newest < to - patience => Some((
                format!("Stale since {}", format_utc(newest)),
                "badge badge-wait",
            )),
            Some(_) => None,
        }
    })
}
