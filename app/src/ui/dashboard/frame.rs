//! One widget in the grid (header with title and freshness, body, and the editor's handles when
//! editing), and the read-only grid of a dashboard's widgets.

use leptos::prelude::*;

use crate::dashboard::{GridRect, Widget};
use crate::ui::dashboard::data::DashboardData;
use crate::ui::widgets::body::WidgetBody;
use crate::ui::widgets::context::freshness;

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
    let (id, selector) = widget.with_untracked(|widget| {
        (
            widget.id.clone(),
            widget.alert_subject().unwrap_or_default(),
        )
    });
    // Through a share link a widget's selector is fixed; otherwise every widget follows the
    // one view of all alert states, whatever its selector becomes.
    let context = data.context(&id, &selector);
    let style = move || {
        let GridRect { x, y, w, h } = layout.get();
        format!("--x:{x};--y:{y};--w:{w};--h:{h};--order:{}", y * 100 + x)
    };
    let title = move || widget.with(|widget| widget.title.clone());
    let badge = move || widget.with(|widget| freshness(widget, &context));
    let alert = move || {
        widget
            .with(Widget::alert_subject)
            .and_then(|subject| data.alert_state(&subject))
    };
    let dashboard = leptos_router::hooks::use_params_map();
    // "Alert on this": the Alerts page with a rule made from the widget's query.
    let alert_link = move || {
        if editing.is_some() || data.shared() {
            return None;
        }
        let dashboard = dashboard.with(|params| params.get("id"));
        widget.with(|widget| {
            let query = widget.query.as_ref()?;
            Some(crate::alerts::api::new_rule_link(
                &query.selector,
                query.aggregation,
                query.group_by.as_deref().unwrap_or_default(),
                dashboard.as_deref(),
            ))
        })
    };
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
                {move || alert().map(|(state, names)| view! {
                    <span class="badge alert-badge" data-testid="alert-badge" data-state=state.name()
                        title=names.join(", ")>{state.name()}</span>
                })}
                {move || alert_link().map(|href| view! {
                    <a class="icon-button alert-on-this" href=href title="Alert on this" aria-label="Alert on this"
                        data-testid="alert-on-this">
                        // Drawn, not an emoji: machines without an emoji font show a box.
                        <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
                            <path fill="currentColor" d="M12 3a5 5 0 0 0-5 5v3.6L5 15v1.5h14V15l-2-3.4V8a5 5 0 0 0-5-5zm-2.2 15a2.2 2.2 0 0 0 4.4 0z" />
                        </svg>
                    </a>
                })}
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
