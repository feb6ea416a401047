//! The rules a stored dashboard keeps, checked before it is saved: limits, a sound grid, queries
//! that parse; a refusal names the field at fault.

use std::collections::HashSet;

use crate::dashboard::document::{Dashboard, DashboardRange};
use crate::dashboard::grid::{GRID_COLUMNS, GridRect, MAX_WIDGET_ROWS};
use crate::dashboard::widget::WidgetKind;
use crate::query::Selector;

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
                    (Some(source), WidgetKind::WebRanking)
                        if !crate::web::RANKINGS
                            .iter()
                            .any(|(name, _)| *name == source.property) =>
                    {
                        return Err(invalid(
                            at("source.property"),
                            format!("no ranking is called {:?}", source.property),
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
