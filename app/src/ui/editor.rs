//! The dashboard editor: a 12-column grid where widgets are dragged and resized (the others
//! make room, the layout compacts upwards), a palette, a side panel for the selected widget,
//! undo and redo, saving with conflict detection, versions, and drafts kept in the browser.

use leptos::either::Either;
use leptos::prelude::*;

use super::browser_task;
use super::json;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::dashboard_page::{
    DashboardData, DragMode, FrameEditing, RangePicker, ReadOnlyGrid, WidgetFrame, dashboard_data,
    hydrated, now_ms,
};
use super::side_panel::SidePanel;
use super::status::{StatusPill, StorageBanner};
use super::widgets::{GAP_PX, ROW_PX};
use crate::api::{
    create_dashboard, dashboard_history, get_dashboard, restore_dashboard, save_dashboard,
};
use crate::dashboard::{
    Dashboard, GRID_COLUMNS, GridRect, MAX_WIDGET_ROWS, SaveOutcome, VersionInfo, Widget,
    WidgetKind, WidgetQuery, free_spot, place,
};
use crate::model::format_utc;
use crate::query::Aggregation;

/// Most undo steps kept.
const UNDO_DEPTH: usize = 200;
/// Edits of the same field closer together than this are one undo step (typing a title).
const COALESCE_MS: i64 = 1_500;

/// A drag in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drag {
    pub widget: usize,
    pub mode: DragMode,
    /// Where the widget was, and where the pointer started.
    pub start: GridRect,
    pub pointer: (i32, i32),
    /// Where it would land now.
    pub to: GridRect,
}

/// Where a drag of `drag` lands after the pointer moved by `(dx, dy)` grid cells.
#[must_use]
pub fn dragged_to(drag: &Drag, dx: i64, dy: i64) -> GridRect {
    let GridRect { x, y, w, h } = drag.start;
    let shift = |value: u32, by: i64| u32::try_from((i64::from(value) + by).max(0)).unwrap_or(0);
    match drag.mode {
        DragMode::Move => GridRect {
            x: shift(x, dx).min(GRID_COLUMNS - w),
            y: shift(y, dy),
            w,
            h,
        },
        DragMode::Resize => GridRect {
            x,
            y,
            w: shift(w, dx).clamp(1, GRID_COLUMNS - x),
            h: shift(h, dy).clamp(1, MAX_WIDGET_ROWS),
        },
    }
}

/// The editor's state; every edit goes through [`Editor::edit`], so each is undoable.
#[derive(Clone, Copy)]
pub struct Editor {
    pub draft: RwSignal<Dashboard>,
    /// The content as last loaded or saved: the draft is dirty when it differs.
    pub saved: RwSignal<Dashboard>,
    undo: RwSignal<Vec<Dashboard>>,
    redo: RwSignal<Vec<Dashboard>>,
    last_edit: StoredValue<Option<(String, i64)>>,
    pub selected: RwSignal<Option<String>>,
    pub drag: RwSignal<Option<Drag>>,
}

impl Editor {
    fn new(dashboard: Dashboard) -> Self {
        Self {
            draft: RwSignal::new(dashboard.clone()),
            saved: RwSignal::new(dashboard),
            undo: RwSignal::new(Vec::new()),
            redo: RwSignal::new(Vec::new()),
            last_edit: StoredValue::new(None),
            selected: RwSignal::new(None),
            drag: RwSignal::new(None),
        }
    }

