//! The live data behind a page's widgets: one view per widget (and per percentile or band
//! line), owned by the page.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::live::View;
use crate::ui::shared::status::ConnectionStatus;
use crate::ui::widgets::context::WidgetContext;

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

    /// The context a widget body draws with.
    pub fn context(&self, id: &str) -> WidgetContext {
        WidgetContext {
            view: self.view_of(id),
            window: self.window,
            share: self.share,
            status: self.status,
            percentiles: crate::widget_data::PERCENTILES
                .map(|(name, _)| self.view_of(&crate::widget_data::view_id(id, Some(name)))),
            band: crate::widget_data::BAND
                .map(|(name, _)| self.view_of(&crate::widget_data::view_id(id, Some(name)))),
        }
    }
}
