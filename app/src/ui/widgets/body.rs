//! A widget's body, by kind, and the one table that says which kinds are drawn by code in the
//! main bundle and which by a WASM chunk of their own (loaded when a page first shows the kind).

use std::pin::Pin;

use leptos::either::Either;
use leptos::prelude::*;

use crate::dashboard::{Widget, WidgetKind};
use crate::ui::charts::chart::ChartStyle;
use crate::ui::widgets::analytics::analytics_body;
use crate::ui::widgets::chart_body::{Chart, PercentilesBody};
use crate::ui::widgets::context::{GAP_PX, HEADER_PX, ROW_PX, WidgetContext};
use crate::ui::widgets::note::Note;
use crate::ui::widgets::rows::Rows;
use crate::ui::widgets::stat::{GaugeBody, StatBody};

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
                BodyCode::Chart(style) => Either::Left(view! { <Chart widget context size style /> }),
                BodyCode::Chunk(LazyBody { load, .. }) => Either::Right(view! {
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
        // Its own code is small, the charts' it draws with is in the main bundle.
        WidgetKind::Percentiles => BodyCode::Chunk(&PERCENTILES),
        WidgetKind::Stat => BodyCode::Chunk(&STAT),
        WidgetKind::Gauge => BodyCode::Chunk(&GAUGE),
        WidgetKind::Table | WidgetKind::TopN => BodyCode::Chunk(&ROWS),
        WidgetKind::Text => BodyCode::Chunk(&NOTE),
        WidgetKind::Uniques
        | WidgetKind::TopValues
        | WidgetKind::Funnel
        | WidgetKind::Experiment
        | WidgetKind::EventFeed
        | WidgetKind::Heatmap
        | WidgetKind::WebStats
        | WidgetKind::WebRanking => BodyCode::Chunk(&ANALYTICS),
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

static PERCENTILES: LazyBody = LazyBody {
    load: |widget, context, size| Box::pin(percentiles_body(widget, context, size)),
    #[cfg(feature = "hydrate")]
    preload: || Box::pin(__preload_percentiles_body()),
};

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
    preload: || Box::pin(crate::ui::widgets::analytics::__preload_analytics_body()),
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
async fn percentiles_body(
    widget: Signal<Widget>,
    context: WidgetContext,
    size: Signal<(u32, u32)>,
) -> AnyView {
    view! { <PercentilesBody widget context size /> }.into_any()
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