    /// Applies `change` to the draft as one undo step; edits with the same non-empty `key`
    /// in quick succession merge into one.
    pub fn edit(&self, key: &str, change: impl FnOnce(&mut Dashboard)) {
        let before = self.draft.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return;
        }
        let now = now_ms();
        let merges = !key.is_empty()
            && self.last_edit.with_value(|last| {
                last.as_ref()
                    .is_some_and(|(last, at)| last == key && now - at < COALESCE_MS)
            });
        if !merges {
            self.undo.update(|undo| {
                undo.push(before);
                if undo.len() > UNDO_DEPTH {
                    undo.remove(0);
                }
            });
        }
        self.last_edit.set_value(Some((key.to_owned(), now)));
        self.redo.update(Vec::clear);
        self.draft.set(after);
    }

    pub fn undo(&self) {
        if let Some(previous) = self.undo.try_update(Vec::pop).flatten() {
            let current = self.draft.get_untracked();
            self.redo.update(|redo| redo.push(current));
            self.draft.set(previous);
            self.last_edit.set_value(None);
        }
    }

    pub fn redo(&self) {
        if let Some(next) = self.redo.try_update(Vec::pop).flatten() {
            let current = self.draft.get_untracked();
            self.undo.update(|undo| undo.push(current));
            self.draft.set(next);
            self.last_edit.set_value(None);
        }
    }

    /// Whether the draft holds edits not saved.
    pub fn dirty(&self) -> bool {
        let draft = self.draft.get();
        self.saved.with(|saved| !same_content(saved, &draft))
    }

    /// Starts again from `dashboard` as saved (after a save, reload or restore).
    fn reset(&self, dashboard: Dashboard) {
        self.saved.set(dashboard.clone());
        self.draft.set(dashboard);
        self.undo.update(Vec::clear);
        self.redo.update(Vec::clear);
        self.last_edit.set_value(None);
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.draft
            .with_untracked(|draft| draft.widgets.iter().position(|widget| widget.id == id))
    }

    /// Adds a widget of `kind`, at `at` when given (others make room), else in the first
    /// free place; it becomes the selected one.
    pub fn add(&self, kind: WidgetKind, at: Option<(u32, u32)>) {
        let id = self.draft.with_untracked(new_widget_id);
        let (w, h) = kind.default_size();
        self.edit("", |draft| {
            let rects: Vec<GridRect> = draft.widgets.iter().map(|widget| widget.layout).collect();
            let spot = free_spot(&rects, w, h);
            draft.widgets.push(new_widget(&id, kind, spot));
            if let Some((x, y)) = at {
                let mut rects = rects;
                rects.push(spot);
                let last = rects.len() - 1;
                let placed = place(&rects, last, GridRect { x, y, w, h });
                for (widget, rect) in draft.widgets.iter_mut().zip(placed) {
                    widget.layout = rect;
                }
            }
        });
        self.selected.set(Some(id));
    }

    pub fn duplicate(&self, id: &str) {
        let Some(index) = self.index_of(id) else {
            return;
        };
        let copy_id = self.draft.with_untracked(new_widget_id);
        self.edit("", |draft| {
            let mut copy = draft.widgets[index].clone();
            let rects: Vec<GridRect> = draft.widgets.iter().map(|widget| widget.layout).collect();
            copy.layout = free_spot(&rects, copy.layout.w, copy.layout.h);
            copy.id.clone_from(&copy_id);
            draft.widgets.push(copy);
        });
        self.selected.set(Some(copy_id));
    }

    pub fn remove(&self, id: &str) {
        self.edit("", |draft| {
            draft.widgets.retain(|widget| widget.id != id);
            let mut rects: Vec<GridRect> =
                draft.widgets.iter().map(|widget| widget.layout).collect();
            crate::dashboard::compact(&mut rects);
            for (widget, rect) in draft.widgets.iter_mut().zip(rects) {
                widget.layout = rect;
            }
        });
        if self.selected.get_untracked().as_deref() == Some(id) {
            self.selected.set(None);
        }
    }

    /// Moves or resizes widget `index` to `to`, settling the others.
    pub fn settle(&self, key: &str, index: usize, to: GridRect) {
        self.edit(key, |draft| {
            let rects: Vec<GridRect> = draft.widgets.iter().map(|widget| widget.layout).collect();
            for (widget, rect) in draft.widgets.iter_mut().zip(place(&rects, index, to)) {
                widget.layout = rect;
            }
        });
    }

    /// Changes the widget `id` (a field of it, named by `field` for merging keystrokes).
    pub fn edit_widget(&self, id: &str, field: &str, change: impl FnOnce(&mut Widget)) {
        let key = format!("{id}.{field}");
        self.edit(&key, |draft| {
            if let Some(widget) = draft.widgets.iter_mut().find(|widget| widget.id == id) {
                change(widget);
            }
        });
    }

    /// The layout shown: the draft's, or while dragging, where everything would land.
    fn shown_layout(&self) -> Vec<GridRect> {
        let rects: Vec<GridRect> = self
            .draft
            .with(|draft| draft.widgets.iter().map(|widget| widget.layout).collect());
        match self.drag.get() {
            Some(drag) if drag.widget < rects.len() => place(&rects, drag.widget, drag.to),
            _ => rects,
        }
    }

    /// Handles a key pressed on widget `id`: arrows move it a cell, Shift+arrows resize it,
    /// Delete removes it.
    fn key(&self, id: &str, key: &str, shift: bool) -> bool {
        let Some(index) = self.index_of(id) else {
            return false;
        };
        let (dx, dy) = match key {
            "ArrowLeft" => (-1, 0),
            "ArrowRight" => (1, 0),
            "ArrowUp" => (0, -1),
            "ArrowDown" => (0, 1),
            "Delete" | "Backspace" => {
                self.remove(id);
                return true;
            }
            _ => return false,
        };
        let start = self
            .draft
            .with_untracked(|draft| draft.widgets[index].layout);
        let drag = Drag {
            widget: index,
            mode: if shift {
                DragMode::Resize
            } else {
                DragMode::Move
            },
            start,
            pointer: (0, 0),
            to: start,
        };
        self.settle("", index, dragged_to(&drag, dx, dy));
        true
    }
}

