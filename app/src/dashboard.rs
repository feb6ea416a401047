//! Dashboards: widgets on a 12-column grid, their queries and display options, versions, and
//! the grid rules the editor follows (collisions push widgets down, the layout compacts up).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::query::{Aggregation, Selector};

/// Columns of the dashboard grid.
pub const GRID_COLUMNS: u32 = 12;
/// Tallest widget, in grid rows.
pub const MAX_WIDGET_ROWS: u32 = 48;
/// Most widgets on one dashboard.
pub const MAX_WIDGETS: usize = 200;
/// Longest dashboard or widget title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest text note or description, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest version summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Most thresholds on one widget.
pub const MAX_THRESHOLDS: usize = 20;

/// A saved dashboard, as stored and exported.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Dashboard {
    /// Opaque identifier, given by the server.
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The range the dashboard opens with.
    #[serde(default)]
    pub range: DashboardRange,
    #[serde(default)]
    pub widgets: Vec<Widget>,
    /// The version this content is (0 before the first save).
    #[serde(default)]
    pub version: u64,
}

/// The time range a dashboard opens with (the URL can override it).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DashboardRange {
    /// The last `ms` milliseconds, moving with now.
    Last { ms: i64 },
    /// A fixed span, ms since the epoch.
    Absolute { from: i64, to: i64 },
}

impl Default for DashboardRange {
    fn default() -> Self {
        Self::Last { ms: 3_600_000 }
    }
}

/// One widget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Widget {
    /// Unique within its dashboard.
    pub id: String,
    pub kind: WidgetKind,
    #[serde(default)]
    pub title: String,
    pub layout: GridRect,
    /// What it shows (every kind but the text note).
    #[serde(default)]
    pub query: Option<WidgetQuery>,
    #[serde(default)]
    pub display: Display,
    /// The text of a note (markdown), shown as text, never as HTML.
    #[serde(default)]
    pub text: String,
    /// What an analytics widget shows (funnel, experiment, event, property).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AnalyticsSource>,
}

/// The analytics an analytics widget shows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct AnalyticsSource {
    /// The funnel or experiment id.
    #[serde(default)]
    pub id: String,
    /// The event counted (unique users, rankings, the feed); empty for every event.
    #[serde(default)]
    pub event: String,
    /// The property ranked; empty ranks event names.
    #[serde(default)]
    pub property: String,
}

/// The kinds of widget.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// One value, its change against the previous period, a sparkline.
    Stat,
    /// One value on an arc between min and max.
    Gauge,
    /// Lines over time.
    Line,
    /// Bars over time.
    Bar,
    /// Current values by label.
    Table,
    /// The largest current values.
    TopN,
    /// A text note.
    Text,
    /// Distinct users over the range, with its error.
    Uniques,
    /// The most frequent values of an event property (top pages) over the range.
    TopValues,
    /// A funnel's steps with their drop-off.
    Funnel,
    /// An experiment's results table.
    Experiment,
    /// p50, p90, p95 and p99 of a histogram over time.
    Percentiles,
    /// The newest events, as they arrive.
    EventFeed,
    /// How a histogram's observations spread over values, over time.
    Heatmap,
}

impl WidgetKind {
    /// Every kind, in palette order.
    pub const ALL: [Self; 14] = [
        Self::Line,
        Self::Stat,
        Self::Gauge,
        Self::Bar,
        Self::Table,
        Self::TopN,
        Self::Text,
        Self::Percentiles,
        Self::Heatmap,
        Self::Uniques,
        Self::TopValues,
        Self::Funnel,
        Self::Experiment,
        Self::EventFeed,
    ];

    /// Whether it shows a metric query (the others show a note or analytics).
    #[must_use]
    pub fn uses_query(self) -> bool {
        !self.uses_source() && self != Self::Text
    }

    /// Whether it shows analytics (a funnel, an experiment, events).
    #[must_use]
    pub fn uses_source(self) -> bool {
        matches!(
            self,
            Self::Uniques | Self::TopValues | Self::Funnel | Self::Experiment | Self::EventFeed
        )
    }

