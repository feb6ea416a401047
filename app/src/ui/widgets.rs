//! The widgets of a dashboard, each drawn from its live view: stat, gauge, line and bar
//! charts, table, top-N list and text note. User text is always shown as text.

use std::pin::Pin;

use leptos::either::{EitherOf3, EitherOf4, EitherOf5};
use leptos::prelude::*;

use super::analytics_widgets::analytics_body;
use super::chart::{
    ChartStyle, Legend, MARGIN, Y_LABEL_AREA, line_color, line_name, parse_colour, render_axes,
    render_gauge, render_series, render_sparkline, value_bounds,
};
use super::scene::SvgLayer;
use super::status::ConnectionStatus;
use crate::dashboard::{Display, Widget, WidgetKind};
use crate::format;
use crate::live::View;
use crate::model::format_utc;
use crate::widget_data::{
    Block, Inline, PERCENTILES, band_of, format_value, gauge_fraction, markdown, rows, series_name,
    stat, threshold_color,
};

/// Pixel height of one grid row, and the gap between cells; the stylesheet uses the same.
pub const ROW_PX: u32 = 36;
pub const GAP_PX: u32 = 8;
/// Height of a widget's header.
const HEADER_PX: u32 = 34;

/// What every widget body needs besides its own settings.
#[derive(Clone, Copy)]
pub struct WidgetContext {
    /// The widget's data.
    pub view: RwSignal<View>,
    /// The span shown, `[from, to]` ms; it moves with time for relative ranges.
    pub window: Signal<(i64, i64)>,
    /// The page's live connection.
    pub status: RwSignal<ConnectionStatus>,
    /// A percentiles widget's data, one view per quantile of [`PERCENTILES`].
    pub percentiles: [RwSignal<View>; 4],
    /// A line chart's min/max band, one view per entry of [`crate::widget_data::BAND`].
    pub band: [RwSignal<View>; 2],
    /// The share link the page shows the dashboard through, if any (widgets that ask the
    /// server themselves ask through it; only in the browser).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub share: StoredValue<Option<String>>,
}

/// The body's drawing size in pixels: measured in the browser, estimated from the layout on
/// the server (the grid is about 1 200 px wide).
fn body_size(widget: &Widget, measured: Option<(u32, u32)>) -> (u32, u32) {
    measured.unwrap_or_else(|| {
        let rect = widget.layout;
        (
            rect.w * 100 - GAP_PX,
            (rect.h * (ROW_PX + GAP_PX))
                .saturating_sub(GAP_PX + HEADER_PX + 16)
                .max(40),
        )
    })
}

/// A widget's body, by kind.
#[component]
pub fn WidgetBody(widget: Signal<Widget>, context: WidgetContext) -> impl IntoView {
    let kind = Memo::new(move |_| widget.with(|widget| widget.kind));
    let size = RwSignal::new(None::<(u32, u32)>);
    let body = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let measure = move || {
            if let Some(element) = body.get_untracked() {
                let (w, h) = (element.client_width(), element.client_height());
                if w > 0 && h > 0 {
                    size.set(Some((w.unsigned_abs(), h.unsigned_abs())));
                }
            }
        };
        // Again whenever the layout changes, and with the window.
        Effect::new(move |_| {
            widget.with(|widget| widget.layout);
            body.get();
            request_animation_frame(measure);
        });
        let handle = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || handle.remove());
    }
    let size: Signal<(u32, u32)> =
        Memo::new(move |_| widget.with(|widget| body_size(widget, size.get()))).into();
    view! {
        <div class="widget-body" node_ref=body>
            {move || match body_code(kind.get()) {
                BodyCode::Chart(style) => EitherOf3::A(view! { <Chart widget context size style /> }),
                BodyCode::Percentiles => EitherOf3::B(view! { <PercentilesBody widget context size /> }),
                BodyCode::Chunk(LazyBody { load, .. }) => EitherOf3::C(view! {
                    <Suspense fallback=|| ()>{move || Suspend::new(load(widget, context, size))}</Suspense>
                }),
            }}
        </div>
    }
}