/// Whether two versions hold the same content (their version numbers aside).
fn same_content(a: &Dashboard, b: &Dashboard) -> bool {
    a.title == b.title
        && a.description == b.description
        && a.range == b.range
        && a.widgets == b.widgets
}

/// An id no widget of `dashboard` has.
pub fn new_widget_id(dashboard: &Dashboard) -> String {
    (1..)
        .map(|n| format!("w{n}"))
        .find(|id| dashboard.widgets.iter().all(|widget| widget.id != *id))
        .unwrap_or_default()
}

/// A fresh widget of `kind` at `layout`, with a query to fill in.
#[must_use]
pub fn new_widget(id: &str, kind: WidgetKind, layout: GridRect) -> Widget {
    Widget {
        id: id.to_owned(),
        kind,
        title: kind.label().to_owned(),
        layout,
        query: kind.uses_query().then(|| WidgetQuery {
            selector: String::new(),
            aggregation: if matches!(kind, WidgetKind::Table | WidgetKind::TopN) {
                Aggregation::Last
            } else {
                Aggregation::Avg
            },
            step_ms: None,
            group_by: None,
        }),
        display: crate::dashboard::Display::default(),
        text: if kind == WidgetKind::Text {
            "## Notes\n\nWrite **markdown** here.".to_owned()
        } else {
            String::new()
        },
        source: kind
            .uses_source()
            .then(|| crate::dashboard::AnalyticsSource {
                id: String::new(),
                event: if kind == WidgetKind::TopValues {
                    crate::events::PAGE_VIEW.to_owned()
                } else {
                    String::new()
                },
                property: if kind == WidgetKind::TopValues {
                    "path".to_owned()
                } else {
                    String::new()
                },
            }),
    }
}

/// The local-storage key of a dashboard's unsaved draft.
fn draft_key(id: &str) -> String {
    format!("livedash:draft:{id}")
}

/// An unsaved draft kept in the browser.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct StoredDraft {
    /// ms since the epoch.
    kept_at: i64,
    dashboard: Dashboard,
}

#[cfg(feature = "hydrate")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn read_draft(id: &str) -> Option<StoredDraft> {
    #[cfg(feature = "hydrate")]
    {
        let text = local_storage()?.get_item(&draft_key(id)).ok().flatten()?;
        json::from_text(&text).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = draft_key(id);
        None
    }
}

fn write_draft(id: &str, draft: Option<&Dashboard>) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = local_storage() {
        let key = draft_key(id);
        let _ = match draft {
            Some(dashboard) => serde_json::to_string(&StoredDraft {
                kept_at: now_ms(),
                dashboard: dashboard.clone(),
            })
            .map(|json| storage.set_item(&key, &json)),
            None => Ok(storage.remove_item(&key)),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, draft);
}

/// `/d/:id/edit`.
#[component]
pub fn DashboardEditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let dashboard = json::resource(id, |id| get_dashboard(id, None));
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <EditorView dashboard /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="dashboard-error">{error.to_string()}</p>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// What the save conflict dialog offers.
#[derive(Clone, Debug, PartialEq)]
struct Conflict {
    current: VersionInfo,
}

