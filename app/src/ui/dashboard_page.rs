//! A dashboard in view mode (live, with a time-range picker and a kiosk mode, the range in the
//! address), the same read-only through a share link, and the grid both draw on.

use std::collections::HashMap;

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::json;
use super::share_panel;
use super::status::{ConnectionStatus, StatusPill, StorageBanner};
use super::widgets::{WidgetBody, WidgetContext, freshness};
use crate::api::{get_dashboard, shared_dashboard};
use crate::dashboard::{Dashboard, DashboardRange, GridRect, Widget};
use crate::live::View;
use crate::query::parse_duration_ms;

/// The relative ranges the picker offers.
pub const RANGES: [(&str, &str); 9] = [
    ("5m", "Last 5 minutes"),
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("12h", "Last 12 hours"),
    ("24h", "Last 24 hours"),
    ("2d", "Last 2 days"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// The current time in ms (the browser's clock in the browser).
#[must_use]
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// The range the address asks for (`?range=1h`, or `?from=…&to=…` in ms), if it asks.
#[must_use]
pub fn range_from_address(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Option<DashboardRange> {
    if let (Some(from), Some(to)) = (from, to) {
        let (from, to) = (from.parse().ok()?, to.parse().ok()?);
        return (to > from).then_some(DashboardRange::Absolute { from, to });
    }
    let ms = parse_duration_ms(range?).ok()?;
    (ms > 0).then_some(DashboardRange::Last { ms })
}

/// `?range=1h` or `?from=…&to=…` for `range`.
#[must_use]
pub fn range_query(range: DashboardRange) -> String {
    match range {
        DashboardRange::Last { ms } => format!("range={}", duration_text(ms)),
        DashboardRange::Absolute { from, to } => format!("from={from}&to={to}"),
    }
}

/// `5m`, `1h`, `7d`: the largest whole unit.
#[must_use]
pub fn duration_text(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The live data behind a page's widgets.
#[derive(Clone, Copy)]
pub struct DashboardData {
    views: StoredValue<HashMap<String, RwSignal<View>>>,
    owner: StoredValue<Owner>,
    pub status: RwSignal<ConnectionStatus>,
    pub window: Signal<(i64, i64)>,
    /// The share link the page shows the dashboard through, if any.
    share: StoredValue<Option<String>>,
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

/// Keeps every widget of `widgets` fed over `range`: live for relative ranges (through share
/// link `share`, when given), queried once for absolute ones.
pub fn dashboard_data(
    widgets: Signal<Vec<Widget>>,
    range: Signal<DashboardRange>,
    share: Option<String>,
) -> DashboardData {
    let now = RwSignal::new(now_ms());
    // A memo: every chart reads the window several times per update, and it moves once a second.
    let window = Memo::new(move |_| match range.get() {
        DashboardRange::Last { ms } => {
            let now = now.get();
            (now - ms, now)
        }
        DashboardRange::Absolute { from, to } => (from, to),
    });
    let data = DashboardData {
        views: StoredValue::new(HashMap::new()),
        owner: StoredValue::new(Owner::current().unwrap_or_default()),
        status: RwSignal::new(ConnectionStatus::Connecting),
        window: window.into(),
        share: StoredValue::new(share.clone()),
    };
    #[cfg(feature = "hydrate")]
    live::keep_fed(data, widgets, range, share, now);
    #[cfg(not(feature = "hydrate"))]
    let _ = (widgets, share);
    data
}

#[cfg(feature = "hydrate")]
mod live {
    use std::collections::HashMap;

    use leptos::prelude::*;

    use super::super::live_socket::{LiveConnection, LiveSubscription};
    use super::super::status::ConnectionStatus;
    use super::{DashboardData, now_ms};
    use crate::api::run_query;
    use crate::dashboard::{DashboardRange, Widget, WidgetKind};
    use crate::live::{Cursor, LiveData, View};
    use crate::model::CurrentValue;
    use crate::query::{Aggregation, Query, Selector, TimeRange};
    use crate::widget_data::{
        BAND, PERCENTILES, auto_step_ms, live_queries, live_span_ms, view_id,
    };

    pub fn keep_fed(
        data: DashboardData,
        widgets: Signal<Vec<Widget>>,
        range: Signal<DashboardRange>,
        share: Option<String>,
        now: RwSignal<i64>,
    ) {
        let connection = StoredValue::new(LiveConnection::open(share.clone(), data.status));
        // Subscription ids stay with their widget for the page's life.
        let ids: StoredValue<HashMap<String, u32>> = StoredValue::new(HashMap::new());
        Effect::new(move |_| {
            let range = range.get();
            let span = live_span_ms(range);
            let wanted: Vec<LiveSubscription> = widgets.with(|widgets| {
                let Some(span) = span else {
                    return Vec::new();
                };
                widgets
                    .iter()
                    .flat_map(|widget| live_queries(widget, span))
                    .filter_map(|(view_id, query)| {
                        let id = ids.try_update_value(|ids| {
                            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX) + 1;
                            *ids.entry(view_id.clone()).or_insert(next)
                        })?;
                        Some(LiveSubscription {
                            id,
                            query,
                            view: data.view_of(&view_id),
                        })
                    })
                    .collect()
            });
            connection.with_value(|connection| connection.set(wanted));
            if let DashboardRange::Absolute { from, to } = range {
                data.status.set(ConnectionStatus::Live);
                widgets.with(|widgets| {
                    for widget in widgets {
                        if widget.kind == WidgetKind::Heatmap {
                            // Asked for by the widget itself, like the analytics widgets.
                            continue;
                        }
                        if widget.kind == WidgetKind::Percentiles {
                            for (name, q) in PERCENTILES {
                                let view = data.view_of(&view_id(&widget.id, Some(name)));
                                query_once(
                                    widget,
                                    view,
                                    (from, to),
                                    Some(Aggregation::Quantile { q }),
                                    share.clone(),
                                );
                            }
                        } else {
                            let view = data.view_of(&widget.id);
                            query_once(widget, view, (from, to), None, share.clone());
                            if widget.kind == WidgetKind::Line && widget.display.band {
                                for (name, aggregation) in BAND {
                                    let view = data.view_of(&view_id(&widget.id, Some(name)));
                                    let share = share.clone();
                                    query_once(widget, view, (from, to), Some(aggregation), share);
                                }
                            }
                        }
                    }
                });
            }
        });
        // Time moves on, and charts forget what left their window.
        let handle = set_interval_with_handle(
            move || {
                let current = now_ms();
                now.set(current);
                if let Some(span) = live_span_ms(range.get_untracked()) {
                    data.views.with_value(|views| {
                        for view in views.values() {
                            // A stat keeps the period before for its comparison. Only
                            // views that lose buckets change: the others' widgets stay put.
                            let oldest = view.with_untracked(|view| {
                                let oldest = current - (span * 2 + view.step_ms);
                                view.lines
                                    .values()
                                    .any(|points| {
                                        points.first_key_value().is_some_and(|(t, _)| *t < oldest)
                                    })
                                    .then_some(oldest)
                            });
                            if let Some(oldest) = oldest {
                                view.update(|view| view.trim(oldest));
                            }
                        }
                    });
                }
            },
            std::time::Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    }

    /// Fills `view` with `widget`'s data over `[from, to)` (absolute ranges are not live),
    /// combined by `quantile` instead of the widget's aggregation when given; through share
    /// link `share` when given.
    fn query_once(
        widget: &Widget,
        view: RwSignal<View>,
        (from, to): (i64, i64),
        quantile: Option<Aggregation>,
        share: Option<String>,
    ) {
        let Some(spec) = widget.query.clone() else {
            return;
        };
        let Ok(selector) = Selector::parse(&spec.selector) else {
            return;
        };
        let latest = matches!(widget.kind, WidgetKind::Table | WidgetKind::TopN);
        let query = Query {
            selector: selector.clone(),
            range: TimeRange::Absolute { from, to },
            step_ms: Some(if latest {
                to - from
            } else {
                spec.step_ms.unwrap_or_else(|| auto_step_ms(to - from))
            }),
            aggregation: if latest {
                Aggregation::Last
            } else {
                quantile.unwrap_or(spec.aggregation)
            },
            group_by: if matches!(
                widget.kind,
                WidgetKind::Stat | WidgetKind::Gauge | WidgetKind::Percentiles
            ) {
                Some(Vec::new())
            } else if latest {
                None
            } else {
                spec.group_by
            },
        };
        leptos::task::spawn_local(async move {
            let result = run_query(query, share).await;
            view.update(|view| match result {
                Ok(result) => {
                    let data = if latest {
                        LiveData::Latest {
                            values: result
                                .series
                                .into_iter()
                                .filter_map(|line| {
                                    let (ts, value) = *line.points.last()?;
                                    // A `__name__` pattern's lines name their metric.
                                    let mut labels = line.labels;
                                    let name = labels
                                        .remove(crate::query::NAME_LABEL)
                                        .unwrap_or_else(|| selector.name.clone());
                                    Some(CurrentValue {
                                        series: crate::model::SeriesKey { name, labels },
                                        value,
                                        ts,
                                        kind: None,
                                    })
                                })
                                .collect(),
                            truncated: false,
                        }
                    } else {
                        LiveData::Range {
                            step_ms: result.step_ms,
                            series: result.series,
                        }
                    };
                    view.snapshot(Cursor::default(), data);
                }
                Err(error) => view.refused = Some(error.to_string()),
            });
        });
    }
}

/// The range picker: relative ranges, or a custom span; it changes the address, so a link
/// reproduces the view.
#[component]
pub fn RangePicker(
    range: Signal<DashboardRange>,
    on_change: Callback<DashboardRange>,
) -> impl IntoView {
    let custom = RwSignal::new(false);
    let chosen = move || match range.get() {
        DashboardRange::Last { ms } => duration_text(ms),
        DashboardRange::Absolute { .. } => "custom".into(),
    };
    view! {
        <div class="range-picker">
            <select
                aria-label="Time range"
                data-testid="range-picker"
                on:change=move |event| {
                    let value = event_target_value(&event);
                    if value == "custom" {
                        custom.set(true);
                    } else if let Ok(ms) = parse_duration_ms(&value) {
                        custom.set(false);
                        on_change.run(DashboardRange::Last { ms });
                    }
                }
            >
                {move || {
                    let chosen = chosen();
                    let mut options: Vec<(String, String)> = RANGES
                        .iter()
                        .map(|(value, label)| ((*value).to_owned(), (*label).to_owned()))
                        .collect();
                    if chosen != "custom" && !options.iter().any(|(value, _)| *value == chosen) {
                        options.push((chosen.clone(), format!("Last {chosen}")));
                    }
                    options.push(("custom".into(), "Custom range…".into()));
                    options
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = value == chosen;
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <Show when=move || custom.get()>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(custom_range(on_change, custom))}
                </Suspense>
            </Show>
        </div>
    }
}

/// The form for a custom span, in a WASM chunk of its own: few viewers open it.
#[lazy]
async fn custom_range(on_change: Callback<DashboardRange>, open: RwSignal<bool>) -> AnyView {
    let (from_text, to_text) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let apply = move || {
        let parse = |text: String| parse_local_datetime(&text);
        if let (Some(from), Some(to)) = (
            parse(from_text.get_untracked()),
            parse(to_text.get_untracked()),
        ) && to > from
        {
            on_change.run(DashboardRange::Absolute { from, to });
            open.set(false);
        }
    };
    view! {
        <form class="custom-range" on:submit=move |event| {
            event.prevent_default();
            apply();
        }>
            <label class="field">
                <span>"From (UTC)"</span>
                <input type="datetime-local" required prop:value=move || from_text.get()
                    on:input=move |event| from_text.set(event_target_value(&event)) />
            </label>
            <label class="field">
                <span>"To (UTC)"</span>
                <input type="datetime-local" required prop:value=move || to_text.get()
                    on:input=move |event| to_text.set(event_target_value(&event)) />
            </label>
            <button class="button secondary" type="submit">"Apply"</button>
        </form>
    }
    .into_any()
}

/// `2026-11-22T08:30` (read as UTC) to ms since the epoch.
#[must_use]
pub fn parse_local_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut time = time.splitn(3, ':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: i64 = time.next().map_or(Some(0.0), |s| s.parse::<f64>().ok())? as i64;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// How a widget is moved or resized by dragging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DragMode {
    Move,
    Resize,
}

/// What the editor hangs on a widget: selection, dragging, keys and actions.
#[derive(Clone, Copy)]
pub struct FrameEditing {
    pub selected: Signal<bool>,
    pub dragging: Signal<bool>,
    pub select: Callback<()>,
    /// A drag starts at client coordinates `(x, y)`.
    pub start_drag: Callback<(DragMode, i32, i32)>,
    /// A key pressed on the widget, with whether Shift was held; true when it was used.
    pub key: Callback<(String, bool), bool>,
    pub duplicate: Callback<()>,
    pub remove: Callback<()>,
}

/// One widget in the grid: header (title, freshness) and body, and with `editing` the
/// editor's handles.
#[component]
pub fn WidgetFrame(
    widget: Signal<Widget>,
    layout: Signal<GridRect>,
    data: DashboardData,
    #[prop(optional)] editing: Option<FrameEditing>,
) -> impl IntoView {
    let id = widget.with_untracked(|widget| widget.id.clone());
    let context = data.context(&id);
    let style = move || {
        let GridRect { x, y, w, h } = layout.get();
        format!("--x:{x};--y:{y};--w:{w};--h:{h};--order:{}", y * 100 + x)
    };
    let title = move || widget.with(|widget| widget.title.clone());
    let badge = move || widget.with(|widget| freshness(widget, &context));
    let class = move || match editing {
        Some(editing) => format!(
            "widget editable{}{}",
            if editing.selected.get() {
                " selected"
            } else {
                ""
            },
            if editing.dragging.get() {
                " dragging"
            } else {
                ""
            }
        ),
        None => "widget".to_owned(),
    };
    let start = move |mode: DragMode, event: leptos::ev::PointerEvent| {
        if let Some(editing) = editing
            && event.button() == 0
        {
            event.prevent_default();
            event.stop_propagation();
            editing.select.run(());
            editing
                .start_drag
                .run((mode, event.client_x(), event.client_y()));
        }
    };
    view! {
        <article
            class=class
            style=style
            data-testid="widget"
            data-widget=id
            data-x=move || layout.get().x
            data-y=move || layout.get().y
            data-w=move || layout.get().w
            data-h=move || layout.get().h
            data-kind=move || widget.with(|widget| format!("{:?}", widget.kind))
            tabindex=editing.map(|_| "0")
            aria-selected=move || editing.map(|editing| editing.selected.get().to_string())
            on:click=move |_| if let Some(editing) = editing { editing.select.run(()) }
            on:keydown=move |event| {
                if let Some(editing) = editing
                    && event.target() == event.current_target()
                    && editing.key.run((event.key(), event.shift_key()))
                {
                    event.prevent_default();
                }
            }
        >
            <header
                class="widget-head"
                data-testid="widget-head"
                on:pointerdown=move |event| start(DragMode::Move, event)
            >
                <h2 class="widget-title" data-testid="widget-title">{title}</h2>
                {move || badge().map(|(text, class)| view! { <span class=class data-testid="widget-badge">{text}</span> })}
                {editing.map(|editing| view! {
                    <span class="widget-actions">
                        <button type="button" class="icon-button" title="Duplicate" aria-label="Duplicate widget"
                            data-testid="duplicate-widget"
                            on:pointerdown=|event| event.stop_propagation()
                            on:click=move |_| editing.duplicate.run(())>
                            <svg viewBox="0 0 16 16" width="13" height="13" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5">
                                <rect x="5" y="5" width="9" height="9" rx="1.5"></rect>
                                <path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5"></path>
                            </svg>
                        </button>
                        <button type="button" class="icon-button" title="Delete" aria-label="Delete widget"
                            data-testid="delete-widget"
                            on:pointerdown=|event| event.stop_propagation()
                            on:click=move |_| editing.remove.run(())>"✕"</button>
                    </span>
                })}
            </header>
            <WidgetBody widget context />
            {editing.map(|_| view! {
                <div class="resize-handle" data-testid="resize-handle" title="Drag to resize"
                    on:pointerdown=move |event| start(DragMode::Resize, event)></div>
            })}
        </article>
    }
}

/// The widgets of a dashboard, read-only.
#[component]
pub fn ReadOnlyGrid(widgets: Signal<Vec<Widget>>, data: DashboardData) -> impl IntoView {
    view! {
        <div class="grid" data-testid="grid">
            <For each=move || widgets.get() key=|widget| widget.id.clone() let:widget>
                {
                    let id = widget.id.clone();
                    // Memos: a widget is read many times per update, and changes only with the list.
                    let current = Memo::new(move |_| {
                        widgets.with(|widgets| widgets.iter().find(|w| w.id == id).cloned().unwrap_or_else(|| widget.clone()))
                    });
                    let layout = Memo::new(move |_| current.with(|widget| widget.layout));
                    view! { <WidgetFrame widget=current.into() layout=layout.into() data /> }
                }
            </For>
        </div>
    }
}

/// "true" once the page is interactive in the browser (tests and scripts wait for it).
pub fn hydrated() -> Signal<&'static str> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    Signal::derive(move || if ready.get() { "true" } else { "false" })
}

/// Whether the address asks for kiosk mode.
fn kiosk_asked() -> Memo<bool> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|query| query.get("kiosk").is_some_and(|value| value == "1")))
}

/// The range the address asks for, or `fallback`.
fn address_range(fallback: DashboardRange) -> Memo<DashboardRange> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .with(|query| {
                range_from_address(
                    query.get_str("range"),
                    query.get_str("from"),
                    query.get_str("to"),
                )
            })
            .unwrap_or(fallback)
    })
}

