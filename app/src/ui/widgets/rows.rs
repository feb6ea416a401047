//! A table of current values by label, or the top N with bars.

use leptos::prelude::*;

use crate::dashboard::{Display, Widget, WidgetKind};
use crate::ui::widgets::context::WidgetContext;
use crate::widget_data::{format_value, rows, series_name, threshold_color};

/// A table of current values by label, or the top N, largest first, with bars.
#[component]
pub fn Rows(widget: Signal<Widget>, context: WidgetContext) -> impl IntoView {
    let listed = Memo::new(move |_| {
        let (kind, limit) = widget.with(|widget| (widget.kind, widget.display.limit));
        context.view.with(|view| rows(view, kind, limit))
    });
    let display = Memo::new(move |_| widget.with(|widget| widget.display.clone()));
    let top = move || widget.with(|widget| widget.kind == WidgetKind::TopN);
    let largest = move || {
        listed.with(|rows| {
            rows.iter()
                .map(|row| row.value.abs())
                .fold(0.0_f64, f64::max)
        })
    };
    let row_view = move |index: usize, name: String, value: f64, display: &Display| {
        let colour = threshold_color(value, display).map(|c| format!("color:{c}"));
        let bar = top().then(|| {
            let share = if largest() > 0.0 {
                value.abs() / largest() * 100.0
            } else {
                0.0
            };
            view! { <span class="bar" style=format!("width:{share:.1}%")></span> }
        });
        view! {
            <tr>
                {top().then(|| view! { <td class="rank">{index + 1}</td> })}
                <td class="row-name">{bar}<span>{name}</span></td>
                <td class="num" style=colour>{format_value(value, display)}</td>
            </tr>
        }
    };
    view! {
        <table class="values widget-rows" data-testid="widget-rows">
            <tbody>
                {move || {
                    let display = display.get();
                    listed
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(index, row)| row_view(index, series_name(&row), row.value, &display))
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}