    /// Its name in the palette.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Stat => "Stat",
            Self::Gauge => "Gauge",
            Self::Line => "Line chart",
            Self::Bar => "Bar chart",
            Self::Table => "Table",
            Self::TopN => "Top N",
            Self::Text => "Text note",
            Self::Uniques => "Unique users",
            Self::TopValues => "Top pages",
            Self::Funnel => "Funnel",
            Self::Experiment => "Experiment",
            Self::Percentiles => "Percentiles",
            Self::EventFeed => "Event feed",
            Self::Heatmap => "Heatmap",
        }
    }

    /// The size a new widget of this kind gets.
    #[must_use]
    pub fn default_size(self) -> (u32, u32) {
        match self {
            Self::Stat | Self::Gauge => (3, 4),
            Self::Line | Self::Bar => (6, 8),
            Self::Table | Self::TopN => (4, 8),
            Self::Text | Self::Uniques => (4, 4),
            Self::TopValues | Self::EventFeed => (4, 8),
            Self::Funnel | Self::Experiment | Self::Percentiles | Self::Heatmap => (6, 8),
        }
    }
}

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

/// What a widget queries; the selector is kept as written, so an export reads naturally.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WidgetQuery {
    /// `name{label="value",…}`.
    pub selector: String,
    pub aggregation: Aggregation,
    /// Step between points, ms; absent picks one from the range.
    #[serde(default)]
    pub step_ms: Option<i64>,
    /// Labels to group by; absent is one line per series.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
}

/// How a widget shows its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Display {
    /// Shown after values (`ms`, `%`, `req/s`).
    #[serde(default)]
    pub unit: String,
    /// Digits after the decimal point; absent chooses by magnitude.
    #[serde(default)]
    pub decimals: Option<u8>,
    /// Colours from a value upwards, in ascending order of value.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// Ends of a gauge's arc (and a chart's axis when set).
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Whether a chart shows its legend.
    #[serde(default = "yes")]
    pub legend: bool,
    /// How many rows a top-N list shows.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Whether a line chart shades each line's range per step, from its smallest to its
    /// largest value (read from the rollups' min and max).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub band: bool,
}

fn yes() -> bool {
    true
}

impl Default for Display {
    fn default() -> Self {
        Self {
            unit: String::new(),
            decimals: None,
            thresholds: Vec::new(),
            min: None,
            max: None,
            legend: true,
            limit: None,
            band: false,
        }
    }
}

/// From `value` upwards, values take `color` (`#rrggbb`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub color: String,
}

/// A dashboard in the list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub version: u64,
    /// When the current version was saved, ms since the epoch.
    pub saved_at: i64,
    pub widgets: usize,
}

/// One saved version, without its content.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VersionInfo {
    pub version: u64,
    /// ms since the epoch.
    pub saved_at: i64,
    pub saved_by: String,
    pub summary: String,
}

/// A read-only, live link to one dashboard.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ShareLink {
    /// Identifies the link for listing and revoking (not the token).
    pub id: String,
    /// The dashboard it shows.
    pub dashboard: String,
    #[serde(default)]
    pub label: String,
    /// ms since the epoch.
    pub created_at: i64,
    /// When it stops working, ms since the epoch; never when absent.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// A link just made, with its token: shown once, then only its hash is kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CreatedShareLink {
    pub token: String,
    pub link: ShareLink,
}

/// What a save did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SaveOutcome {
    /// Stored as this version.
    Saved { version: VersionInfo },
    /// Someone saved a newer version since the one the edit started from; nothing was stored.
    Conflict { current: VersionInfo },
}

