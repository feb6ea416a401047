//! The editable grid: the palette of kinds (click, or drag onto the grid), widgets dragged and
//! resized by pointer (the others make room), and where a drop lands.

use leptos::prelude::*;

use crate::dashboard::{GRID_COLUMNS, GridRect, WidgetKind};
use crate::ui::dashboard::data::DashboardData;
use crate::ui::dashboard::frame::{DragMode, FrameEditing, WidgetFrame};
use crate::ui::editor::state::{Drag, Editor, dragged_to};
use crate::ui::shared::json;
use crate::ui::widgets::context::{GAP_PX, ROW_PX};
use crate::ui::widgets::fresh::new_widget;

/// The kinds of widget, to click (added in the first free place) or drag onto the grid.
#[component]
pub fn Palette(editor: Editor) -> impl IntoView {
    view! {
        <aside class="palette" aria-label="Add a widget" data-testid="palette">
            <h2>"Add"</h2>
            {WidgetKind::ALL.iter().map(|kind| {
                let kind = *kind;
                let name = serde_json::to_string(&kind).unwrap_or_default();
                view! {
                    <button
                        type="button"
                        class="palette-item"
                        draggable="true"
                        data-testid=format!("palette-{}", name.trim_matches('"'))
                        on:click=move |_| editor.add(kind, None)
                        on:dragstart=move |event| {
                            if let Some(transfer) = event.data_transfer() {
                                let _ = transfer.set_data("text/plain", &format!("livedash-widget:{}", name.trim_matches('"')));
                            }
                        }
                    >
                        {kind.label()}
                    </button>
                }
            }).collect_view()}
            <p class="hint">"Drag a widget by its header to move it, by its corner to resize it. With a widget focused: arrows move it, Shift+arrows resize it, Delete removes it."</p>
        </aside>
    }
}

/// The grid cell under client point `(x, y)` of the grid element.
fn cell_at(grid: &NodeRef<leptos::html::Div>, x: i32, y: i32) -> Option<(u32, u32)> {
    let element = grid.get_untracked()?;
    let rect = element.get_bounding_client_rect();
    let column = (rect.width() + f64::from(GAP_PX)) / f64::from(GRID_COLUMNS);
    let row = f64::from(ROW_PX + GAP_PX);
    let cx = ((f64::from(x) - rect.left()) / column).floor().max(0.0);
    let cy = ((f64::from(y) - rect.top()) / row).floor().max(0.0);
    Some((cx as u32, cy as u32))
}

/// The grid's pixel size of one cell, `(column, row)` with gaps.
fn cell_size(grid: &NodeRef<leptos::html::Div>) -> (f64, f64) {
    let width = grid
        .get_untracked()
        .map_or(1200.0, |element| element.get_bounding_client_rect().width());
    (
        (width + f64::from(GAP_PX)) / f64::from(GRID_COLUMNS),
        f64::from(ROW_PX + GAP_PX),
    )
}

#[component]
pub fn EditableGrid(
    editor: Editor,
    data: DashboardData,
    grid: NodeRef<leptos::html::Div>,
) -> impl IntoView {
    let layout = Memo::new(move |_| editor.shown_layout());
    let ids = move || {
        editor.draft.with(|draft| {
            draft
                .widgets
                .iter()
                .map(|widget| widget.id.clone())
                .collect::<Vec<_>>()
        })
    };
    let drop = move |event: leptos::ev::DragEvent| {
        let Some(kind) = event
            .data_transfer()
            .and_then(|transfer| transfer.get_data("text/plain").ok())
            .and_then(|text| text.strip_prefix("livedash-widget:").map(str::to_owned))
            .and_then(|name| json::from_text::<WidgetKind>(&format!("\"{name}\"")).ok())
        else {
            return;
        };
        event.prevent_default();
        editor.add(kind, cell_at(&grid, event.client_x(), event.client_y()));
    };
    view! {
        <div
            class="grid editing"
            data-testid="grid"
            node_ref=grid
            on:dragover=move |event| event.prevent_default()
            on:drop=drop
            on:click=move |event| {
                if event.target() == event.current_target() {
                    editor.selected.set(None);
                }
            }
        >
            {move || editor.draft.with(|draft| draft.widgets.is_empty()).then(|| view! {
                <p class="grid-empty">"Click a widget in the palette, or drag one here."</p>
            })}
            <For each=ids key=|id| id.clone() let:id>
                {
                    let widget = {
                        let id = id.clone();
                        Signal::from(Memo::new(move |_| {
                            editor.draft.with(|draft| draft.widgets.iter().find(|w| w.id == id).cloned())
                                .unwrap_or_else(|| new_widget(&id, WidgetKind::Text, GridRect { x: 0, y: 0, w: 1, h: 1 }))
                        }))
                    };
                    let index = {
                        let id = id.clone();
                        Memo::new(move |_| editor.draft.with(|draft| draft.widgets.iter().position(|w| w.id == id)))
                    };
                    let widget_layout = Signal::derive(move || {
                        index.get()
                            .and_then(|index| layout.with(|rects| rects.get(index).copied()))
                            .unwrap_or(GridRect { x: 0, y: 0, w: 1, h: 1 })
                    });
                    let editing = FrameEditing {
                        selected: {
                            let id = id.clone();
                            Signal::derive(move || editor.selected.with(|selected| selected.as_deref() == Some(id.as_str())))
                        },
                        dragging: Signal::derive(move || {
                            editor.drag.with(|drag| drag.is_some_and(|drag| Some(drag.widget) == index.get()))
                        }),
                        select: {
                            let id = id.clone();
                            Callback::new(move |()| editor.selected.set(Some(id.clone())))
                        },
                        start_drag: Callback::new(move |(mode, x, y): (DragMode, i32, i32)| {
                            if let Some(index) = index.get_untracked() {
                                let start = editor.draft.with_untracked(|draft| draft.widgets[index].layout);
                                editor.drag.set(Some(Drag { widget: index, mode, start, pointer: (x, y), to: start }));
                            }
                        }),
                        key: {
                            let id = id.clone();
                            Callback::new(move |(key, shift): (String, bool)| editor.key(&id, &key, shift))
                        },
                        duplicate: {
                            let id = id.clone();
                            Callback::new(move |()| editor.duplicate(&id))
                        },
                        remove: {
                            let id = id.clone();
                            Callback::new(move |()| editor.remove(&id))
                        },
                    };
                    view! { <WidgetFrame widget layout=widget_layout data editing /> }
                }
            </For>
        </div>
    }
}

/// Pointer moves anywhere update a drag; letting go commits it as one undo step.
pub fn install_dragging(editor: Editor, grid: NodeRef<leptos::html::Div>) {
    let moved = window_event_listener(leptos::ev::pointermove, move |event| {
        let Some(drag) = editor.drag.get_untracked() else {
            return;
        };
        let (column, row) = cell_size(&grid);
        let dx = (f64::from(event.client_x() - drag.pointer.0) / column).round() as i64;
        let dy = (f64::from(event.client_y() - drag.pointer.1) / row).round() as i64;
        let to = dragged_to(&drag, dx, dy);
        if to != drag.to {
            editor.drag.set(Some(Drag { to, ..drag }));
        }
    });
    let released = window_event_listener(leptos::ev::pointerup, move |_| {
        if let Some(drag) = editor.drag.get_untracked() {
            editor.drag.set(None);
            if drag.to != drag.start {
                editor.settle("", drag.widget, drag.to);
            }
        }
    });
    on_cleanup(move || {
        moved.remove();
        released.remove();
    });
}