#[component]
fn EditorView(dashboard: Dashboard) -> impl IntoView {
    let id = dashboard.id.clone();
    let editor = Editor::new(dashboard);
    let preview = RwSignal::new(None::<Dashboard>);
    // Memos: widgets read these many times per live update.
    let widgets: Signal<Vec<Widget>> = Memo::new(move |_| match preview.get() {
        Some(version) => version.widgets,
        None => editor.draft.with(|draft| draft.widgets.clone()),
    })
    .into();
    let range = Memo::new(move |_| editor.draft.with(|draft| draft.range));
    let data = dashboard_data(widgets, range.into(), None);
    let summary = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let conflict = RwSignal::new(None::<Conflict>);
    let history_open = RwSignal::new(false);
    let history_changes = RwSignal::new(0u32);
    // Read after hydration: the server cannot know what this browser kept.
    let offered_draft = RwSignal::new(None::<StoredDraft>);
    {
        let id = id.clone();
        Effect::new(move |_| {
            let kept = read_draft(&id).filter(|stored| {
                editor
                    .saved
                    .with_untracked(|saved| !same_content(saved, &stored.dashboard))
            });
            offered_draft.set(kept);
        });
    }
    let navigate = use_navigate();

    // Unsaved edits are kept in the browser until saved or discarded.
    {
        let id = id.clone();
        Effect::new(move |first: Option<()>| {
            let dirty = editor.dirty();
            let draft = editor.draft.get();
            // The first run comes before the kept draft was read; an offer stands until
            // answered.
            if first.is_some() && offered_draft.with_untracked(Option::is_none) {
                write_draft(&id, dirty.then_some(&draft));
            }
        });
    }

    let save = {
        let id = id.clone();
        browser_task(move |overwrite: Option<u64>| {
            let mut dashboard = editor.draft.get_untracked();
            if let Some(version) = overwrite {
                dashboard.version = version;
            }
            let summary_text = summary.get_untracked();
            let id = id.clone();
            async move {
                if let Err(invalid) = dashboard.validate() {
                    message.set(Some(Err(format!("Not saved: {invalid}"))));
                    return;
                }
                let summary_text = if summary_text.trim().is_empty() {
                    "Edited".to_owned()
                } else {
                    summary_text
                };
                match save_dashboard(dashboard.clone(), summary_text).await {
                    Ok(SaveOutcome::Saved { version }) => {
                        let saved_version = version.version;
                        // Edits made while the save was under way stay in the draft.
                        editor.saved.set(Dashboard {
                            version: saved_version,
                            ..dashboard
                        });
                        editor.draft.update(|draft| draft.version = saved_version);
                        summary.set(String::new());
                        conflict.set(None);
                        if !editor.dirty() {
                            write_draft(&id, None);
                        }
                        history_changes.update(|count| *count += 1);
                        message.set(Some(Ok(format!("Saved as version {saved_version}."))));
                    }
                    Ok(SaveOutcome::Conflict { current }) => {
                        conflict.set(Some(Conflict { current }));
                    }
                    Err(error) => message.set(Some(Err(format!("Not saved: {error}")))),
                }
            }
        })
    };

    let reload = {
        let id = id.clone();
        browser_task(move |(): ()| {
            let id = id.clone();
            async move {
                match get_dashboard(id.clone(), None).await {
                    Ok(current) => {
                        editor.reset(current);
                        write_draft(&id, None);
                        conflict.set(None);
                        message.set(Some(Ok("Reloaded the current version.".into())));
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    let save_copy = {
        let navigate = navigate.clone();
        browser_task(move |(): ()| {
            let mut copy = editor.draft.get_untracked();
            copy.title = format!("{} (copy)", copy.title);
            copy.id = String::new();
            copy.version = 0;
            let navigate = navigate.clone();
            async move {
                match create_dashboard(copy, "Saved as a copy after a conflict".into()).await {
                    Ok(created) => {
                        editor.reset(editor.saved.get_untracked());
                        conflict.set(None);
                        navigate(&format!("/d/{}/edit", created.id), Default::default());
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    let restore = {
        let id = id.clone();
        browser_task(move |version: u64| {
            let id = id.clone();
            let base = editor.saved.with_untracked(|saved| saved.version);
            async move {
                match restore_dashboard(id.clone(), version, base).await {
                    Ok(SaveOutcome::Saved { version: made }) => {
                        if let Ok(current) = get_dashboard(id.clone(), None).await {
                            editor.reset(current);
                        }
                        write_draft(&id, None);
                        preview.set(None);
                        history_changes.update(|count| *count += 1);
                        message.set(Some(Ok(format!(
                            "Restored version {version} as version {}.",
                            made.version
                        ))));
                    }
                    Ok(SaveOutcome::Conflict { current }) => {
                        conflict.set(Some(Conflict { current }))
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    install_shortcuts(editor, save);
    install_leave_guard(editor);

    let grid = NodeRef::<leptos::html::Div>::new();
    install_dragging(editor, grid);

    let view_link = format!("/d/{id}");
    let draft_id = id.clone();
    view! {
        <section class="dashboard editor" data-testid="editor" data-ready=hydrated()>
            <div class="dashboard-head">
                <input
                    class="title-input"
                    type="text"
                    aria-label="Dashboard title"
                    data-testid="dashboard-title-input"
                    maxlength="200"
                    prop:value=move || editor.draft.with(|draft| draft.title.clone())
                    on:input=move |event| {
                        let title = event_target_value(&event);
                        editor.edit("title", |draft| draft.title = title);
                    }
                />
                <StatusPill status=data.status />
                <span class="save-state" data-testid="save-state">
                    {move || if editor.dirty() { "Unsaved changes" } else { "All changes saved" }}
                </span>
                <div class="spacer"></div>
                <RangePicker range=range.into() on_change=Callback::new(move |range| editor.edit("", |draft| draft.range = range)) />
                <button class="button secondary" type="button" data-testid="undo" title="Undo (Ctrl+Z)"
                    disabled=move || editor.undo.with(Vec::is_empty)
                    on:click=move |_| editor.undo()>"Undo"</button>
                <button class="button secondary" type="button" data-testid="redo" title="Redo (Ctrl+Shift+Z)"
                    disabled=move || editor.redo.with(Vec::is_empty)
                    on:click=move |_| editor.redo()>"Redo"</button>
                <button class="button secondary" type="button" data-testid="open-history"
                    on:click=move |_| history_open.update(|open| *open = !*open)>"History"</button>
                <form class="save-form" on:submit=move |event| {
                    event.prevent_default();
                    save.run(None);
                }>
                    <input type="text" placeholder="What changed (optional)" aria-label="Version summary"
                        maxlength="500" data-testid="save-summary"
                        prop:value=move || summary.get()
                        on:input=move |event| summary.set(event_target_value(&event)) />
                    <button class="button" type="submit" data-testid="save"
                        title="Save (Ctrl+S)">"Save"</button>
                </form>
                <a class="button secondary" href=view_link data-testid="done">"Done"</a>
            </div>
            <StorageBanner status=data.status />
            {move || message.get().map(|message| match message {
                Ok(text) => Either::Left(view! { <p class="note" role="status" data-testid="editor-message">{text}</p> }),
                Err(text) => Either::Right(view! { <p class="error" role="alert" data-testid="editor-error">{text}</p> }),
            })}
            {move || offered_draft.get().map(|stored| {
                let kept = stored.dashboard.clone();
                let draft_id = draft_id.clone();
                view! {
                    <div class="banner" role="alert" data-testid="draft-offer">
                        <span>{format!("Unsaved edits from {} were kept in this browser.", format_utc(stored.kept_at))}</span>
                        <button class="button" type="button" data-testid="restore-draft"
                            on:click=move |_| {
                                let kept = kept.clone();
                                editor.edit("", |draft| *draft = kept);
                                offered_draft.set(None);
                            }>"Restore them"</button>
                        <button class="button secondary" type="button" data-testid="discard-draft"
                            on:click={
                                let id = draft_id.clone();
                                move |_| {
                                    offered_draft.set(None);
                                    write_draft(&id, None);
                                }
                            }>"Discard"</button>
                    </div>
                }
            })}
            {move || conflict.get().map(|conflict| view! {
                <div class="dialog" role="alertdialog" aria-labelledby="conflict-title" data-testid="conflict">
                    <h2 id="conflict-title">"Someone saved a newer version"</h2>
                    <p>{format!(
                        "Version {} was saved by {} at {}{}. Your edits started from version {}.",
                        conflict.current.version,
                        conflict.current.saved_by,
                        format_utc(conflict.current.saved_at),
                        if conflict.current.summary.is_empty() { String::new() } else { format!(" (“{}”)", conflict.current.summary) },
                        editor.draft.with_untracked(|draft| draft.version),
                    )}</p>
                    <div class="dialog-actions">
                        <button class="button secondary" type="button" data-testid="conflict-reload"
                            on:click=move |_| { reload.run(()); }>"Reload theirs (drop mine)"</button>
                        <button class="button danger" type="button" data-testid="conflict-overwrite"
                            on:click=move |_| { save.run(Some(conflict.current.version)); }>"Overwrite with mine"</button>
                        <button class="button" type="button" data-testid="conflict-copy"
                            on:click=move |_| { save_copy.run(()); }>"Save mine as a copy"</button>
                    </div>
                </div>
            })}
            {move || preview.get().map(|shown| {
                let version = shown.version;
                view! {
                    <div class="banner" role="status" data-testid="preview-banner">
                        <span>{format!("Previewing version {version} (read-only).")}</span>
                        <button class="button" type="button" data-testid="restore-version"
                            on:click=move |_| { restore.run(version); }>"Restore this version"</button>
                        <button class="button secondary" type="button" data-testid="end-preview"
                            on:click=move |_| preview.set(None)>"Back to editing"</button>
                    </div>
                }
            })}
            <div class="editor-body">
                <Palette editor />
                <div class="grid-wrap">
                    <Show
                        when=move || preview.with(Option::is_none)
                        fallback=move || view! { <ReadOnlyGrid widgets data /> }
                    >
                        <EditableGrid editor data grid />
                    </Show>
                </div>
                {move || editor.selected.get().filter(|_| preview.with(Option::is_none)).map(|selected| view! {
                    <SidePanel editor id=selected />
                })}
            </div>
            <Show when=move || history_open.get()>
                <History id=id.clone() changes=history_changes preview restore />
            </Show>
        </section>
    }
}

/// The kinds of widget, to click (added in the first free place) or drag onto the grid.
#[component]
fn Palette(editor: Editor) -> impl IntoView {
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
fn EditableGrid(
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
fn install_dragging(editor: Editor, grid: NodeRef<leptos::html::Div>) {
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

/// Ctrl+Z, Ctrl+Shift+Z (and Ctrl+Y), Ctrl+S. In a text field, undo is the field's own.
fn install_shortcuts(editor: Editor, save: Callback<Option<u64>>) {
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if !(event.ctrl_key() || event.meta_key()) {
            return;
        }
        let key = event.key().to_lowercase();
        let in_field = event_target_is_field(&event);
        match key.as_str() {
            "z" if !in_field => {
                event.prevent_default();
                if event.shift_key() {
                    editor.redo();
                } else {
                    editor.undo();
                }
            }
            "y" if !in_field => {
                event.prevent_default();
                editor.redo();
            }
            "s" => {
                event.prevent_default();
                save.run(None);
            }
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

fn event_target_is_field(event: &leptos::ev::KeyboardEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|element| {
                matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        false
    }
}

/// Leaving with unsaved edits asks first: closing or reloading the tab, and following a link
/// within livedash.
fn install_leave_guard(editor: Editor) {
    let unload = window_event_listener(leptos::ev::beforeunload, move |event| {
        if editor.dirty() {
            event.prevent_default();
            event.set_return_value("You have unsaved changes.");
        }
    });
    on_cleanup(move || unload.remove());
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let guard =
            Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
                let Some(link) = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|element| element.closest("a[href]").ok().flatten())
                else {
                    return;
                };
                let stays = link
                    .get_attribute("href")
                    .is_some_and(|href| href.starts_with('#'));
                if stays || !editor.dirty() {
                    return;
                }
                let leave = web_sys::window()
                    .and_then(|window| {
                        window
                            .confirm_with_message("Leave without saving your changes?")
                            .ok()
                    })
                    .unwrap_or(true);
                if leave {
                    // Going on without asking again when the page unloads.
                    editor.saved.set(editor.draft.get_untracked());
                } else {
                    event.prevent_default();
                    event.stop_immediate_propagation();
                }
            });
        let document = || web_sys::window().and_then(|window| window.document());
        if let Some(document) = document() {
            let _ = document.add_event_listener_with_callback_and_bool(
                "click",
                guard.as_ref().unchecked_ref(),
                true,
            );
        }
        let guard = StoredValue::new_local(guard);
        on_cleanup(move || {
            if let Some(document) = document() {
                guard.with_value(|guard| {
                    let _ = document.remove_event_listener_with_callback_and_bool(
                        "click",
                        guard.as_ref().unchecked_ref(),
                        true,
                    );
                });
            }
        });
    }
}

/// The version list: preview any version, restore it as the newest.
#[component]
fn History(
    id: String,
    changes: RwSignal<u32>,
    preview: RwSignal<Option<Dashboard>>,
    restore: Callback<u64>,
) -> impl IntoView {
    let versions = {
        let id = id.clone();
        json::resource(
            move || changes.get(),
            move |_| dashboard_history(id.clone()),
        )
    };
    let show = {
        let id = id.clone();
        browser_task(move |version: u64| {
            let id = id.clone();
            async move {
                if let Ok(dashboard) = get_dashboard(id, Some(version)).await {
                    preview.set(Some(dashboard));
                }
            }
        })
    };
    view! {
        <aside class="panel history" aria-label="Versions" data-testid="history">
            <h2>"Versions"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(list) => Either::Left(view! {
                            <ol class="versions">
                                {list.into_iter().map(|info| {
                                    let version = info.version;
                                    view! {
                                        <li data-testid="version" data-version=version>
                                            <span class="version-number">{format!("v{version}")}</span>
                                            <span class="version-meta">{format!("{} · {}", format_utc(info.saved_at), info.saved_by)}</span>
                                            <span class="version-summary">{info.summary.clone()}</span>
                                            <button class="button secondary" type="button" data-testid="preview-version"
                                                on:click=move |_| { show.run(version); }>"Preview"</button>
                                            <button class="button secondary" type="button" data-testid="restore-from-list"
                                                on:click=move |_| { restore.run(version); }>"Restore"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }),
                        Err(error) => Either::Right(view! { <p class="error" role="alert">{error.to_string()}</p> }),
                    }
                })}
            </Transition>
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drag(mode: DragMode, start: GridRect) -> Drag {
        Drag {
            widget: 0,
            mode,
            start,
            pointer: (0, 0),
            to: start,
        }
    }

    #[test]
    fn drags_snap_to_the_grid_and_stay_inside() {
        let start = GridRect {
            x: 2,
            y: 3,
            w: 4,
            h: 2,
        };
        let moving = drag(DragMode::Move, start);
        assert_eq!(
            dragged_to(&moving, 3, -1),
            GridRect {
                x: 5,
                y: 2,
                ..start
            }
        );
        assert_eq!(
            dragged_to(&moving, 20, -9),
            GridRect {
                x: 8,
                y: 0,
                ..start
            }
        );
        assert_eq!(dragged_to(&moving, -9, 0), GridRect { x: 0, ..start });
        let resizing = drag(DragMode::Resize, start);
        assert_eq!(
            dragged_to(&resizing, 2, 3),
            GridRect {
                w: 6,
                h: 5,
                ..start
            }
        );
        assert_eq!(
            dragged_to(&resizing, 20, -9),
            GridRect {
                w: 10,
                h: 1,
                ..start
            }
        );
    }

    #[test]
    fn widget_ids_are_fresh() {
        let mut dashboard = Dashboard::new("t");
        dashboard.widgets.push(new_widget(
            "w1",
            WidgetKind::Line,
            GridRect {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
            },
        ));
        dashboard.widgets.push(new_widget(
            "w3",
            WidgetKind::Line,
            GridRect {
                x: 1,
                y: 0,
                w: 1,
                h: 1,
            },
        ));
        assert_eq!(new_widget_id(&dashboard), "w2");
    }
}