/// `/d/:id`: a dashboard, live.
#[component]
pub fn DashboardViewPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let dashboard = json::resource(id, |id| get_dashboard(id, None));
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <Viewer dashboard share=None /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="dashboard-error">{error.to_string()}</p>
                            <a class="button secondary" href="/dashboards">"All dashboards"</a>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// `/s/:token`: the dashboard a share link shows, live and read-only.
#[component]
pub fn SharedDashboardPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|params| params.get("token").unwrap_or_default());
    let dashboard = json::resource(token, shared_dashboard);
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <Viewer dashboard share=Some(token()) /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="share-ended">
                                {format!("This link does not work: {error}.")}
                            </p>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// A dashboard, live; with `share`, as a share link shows it (no edit controls).
#[component]
fn Viewer(dashboard: Dashboard, share: Option<String>) -> impl IntoView {
    let shared = share.is_some();
    let range: Signal<DashboardRange> = address_range(dashboard.range).into();
    let kiosk = kiosk_asked();
    let widgets = Signal::stored(dashboard.widgets.clone());
    let data = dashboard_data(widgets, range, share.clone());
    let navigate = use_navigate();
    let base = match &share {
        Some(token) => format!("/s/{token}"),
        None => format!("/d/{}", dashboard.id),
    };
    let go = {
        let base = base.clone();
        move |range: DashboardRange, kiosk: bool| {
            let mut address = format!("{base}?{}", range_query(range));
            if kiosk {
                address.push_str("&kiosk=1");
            }
            navigate(&address, Default::default());
        }
    };
    let on_range = {
        let go = go.clone();
        Callback::new(move |range: DashboardRange| go(range, kiosk.get_untracked()))
    };
    let toggle_kiosk = move |_| go(range.get_untracked(), !kiosk.get_untracked());
    let ended = move || match data.status.get() {
        ConnectionStatus::Ended { reason } => Some(reason),
        _ => None,
    };
    let share_open = RwSignal::new(false);
    let id = dashboard.id.clone();
    view! {
        <section
            class=move || if kiosk.get() { "dashboard kiosk" } else { "dashboard" }
            data-testid="dashboard-view"
            data-ready=hydrated()
        >
            <div class="dashboard-head">
                <h1 data-testid="dashboard-title">{dashboard.title.clone()}</h1>
                <StatusPill status=data.status />
                <div class="spacer"></div>
                <RangePicker range on_change=on_range />
                <button class="button secondary" type="button" data-testid="kiosk" on:click=toggle_kiosk
                    title="Full screen without navigation">
                    {move || if kiosk.get() { "Exit kiosk" } else { "Kiosk" }}
                </button>
                {(!shared).then(|| view! {
                    <Show when=super::access::can_edit()>
                        <button class="button secondary" type="button" data-testid="open-share"
                            on:click=move |_| share_open.update(|open| *open = !*open)>"Share"</button>
                        <a class="button" href=format!("/d/{id}/edit") data-testid="edit">"Edit"</a>
                    </Show>
                })}
            </div>
            {(!dashboard.description.is_empty()).then(|| view! { <p class="description">{dashboard.description.clone()}</p> })}
            <StorageBanner status=data.status />
            {move || ended().map(|reason| view! {
                <p class="error banner" role="alert" data-testid="access-ended">
                    {format!("This view stopped updating: {reason}.")}
                </p>
            })}
            {(!shared).then(|| {
                let id = StoredValue::new(dashboard.id.clone());
                view! {
                    <Show when=move || share_open.get()>
                        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                            {move || Suspend::new(share_panel::share_panel(id.get_value()))}
                        </Suspense>
                    </Show>
                }
            })}
            {dashboard.widgets.is_empty().then(|| view! {
                <p class="empty">"This dashboard has no widgets yet."</p>
            })}
            <ReadOnlyGrid widgets data />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip_through_the_address() {
        assert_eq!(
            range_from_address(Some("15m"), None, None),
            Some(DashboardRange::Last { ms: 900_000 })
        );
        assert_eq!(
            range_from_address(Some("1h"), Some("10"), Some("20")),
            Some(DashboardRange::Absolute { from: 10, to: 20 })
        );
        assert_eq!(range_from_address(None, Some("20"), Some("10")), None);
        assert_eq!(range_from_address(Some("soon"), None, None), None);
        for range in [
            DashboardRange::Last { ms: 300_000 },
            DashboardRange::Last { ms: 7 * 86_400_000 },
            DashboardRange::Last { ms: 90_000 },
        ] {
            let text = range_query(range);
            let value = text.strip_prefix("range=").unwrap();
            assert_eq!(range_from_address(Some(value), None, None), Some(range));
        }
        assert_eq!(
            range_query(DashboardRange::Absolute { from: 1, to: 2 }),
            "from=1&to=2"
        );
    }

    #[test]
    fn custom_times_read_as_utc() {
        assert_eq!(parse_local_datetime("1970-01-01T00:01"), Some(60_000));
        assert_eq!(
            parse_local_datetime("2026-11-22T08:30"),
            Some(1_795_336_200_000)
        );
        assert_eq!(parse_local_datetime("2026-13-22T08:30"), None);
        assert_eq!(parse_local_datetime("yesterday"), None);
    }
}
