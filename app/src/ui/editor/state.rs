//! The editor's state: the draft and what was saved, undo and redo (quick edits of one field
//! merge into one step), the selection and a drag in progress, and every edit of the grid.

use leptos::prelude::*;

use crate::clock::now_ms;
use crate::dashboard::{
    Dashboard, GRID_COLUMNS, GridRect, MAX_WIDGET_ROWS, Widget, WidgetKind, compact, free_spot,
    place,
};
use crate::ui::dashboard::frame::DragMode;
use crate::ui::widgets::fresh::{new_widget, new_widget_id};

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
    pub undo: RwSignal<Vec<Dashboard>>,
    pub redo: RwSignal<Vec<Dashboard>>,
    last_edit: StoredValue<Option<(String, i64)>>,
    pub selected: RwSignal<Option<String>>,
    pub drag: RwSignal<Option<Drag>>,
}

impl Editor {
    pub fn new(dashboard: Dashboard) -> Self {
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
    pub fn reset(&self, dashboard: Dashboard) {
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
            compact(&mut rects);
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
    pub fn shown_layout(&self) -> Vec<GridRect> {
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
    pub fn key(&self, id: &str, key: &str, shift: bool) -> bool {
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
pub fn same_content(a: &Dashboard, b: &Dashboard) -> bool {
    a.title == b.title
        && a.description == b.description
        && a.range == b.range
        && a.widgets == b.widgets
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
}
