//! One number: a stat (the newest value, its change, a sparkline) and a gauge.

use leptos::prelude::*;

use crate::dashboard::Widget;
use crate::format;
use crate::ui::charts::chart::{line_color, parse_colour, render_gauge, render_sparkline};
use crate::ui::charts::scene::SvgLayer;
use crate::ui::widgets::context::WidgetContext;
use crate::widget_data::{format_value, gauge_fraction, stat, threshold_color};

/// The newest value, its change against the period before, and a sparkline.
#[component]
pub fn StatBody(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> impl IntoView {
    let figures = Memo::new(move |_| {
        let (from, to) = context.window.get();
        context.view.with(|view| stat(view, to, to - from))
    });
    let display = Memo::new(move |_| widget.with(|widget| widget.display.clone()));
    let value = move || {
        figures.with(|figures| {
            figures.value.map_or_else(
                || "–".to_owned(),
                |value| format_value(value, &display.get()),
            )
        })
    };
    let colour = move || {
        let value = figures.with(|figures| figures.value)?;
        display.with(|display| threshold_color(value, display).map(str::to_owned))
    };
    let change = move || {
        figures.with(|figures| figures.change).map(|change| {
            let class = if change >= 0.0 {
                "stat-change up"
            } else {
                "stat-change down"
            };
            view! {
                <span class=class title="Mean of this period against the period before">
                    {format::change(change)}
                </span>
            }
        })
    };
    let spark = Memo::new(move |_| {
        let (from, to) = context.window.get();
        let (width, height) = size.get();
        let colour = colour().map_or(parse_colour(&line_color(0)), |c| parse_colour(&c));
        figures.with(|figures| {
            render_sparkline(
                &figures.spark,
                (from, to),
                (width, (height / 3).max(16)),
                colour,
            )
        })
    });
    view! {
        <div class="stat" data-testid="widget-stat">
            <div class="stat-line">
                <span class="stat-value" data-testid="stat-value" style=move || colour().map(|c| format!("color:{c}"))>
                    {value}
                </span>
                {change}
            </div>
            <SvgLayer class="sparkline" scene=spark />
        </div>
    }
}

/// A half-ring between the display's min and max, in the threshold's colour.
#[component]
pub fn GaugeBody(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> impl IntoView {
    let newest = Memo::new(move |_| {
        context.view.with(|view| {
            view.lines
                .values()
                .next()
                .and_then(|points| points.values().next_back().copied())
        })
    });
    let display = Memo::new(move |_| widget.with(|widget| widget.display.clone()));
    let fraction = move || {
        newest
            .get()
            .map_or(0.0, |value| display.with(|d| gauge_fraction(value, d)))
    };
    let arc = Memo::new(move |_| {
        let colour = newest
            .get()
            .and_then(|value| display.with(|d| threshold_color(value, d).map(parse_colour)))
            .unwrap_or_else(|| parse_colour(&line_color(2)));
        let (width, height) = size.get();
        render_gauge(
            fraction(),
            colour,
            (width, height.saturating_sub(8).max(40)),
        )
    });
    let text = move || {
        newest.get().map_or_else(
            || "–".to_owned(),
            |value| display.with(|d| format_value(value, d)),
        )
    };
    let ends = move || {
        display.with(|d| {
            let min = d.min.unwrap_or(0.0);
            let max = d.max.unwrap_or(100.0);
            (format_value(min, d), format_value(max, d))
        })
    };
    view! {
        <div class="gauge" data-testid="widget-gauge" data-fraction=move || format!("{:.4}", fraction())>
            <SvgLayer class="gauge-arc" scene=arc />
            <div class="gauge-value" data-testid="gauge-value">{text}</div>
            <div class="gauge-ends">
                <span>{move || ends().0}</span>
                <span>{move || ends().1}</span>
            </div>
        </div>
    }
}
