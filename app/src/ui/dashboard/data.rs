//! The live data behind a page's widgets: one view per widget (and per percentile or band
//! line), owned by the page.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::live::View;
use crate::ui::shared::status::ConnectionStatus;
use crate::ui::widgets::context::WidgetContext;

/// The view holding every alert instance's state (`livedash_alert_state`), which widgets
/// show badges from.
pub const ALERTS_VIEW: &str = "__alerts";

/// See [`DashboardData::alerts_view`].
#[must_use]
pub fn alerts_view(shared: bool, selector: &str) -> String {
    if shared {
        format!("{ALERTS_VIEW}:{selector}")
    } else {
        ALERTS_VIEW.to_owned()
    }
}

/// The live data behind a page's widgets.
#[derive(Clone, Copy)]
pub struct DashboardData {
    pub(super) views: StoredValue<HashMap<String, RwSignal<View>>>,
    pub(super) owner: StoredValue<Owner>,
    pub status: RwSignal<ConnectionStatus>,
    pub window: Signal<(i64, i64)>,
    /// The share link the page shows the dashboard through, if any.
    pub(super) share: StoredValue<Option<String>>,
}

impl DashboardData {
    /// The view of widget `id`, made on first use. Views belong to the page, so a widget that
    /// is redrawn (or an effect that reruns) never drops its data.
    pub fn view_of(&self, id: &str) -> RwSignal<View> {
        if let Some(view) = self.views.with_value(|views| views.get(id).copied()) {
            return view;
        }
        let view = self
            .owner
            .with_value(|owner| owner.with(|| RwSignal::new(View::default())));
        self.views.update_value(|views| {
            views.insert(id.to_owned(), view);
        });
        view
    }

    /// The view of the alert states that a widget querying `selector` shows: through a share
    /// link, one per selector (the link follows its widgets' alerts only); otherwise the one
    /// view of every state.
    #[must_use]
    pub fn alerts_view(&self, selector: &str) -> String {
        alerts_view(self.shared(), selector)
    }

    /// The worst state of the alerts on `selector` (rules made from the same query), with the
    /// names of the rules in it; `None` when none is pending or firing.
    pub fn alert_state(&self, selector: &str) -> Option<(crate::alerts::State, Vec<String>)> {
        use crate::alerts::State;
        // Made here if the feed has not asked for it yet, so that the badge follows it.
        self.view_of(&self.alerts_view(selector)).with(|view| {
            let mut worst: Option<(State, Vec<String>)> = None;
            for current in view.latest.values() {
                if current.series.labels.get("selector").map(String::as_str) != Some(selector) {
                    continue;
                }
                let Some(state) = State::from_code(current.value) else {
                    continue;
                };
                if state == State::Normal {
                    continue;
                }
                let name = current
                    .series
                    .labels
                    .get("alertname")
                    .cloned()
                    .unwrap_or_default();
                let rank = |state: State| {
                    u8::from(state.is_firing()) * 2 + u8::from(state == State::Firing)
                };
                match &mut worst {
                    Some((held, names)) if rank(*held) >= rank(state) => {
                        if rank(*held) == rank(state) && !names.contains(&name) {
                            names.push(name);
                        }
                    }
                    _ => worst = Some((state, vec![name])),
                }
            }
            worst
        })
    }

    /// Whether the page shows the dashboard through a share link.
    pub fn shared(&self) -> bool {
        self.share.with_value(Option::is_some)
    }

    /// The context a widget body draws with; `selector` is its query's.
    pub fn context(&self, id: &str, selector: &str) -> WidgetContext {
        WidgetContext {
            view: self.view_of(id),
            window: self.window,
            share: self.share,
            status: self.status,
            percentiles: crate::widget_data::PERCENTILES
                .map(|(name, _)| self.view_of(&crate::widget_data::view_id(id, Some(name)))),
            band: crate::widget_data::BAND
                .map(|(name, _)| self.view_of(&crate::widget_data::view_id(id, Some(name)))),
            alerts: [
                self.view_of(&self.alerts_view(selector)),
                self.view_of(&crate::widget_data::view_id(
                    id,
                    Some(crate::widget_data::ALERT_CHANGES),
                )),
            ],
        }
    }
}