/// Why a dashboard was refused; the message names the field at fault.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
#[error("{field}: {problem}")]
pub struct InvalidDashboard {
    /// Where, as a path (`widgets[2].layout.w`).
    pub field: String,
    pub problem: String,
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> InvalidDashboard {
    InvalidDashboard {
        field: field.into(),
        problem: problem.into(),
    }
}

fn check_length(field: &str, text: &str, most: usize) -> Result<(), InvalidDashboard> {
    let length = text.chars().count();
    if length > most {
        return Err(invalid(
            field,
            format!("{length} characters; at most {most}"),
        ));
    }
    Ok(())
}

impl Dashboard {
    /// An empty dashboard called `title`.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            title: title.into(),
            description: String::new(),
            range: DashboardRange::default(),
            widgets: Vec::new(),
            version: 0,
        }
    }

    /// Checks every rule a stored dashboard keeps.
    ///
    /// # Errors
    /// The first rule broken, naming the field.
    pub fn validate(&self) -> Result<(), InvalidDashboard> {
        if self.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty"));
        }
        check_length("title", &self.title, MAX_TITLE_CHARS)?;
        check_length("description", &self.description, MAX_TEXT_CHARS)?;
        match self.range {
            DashboardRange::Last { ms } if !(1..=crate::query::MAX_SPAN_MS).contains(&ms) => {
                return Err(invalid(
                    "range.ms",
                    "must be positive and at most 100 years",
                ));
            }
            DashboardRange::Absolute { from, to }
                if to <= from
                    || from.unsigned_abs() > crate::query::MAX_TIMESTAMP_MS.unsigned_abs()
                    || to.unsigned_abs() > crate::query::MAX_TIMESTAMP_MS.unsigned_abs() =>
            {
                return Err(invalid(
                    "range",
                    "`to` must be after `from`, both times livedash can store",
                ));
            }
            _ => {}
        }
        if self.widgets.len() > MAX_WIDGETS {
            return Err(invalid(
                "widgets",
                format!("{} widgets; at most {MAX_WIDGETS}", self.widgets.len()),
            ));
        }
        let mut ids = HashSet::new();
        for (index, widget) in self.widgets.iter().enumerate() {
            let at = |field: &str| format!("widgets[{index}].{field}");
            // Ids name widgets in addresses, element ids and live subscriptions: keep them plain.
            let plain = widget
                .id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
            if widget.id.is_empty() || widget.id.len() > 64 || !plain {
                return Err(invalid(
                    at("id"),
                    format!(
                        "{:?} is not 1 to 64 letters, digits, `_` or `-`",
                        widget.id.chars().take(80).collect::<String>()
                    ),
                ));
            }
            if !ids.insert(widget.id.as_str()) {
                return Err(invalid(at("id"), format!("{:?} is used twice", widget.id)));
            }
            check_length(&at("title"), &widget.title, MAX_TITLE_CHARS)?;
            check_length(&at("text"), &widget.text, MAX_TEXT_CHARS)?;
            let GridRect { x, w, h, .. } = widget.layout;
            if w == 0 || h == 0 {
                return Err(invalid(at("layout"), "width and height must be at least 1"));
            }
            if x + w > GRID_COLUMNS {
                return Err(invalid(
                    at("layout"),
                    format!(
                        "columns {x} to {} leave the {GRID_COLUMNS}-column grid",
                        x + w
                    ),
                ));
            }
            if h > MAX_WIDGET_ROWS {
                return Err(invalid(
                    at("layout.h"),
                    format!("{h} rows; at most {MAX_WIDGET_ROWS}"),
                ));
            }
            match (&widget.query, widget.kind) {
                (_, kind) if !kind.uses_query() => match (&widget.source, kind) {
                    (_, WidgetKind::Text) => {}
                    (None, kind) => {
                        return Err(invalid(
                            at("source"),
                            format!("the {} widget needs to know what to show", kind.label()),
                        ));
                    }
                    (Some(source), WidgetKind::Funnel | WidgetKind::Experiment)
                        if source.id.is_empty() =>
                    {
                        return Err(invalid(
                            at("source.id"),
                            format!("pick the {} to show", kind.label().to_lowercase()),
                        ));
                    }
                    (Some(_), _) => {}
                },
                (None, kind) => {
                    return Err(invalid(
                        at("query"),
                        format!("the {} widget needs a query", kind.label()),
                    ));
                }
                (Some(query), _) => {
                    Selector::parse(&query.selector)
                        .map_err(|error| invalid(at("query.selector"), error.to_string()))?;
                    if query
                        .step_ms
                        .is_some_and(|step| !(1..=crate::query::MAX_SPAN_MS).contains(&step))
                    {
                        return Err(invalid(
                            at("query.step_ms"),
                            "must be positive and at most 100 years",
                        ));
                    }
                }
            }
            let display = &widget.display;
            if display.unit.chars().count() > 32 {
                return Err(invalid(at("display.unit"), "at most 32 characters"));
            }
            if display.decimals.is_some_and(|digits| digits > 10) {
                return Err(invalid(at("display.decimals"), "at most 10"));
            }
            if display.thresholds.len() > MAX_THRESHOLDS {
                return Err(invalid(
                    at("display.thresholds"),
                    format!("at most {MAX_THRESHOLDS}"),
                ));
            }
            for (t, threshold) in display.thresholds.iter().enumerate() {
                if !threshold.value.is_finite() {
                    return Err(invalid(
                        at(&format!("display.thresholds[{t}].value")),
                        "must be a number",
                    ));
                }
                if !is_hex_colour(&threshold.color) {
                    return Err(invalid(
                        at(&format!("display.thresholds[{t}].color")),
                        format!("{:?} is not a colour like #1f77b4", threshold.color),
                    ));
                }
            }
            if let (Some(min), Some(max)) = (display.min, display.max)
                && min >= max
            {
                return Err(invalid(at("display"), "min must be below max"));
            }
        }
        let rects: Vec<GridRect> = self.widgets.iter().map(|widget| widget.layout).collect();
        for (a, first) in rects.iter().enumerate() {
            for (b, second) in rects.iter().enumerate().skip(a + 1) {
                if first.overlaps(second) {
                    return Err(invalid(
                        format!("widgets[{b}].layout"),
                        format!("overlaps widgets[{a}]"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_hex_colour(text: &str) -> bool {
    text.len() == 7
        && text.starts_with('#')
        && text[1..].bytes().all(|byte| byte.is_ascii_hexdigit())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u32, y: u32, w: u32, h: u32) -> GridRect {
        GridRect { x, y, w, h }
    }

    fn no_overlaps(rects: &[GridRect]) -> bool {
        rects.iter().enumerate().all(|(a, first)| {
            rects
                .iter()
                .skip(a + 1)
                .all(|second| !first.overlaps(second))
        })
    }

    /// Moving a widget onto another pushes that one down; the layout then closes gaps upwards.
    #[test]
    fn moving_onto_a_widget_pushes_it_down_and_compacts() {
        // A (0,0 6x4) and B (6,0 6x4) side by side, C (0,4 12x2) below both.
        let rects = [rect(0, 0, 6, 4), rect(6, 0, 6, 4), rect(0, 4, 12, 2)];
        // Drag B onto A's place.
        let placed = place(&rects, 1, rect(0, 0, 6, 4));
        assert_eq!(placed[1], rect(0, 0, 6, 4), "B where it was dropped");
        assert_eq!(placed[0], rect(0, 4, 6, 4), "A pushed below B");
        assert_eq!(placed[2], rect(0, 8, 12, 2), "C pushed below A");
        assert!(no_overlaps(&placed));
    }

    /// A widget moved away leaves a gap that the ones below close.
    #[test]
    fn gaps_close_upwards() {
        let rects = [rect(0, 0, 12, 3), rect(0, 3, 4, 2), rect(4, 3, 4, 5)];
        // Move the top one to the right of the others, below them.
        let placed = place(&rects, 0, rect(0, 20, 12, 3));
        assert_eq!(placed[1], rect(0, 0, 4, 2));
        assert_eq!(placed[2], rect(4, 0, 4, 5));
        assert_eq!(
            placed[0],
            rect(0, 5, 12, 3),
            "rises to just below the others"
        );
    }

    /// Dragging a widget down onto the one below swaps their order.
    #[test]
    fn moving_down_steps_over() {
        let rects = [rect(0, 0, 6, 2), rect(0, 2, 6, 2)];
        let placed = place(&rects, 0, rect(0, 3, 6, 2));
        assert_eq!(placed[1], rect(0, 0, 6, 2));
        assert_eq!(placed[0], rect(0, 2, 6, 2));
    }

    /// Resizing wider than the grid is clamped; growing pushes neighbours down.
    #[test]
    fn resizing_clamps_and_pushes() {
        let rects = [rect(0, 0, 4, 4), rect(4, 0, 4, 4)];
        let placed = place(&rects, 0, rect(0, 0, 20, 4));
        assert_eq!(placed[0], rect(0, 0, 12, 4));
        assert_eq!(placed[1], rect(4, 4, 4, 4));
        let placed = place(&rects, 1, rect(10, 0, 4, 4));
        assert_eq!(placed[1], rect(8, 0, 4, 4), "kept inside the 12 columns");
    }

    /// New widgets take the first free spot from the top left.
    #[test]
    fn new_widgets_fill_free_space() {
        let rects = [rect(0, 0, 6, 4)];
        assert_eq!(free_spot(&rects, 6, 4), rect(6, 0, 6, 4));
        assert_eq!(free_spot(&rects, 8, 2), rect(0, 4, 8, 2));
        assert_eq!(free_spot(&[], 3, 3), rect(0, 0, 3, 3));
    }

    /// Every random sequence of moves and resizes leaves a layout without overlaps and
    /// without a widget that could rise.
    #[test]
    fn random_edits_keep_the_layout_sound() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n)) as u32
        };
        let mut rects: Vec<GridRect> = Vec::new();
        for _ in 0..12 {
            let (w, h) = (1 + next(6), 1 + next(5));
            rects.push(free_spot(&rects, w, h));
        }
        for _ in 0..500 {
            let moved = next(rects.len() as u32) as usize;
            let to = rect(next(12), next(30), 1 + next(12), 1 + next(8));
            rects = place(&rects, moved, to);
            assert!(no_overlaps(&rects), "{rects:?}");
            let mut settled = rects.clone();
            compact(&mut settled);
            assert_eq!(settled, rects, "nothing can rise further");
        }
    }

    fn sample() -> Dashboard {
        let mut dashboard = Dashboard::new("Service health");
        dashboard.widgets.push(Widget {
            id: "w1".into(),
            kind: WidgetKind::Line,
            title: "CPU".into(),
            layout: rect(0, 0, 6, 8),
            query: Some(WidgetQuery {
                selector: r#"cpu_usage{host="a"}"#.into(),
                aggregation: Aggregation::Avg,
                step_ms: None,
                group_by: None,
            }),
            display: Display::default(),
            text: String::new(),
            source: None,
        });
        dashboard
    }

    /// A sound dashboard passes; each broken rule is named by its field.
    #[test]
    fn validation_names_the_field() {
        assert_eq!(sample().validate(), Ok(()));
        let broken = |change: fn(&mut Dashboard)| {
            let mut dashboard = sample();
            change(&mut dashboard);
            dashboard.validate().unwrap_err().field
        };
        assert_eq!(broken(|d| d.title = "  ".into()), "title");
        assert_eq!(broken(|d| d.widgets[0].layout.w = 13), "widgets[0].layout");
        assert_eq!(broken(|d| d.widgets[0].layout.h = 0), "widgets[0].layout");
        assert_eq!(broken(|d| d.widgets[0].query = None), "widgets[0].query");
        assert_eq!(
            broken(|d| d.widgets[0].query.as_mut().unwrap().selector = "cpu{".into()),
            "widgets[0].query.selector"
        );
        assert_eq!(
            broken(|d| d.widgets[0].display.thresholds.push(Threshold {
                value: 1.0,
                color: "red; background:url(x)".into()
            })),
            "widgets[0].display.thresholds[0].color"
        );
        assert_eq!(
            broken(|d| {
                let mut copy = d.widgets[0].clone();
                copy.layout.x = 3;
                d.widgets.push(copy);
            }),
            "widgets[1].id"
        );
        assert_eq!(
            broken(|d| {
                let mut copy = d.widgets[0].clone();
                copy.id = "w2".into();
                copy.layout.x = 3;
                d.widgets.push(copy);
            }),
            "widgets[1].layout"
        );
    }

    /// The JSON form is what export writes and import reads; defaults fill what is left out.
    #[test]
    fn json_round_trip_with_defaults() {
        let dashboard = sample();
        let json = serde_json::to_string(&dashboard).unwrap();
        assert_eq!(serde_json::from_str::<Dashboard>(&json).unwrap(), dashboard);
        let minimal: Dashboard = serde_json::from_str(
            r#"{"title":"t","widgets":[{"id":"n","kind":"text","layout":{"x":0,"y":0,"w":4,"h":2},"text":"hi"}]}"#,
        )
        .unwrap();
        assert_eq!(minimal.range, DashboardRange::default());
        assert!(minimal.widgets[0].display.legend);
        assert_eq!(minimal.validate(), Ok(()));
    }
}
