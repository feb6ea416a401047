//! The grid widgets sit on: 12 columns, rectangles that never overlap, and the rules the editor
//! follows (collisions push widgets down, the layout compacts up, new widgets fill free space).

use serde::{Deserialize, Serialize};

/// Columns of the dashboard grid.
pub const GRID_COLUMNS: u32 = 12;
/// Tallest widget, in grid rows.
pub const MAX_WIDGET_ROWS: u32 = 48;

/// A widget's place: column `x` (0-based), row `y`, `w` columns wide, `h` rows tall.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GridRect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl GridRect {
    /// Whether the two share a cell.
    #[must_use]
    pub fn overlaps(&self, other: &GridRect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }

    /// The first row below it.
    #[must_use]
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }
}

/// Places `moved` at `to` (clamped to the grid) and settles the rest as grid dashboards do: a
/// widget it now overlaps steps over it when it moves down and there is room above, and is
/// pushed below it otherwise (and those pushed push others, in turn); then every widget rises
/// as far as it can. Returns the new rectangles, in input order.
#[must_use]
pub fn place(rects: &[GridRect], moved: usize, to: GridRect) -> Vec<GridRect> {
    let mut rects = rects.to_vec();
    let from = rects[moved];
    let w = to.w.clamp(1, GRID_COLUMNS);
    rects[moved] = GridRect {
        x: to.x.min(GRID_COLUMNS - w),
        y: to.y,
        w,
        h: to.h.clamp(1, MAX_WIDGET_ROWS),
    };
    let mover = rects[moved];
    if mover.y > from.y {
        // Moving down: whoever it lands on goes above it, when that place is free.
        for other in 0..rects.len() {
            if other == moved || !rects[other].overlaps(&mover) {
                continue;
            }
            let Some(y) = mover.y.checked_sub(rects[other].h) else {
                continue;
            };
            let above = GridRect { y, ..rects[other] };
            let free = (0..rects.len())
                .filter(|&third| third != other && third != moved)
                .all(|third| !rects[third].overlaps(&above));
            if free {
                rects[other] = above;
            }
        }
    }
    push_down(&mut rects, moved);
    compact(&mut rects);
    rects
}

/// Moves every widget that overlaps `index` below it, recursively.
fn push_down(rects: &mut [GridRect], index: usize) {
    let mover = rects[index];
    // Those higher up are pushed first, so the order of the stack is kept.
    let mut hit: Vec<usize> = (0..rects.len())
        .filter(|&other| other != index && rects[other].overlaps(&mover))
        .collect();
    hit.sort_by_key(|&other| rects[other].y);
    for other in hit {
        if rects[other].overlaps(&rects[index]) {
            rects[other].y = rects[index].bottom();
            push_down(rects, other);
        }
    }
}

/// Lets every widget rise as far as the ones above it allow, top to bottom. Rising only moves
/// a widget into rows nobody below it can occupy, so no overlap is created.
pub fn compact(rects: &mut [GridRect]) {
    let mut order: Vec<usize> = (0..rects.len()).collect();
    order.sort_by_key(|&index| (rects[index].y, rects[index].x));
    let mut settled: Vec<usize> = Vec::with_capacity(rects.len());
    for index in order {
        let mut rect = rects[index];
        while rect.y > 0 {
            let above = GridRect {
                y: rect.y - 1,
                ..rect
            };
            if settled.iter().any(|&other| rects[other].overlaps(&above)) {
                break;
            }
            rect = above;
        }
        rects[index] = rect;
        settled.push(index);
    }
}

/// Where a new widget of `w` × `h` goes: the first free place from the top, left to right.
#[must_use]
pub fn free_spot(rects: &[GridRect], w: u32, h: u32) -> GridRect {
    let w = w.clamp(1, GRID_COLUMNS);
    let bottom = rects.iter().map(GridRect::bottom).max().unwrap_or(0);
    for y in 0..=bottom {
        for x in 0..=GRID_COLUMNS - w {
            let candidate = GridRect { x, y, w, h };
            if !rects.iter().any(|rect| rect.overlaps(&candidate)) {
                return candidate;
            }
        }
    }
    GridRect {
        x: 0,
        y: bottom,
        w,
        h,
    }
}
