//! Line and bar charts with a legend and a hover read-out, and a percentiles widget drawn as
//! the lines of one chart.

use leptos::prelude::*;

use crate::dashboard::Widget;
use crate::live::View;
use crate::model::format_utc;
use crate::ui::charts::chart::{
    ChartStyle, Legend, MARGIN, Y_LABEL_AREA, line_color, line_name, render_axes, render_series,
    value_bounds,
};
use crate::ui::charts::marks::{AlertMarks, alert_marks, render_marks};
use crate::ui::charts::scene::SvgLayer;
use crate::ui::widgets::context::WidgetContext;
use crate::widget_data::{PERCENTILES, band_of, format_value};

/// Part of a chart's lines and bands, drawn on one layer.
#[derive(Clone, PartialEq)]
struct SeriesPart {
    lines: Vec<Vec<(i64, f64)>>,
    bands: Vec<Vec<(i64, f64, f64)>>,
    step: i64,
}

/// Line or bar chart, with legend and a hover read-out.
#[component]
pub fn Chart(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
    style: ChartStyle,
) -> impl IntoView {
    let legend_shown = move || widget.with(|widget| widget.display.legend);
    let legend_px = move || if legend_shown() { 24 } else { 0 };
    let plot_size = move || {
        let (w, h) = size.get();
        (w, h.saturating_sub(legend_px()).max(40))
    };
    let lines = Memo::new(move |_| {
        let (from, to) = context.window.get();
        context.view.with(|view| {
            let lines: Vec<Vec<(i64, f64)>> = view
                .lines
                .values()
                .map(|points| points.range(from..=to).map(|(t, v)| (*t, *v)).collect())
                .collect();
            (lines, view.step_ms)
        })
    });
    // Each line's min/max band, when the widget shows one (same order as `lines`).
    let bands = Memo::new(move |_| {
        if !widget.with(|widget| widget.display.band) {
            return Vec::new();
        }
        let window = context.window.get();
        let [low, high] = context.band;
        context.view.with(|view| {
            low.with(|low| {
                high.with(|high| {
                    view.lines
                        .iter()
                        .map(|(labels, line)| {
                            band_of(line, low.lines.get(labels), high.lines.get(labels), window)
                        })
                        .collect::<Vec<_>>()
                })
            })
        })
    });
    // The alerts on the widget's query: levels of those firing, state changes in the window.
    // Worked out where needed, not kept: one more kind of memo would grow the main bundle.
    let marks = move || {
        let selector =
            widget.with(|widget| widget.query.as_ref().map(|query| query.selector.clone()));
        let Some(selector) = selector else {
            return AlertMarks::default();
        };
        let window = context.window.get();
        let [latest, changes] = context.alerts;
        latest
            .with(|latest| changes.with(|changes| alert_marks(&selector, latest, changes, window)))
    };
    // Two layers: the axes change when the window moves or the bounds change, the series with
    // every update.
    let bounds = Memo::new(move |_| {
        lines.with(|(lines, _)| {
            bands.with(|bands| {
                let mut all = lines.clone();
                // A firing alert's levels stay in sight.
                all.extend(marks().levels.iter().map(|(level, _)| vec![(0, *level)]));
                for band in bands {
                    all.push(
                        band.iter()
                            .flat_map(|(t, low, high)| [(*t, *low), (*t, *high)])
                            .collect(),
                    );
                }
                value_bounds(&all, style)
            })
        })
    });
    let axes = Memo::new(move |_| render_axes(context.window.get(), bounds.get(), plot_size()));
    // Each line's newest bucket is still open and changes with every update; the others change
    // only when a bucket closes or the window moves. They are drawn on a layer of their own, so
    // most updates redraw (and the browser parses and lays out) two buckets a line, not the
    // whole window: the newest and the one before, which joins it to the rest.
    let part = move |newest: bool| {
        Memo::new(move |_| {
            fn cut<T: Clone>(all: &[T], newest: bool) -> Vec<T> {
                if newest {
                    all[all.len().saturating_sub(2)..].to_vec()
                } else {
                    all[..all.len().saturating_sub(1)].to_vec()
                }
            }
            let (lines, step) = lines.with(|(lines, step)| {
                (lines.iter().map(|line| cut(line, newest)).collect(), *step)
            });
            let bands = bands.with(|bands| bands.iter().map(|band| cut(band, newest)).collect());
            SeriesPart { lines, bands, step }
        })
    };
    let layer = move |part: Memo<SeriesPart>| {
        Memo::new(move |_| {
            let window = context.window.get();
            part.with(|part| {
                render_series(
                    &part.lines,
                    &part.bands,
                    part.step,
                    window,
                    bounds.get(),
                    plot_size(),
                    style,
                )
            })
        })
    };
    let marked =
        Memo::new(move |_| render_marks(&marks(), context.window.get(), bounds.get(), plot_size()));
    let settled_series = layer(part(false));
    let newest_series = layer(part(true));
    let metric = move || {
        widget.with(|widget| {
            widget
                .query
                .as_ref()
                .map(|query| {
                    query
                        .selector
                        .split('{')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default()
        })
    };
    // A memo: the lines' names change far less often than their data.
    let legend = Memo::new(move |_| {
        let metric = metric();
        context.view.with(|view| {
            view.lines
                .keys()
                .enumerate()
                .map(|(index, labels)| (line_color(index), line_name(labels, &metric)))
                .collect::<Vec<_>>()
        })
    });
    let points = move || lines.with(|(lines, _)| lines.iter().map(Vec::len).sum::<usize>());
    // The pointer's x within the plot, in pixels, while it hovers.
    let hover = RwSignal::new(None::<i32>);
    let plot = NodeRef::<leptos::html::Div>::new();
    let track = move |event: leptos::ev::PointerEvent| {
        if let Some(element) = plot.get_untracked() {
            let left = element.get_bounding_client_rect().left();
            hover.set(Some(event.client_x() - left.round() as i32));
        }
    };
    let read_out = move || {
        let x = hover.get()?;
        let (width, _) = plot_size();
        let left = (MARGIN + Y_LABEL_AREA) as i32;
        let plot_width = (width as i32 - left - MARGIN as i32).max(1);
        if x < left || x > left + plot_width {
            return None;
        }
        let (from, to) = context.window.get();
        let at = from + (to - from) * i64::from(x - left) / i64::from(plot_width);
        let display = widget.with(|widget| widget.display.clone());
        let metric = metric();
        let values = context.view.with(|view| {
            view.lines
                .iter()
                .enumerate()
                .filter_map(|(index, (labels, points))| {
                    let (start, value) = points.range(..=at).next_back()?;
                    (at - start <= view.step_ms.max(1)).then(|| {
                        (
                            line_color(index),
                            line_name(labels, &metric),
                            format_value(*value, &display),
                        )
                    })
                })
                .collect::<Vec<_>>()
        });
        Some((x, format_utc(at), values))
    };
    view! {
        <figure
            class="chart"
            data-testid="widget-chart"
            data-points=points
            data-lines=move || lines.with(|(lines, _)| lines.len())
        >
            <div
                class="chart-plot"
                node_ref=plot
                on:pointermove=track
                on:pointerleave=move |_| hover.set(None)
            >
                <SvgLayer class="chart-svg" scene=axes />
                <SvgLayer class="chart-svg chart-series" scene=settled_series />
                <SvgLayer class="chart-svg chart-series" scene=newest_series />
                <SvgLayer class="chart-svg chart-series alert-marks" scene=marked />
                {move || {
                    read_out()
                        .map(|(x, time, values)| {
                            view! {
                                <div class="crosshair" style=format!("left:{x}px")></div>
                                <div
                                    class="tooltip"
                                    role="tooltip"
                                    data-testid="chart-tooltip"
                                    style=format!("left:{}px", x + 12)
                                >
                                    <div class="tooltip-time">{time}</div>
                                    {values
                                        .into_iter()
                                        .map(|(colour, name, value)| {
                                            view! {
                                                <div class="tooltip-row">
                                                    <span class="swatch" style=format!("background:{colour}")></span>
                                                    <span class="tooltip-name">{name}</span>
                                                    <span class="tooltip-value">{value}</span>
                                                </div>
                                            }
                                        })
                                        .collect_view()}
                                </div>
                            }
                        })
                }}
            </div>
            <Show when=legend_shown>
                <Legend entries=legend.into() />
            </Show>
        </figure>
    }
}

/// p50, p90, p95 and p99 of a histogram as four lines of one chart.
#[component]
pub fn PercentilesBody(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> impl IntoView {
    let merged = RwSignal::new(View::default());
    // Each quantile is its own live subscription; the chart draws them as one view whose lines
    // are named by quantile.
    Effect::new(move |_| {
        let mut view = View::default();
        for ((name, _), part) in PERCENTILES.iter().zip(context.percentiles) {
            part.with(|part| {
                if let Some(points) = part.lines.values().next() {
                    view.lines.insert(
                        std::iter::once((String::new(), (*name).to_owned())).collect(),
                        points.clone(),
                    );
                }
                view.step_ms = view.step_ms.max(part.step_ms);
                if view.cursor.is_none() {
                    view.cursor.clone_from(&part.cursor);
                }
                if view.refused.is_none() {
                    view.refused.clone_from(&part.refused);
                }
            });
        }
        merged.set(view);
    });
    let context = WidgetContext {
        view: merged,
        ..context
    };
    view! { <Chart widget context size style=ChartStyle::Lines /> }
}