/// Where the code that draws a widget kind's body is.
enum BodyCode {
    /// Line and bar charts, the most common kinds: in the main bundle.
    Chart(ChartStyle),
    /// In the main bundle too: it shares the charts' code.
    Percentiles,
    /// In a WASM chunk of its own, fetched the first time the page shows a widget of the kind: a
    /// dashboard downloads the code of the kinds it shows.
    Chunk(&'static LazyBody),
}

/// The one place that says which kinds are lazily loaded, and from which chunk: the body and
/// the chunk's preload must agree, or a server-rendered page with the kind would not hydrate.
fn body_code(kind: WidgetKind) -> BodyCode {
    match kind {
        WidgetKind::Line => BodyCode::Chart(ChartStyle::Lines),
        WidgetKind::Bar => BodyCode::Chart(ChartStyle::Bars),
        WidgetKind::Percentiles => BodyCode::Percentiles,
        WidgetKind::Stat => BodyCode::Chunk(&STAT),
        WidgetKind::Gauge => BodyCode::Chunk(&GAUGE),
        WidgetKind::Table | WidgetKind::TopN => BodyCode::Chunk(&ROWS),
        WidgetKind::Text => BodyCode::Chunk(&NOTE),
        WidgetKind::Uniques
        | WidgetKind::TopValues
        | WidgetKind::Funnel
        | WidgetKind::Experiment
        | WidgetKind::EventFeed
        | WidgetKind::Heatmap => BodyCode::Chunk(&ANALYTICS),
    }
}

/// A widget body in a chunk of its own (one chunk may serve several kinds).
struct LazyBody {
    /// Shows the body, once its chunk is loaded.
    load: LoadBody,
    /// Loads the chunk (only the browser's build is split).
    #[cfg(feature = "hydrate")]
    preload: fn() -> Pin<Box<dyn Future<Output = ()>>>,
}

/// One function type for every lazily loaded body, so that the bundle holds one `Suspense` for
/// them all.
type LoadBody = fn(
    Signal<Widget>,
    WidgetContext,
    Signal<(u32, u32)>,
) -> Pin<Box<dyn Future<Output = AnyView> + Send>>;

static STAT: LazyBody = LazyBody {
    load: |widget, context, size| Box::pin(stat_body(widget, context, size)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(__preload_stat_body()),
};

static GAUGE: LazyBody = LazyBody {
    load: |widget, context, size| Box::pin(gauge_body(widget, context, size)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(__preload_gauge_body()),
};

static ROWS: LazyBody = LazyBody {
    load: |widget, context, _| Box::pin(rows_body(widget, context)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(__preload_rows_body()),
};

static NOTE: LazyBody = LazyBody {
    load: |widget, _, _| Box::pin(note_body(widget)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(__preload_note_body()),
};

static ANALYTICS: LazyBody = LazyBody {
    load: |widget, context, _| Box::pin(analytics_body(widget, context)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(super::analytics_widgets::__preload_analytics_body()),
};

/// Loads the chunks of the lazily loaded widget kinds that the server-rendered page shows. The
/// browser awaits this before it hydrates the page: hydration must find the code of every widget
/// body already there, as it walks the server's markup in one pass.
#[cfg(feature = "hydrate")]
pub async fn load_kinds_shown() {
    let document = document();
    let mut chunks: Vec<&'static LazyBody> = Vec::new();
    for kind in WidgetKind::ALL {
        let BodyCode::Chunk(chunk) = body_code(kind) else {
            continue;
        };
        let frame = format!("[data-testid=widget][data-kind={kind:?}]");
        let shown = document.query_selector(&frame).ok().flatten().is_some();
        if shown && !chunks.iter().any(|known| std::ptr::eq(*known, chunk)) {
            chunks.push(chunk);
        }
    }
    futures::future::join_all(chunks.into_iter().map(|chunk| (chunk.preload)())).await;
}

#[lazy]
async fn stat_body(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> AnyView {
    view! { <StatBody widget context size /> }.into_any()
}

#[lazy]
async fn gauge_body(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> AnyView {
    view! { <GaugeBody widget context size /> }.into_any()
}

#[lazy]
async fn rows_body(widget: Signal<Widget>, context: WidgetContext) -> AnyView {
    view! { <Rows widget context /> }.into_any()
}

#[lazy]
async fn note_body(widget: Signal<Widget>) -> AnyView {
    view! { <Note widget /> }.into_any()
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
        view.cursor?;
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

/// Part of a chart's lines and bands, drawn on one layer.
#[derive(Clone, PartialEq)]
struct SeriesPart {
    lines: Vec<Vec<(i64, f64)>>,
    bands: Vec<Vec<(i64, f64, f64)>>,
    step: i64,
}

/// Line or bar chart, with legend and a hover read-out.
#[component]
fn Chart(
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
    // Two layers: the axes change when the window moves or the bounds change, the series with
    // every update.
    let bounds = Memo::new(move |_| {
        lines.with(|(lines, _)| {
            bands.with(|bands| {
                let mut all = lines.clone();
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
fn PercentilesBody(
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
                view.cursor = view.cursor.or(part.cursor);
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

/// The newest value, its change against the period before, and a sparkline.
#[component]
fn StatBody(
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
fn GaugeBody(
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

/// A table of current values by label, or the top N, largest first, with bars.
#[component]
fn Rows(widget: Signal<Widget>, context: WidgetContext) -> impl IntoView {
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

/// A markdown note, as text.
#[component]
fn Note(widget: Signal<Widget>) -> impl IntoView {
    let spans = |inlines: Vec<Inline>| {
        inlines
            .into_iter()
            .map(|inline| match inline {
                Inline::Text(text) => EitherOf4::A(view! { <span>{text}</span> }),
                Inline::Strong(text) => EitherOf4::B(view! { <strong>{text}</strong> }),
                Inline::Emphasis(text) => EitherOf4::C(view! { <em>{text}</em> }),
                Inline::Code(text) => EitherOf4::D(view! { <code>{text}</code> }),
            })
            .collect_view()
    };
    let blocks = move || {
        widget.with(|widget| markdown(&widget.text))
            .into_iter()
            .map(|block| match block {
                Block::Heading { level: 1, text } => EitherOf5::A(view! { <h3>{spans(text)}</h3> }),
                Block::Heading { text, .. } => EitherOf5::B(view! { <h4>{spans(text)}</h4> }),
                Block::Paragraph(text) => EitherOf5::C(view! { <p>{spans(text)}</p> }),
                Block::List(items) => EitherOf5::D(view! {
                    <ul>{items.into_iter().map(|item| view! { <li>{spans(item)}</li> }).collect_view()}</ul>
                }),
                Block::Code(text) => EitherOf5::E(view! { <pre>{text}</pre> }),
            })
            .collect_view()
    };
    view! { <div class="note-text" data-testid="widget-note">{blocks}</div> }
}
