//! What a chart shows of the alerts on its query: the levels of the rules whose alerts are
//! pending or firing (dashed lines), and the alerts' state changes in the window (marks on
//! the time axis), from the alert state series the dashboard follows live.

use crate::alerts::rule::THRESHOLD_LABELS;
use crate::alerts::{Severity, State};
use crate::live::View;
use crate::ui::charts::chart::{MARGIN, X_LABEL_AREA, Y_LABEL_AREA};
use crate::ui::charts::scene::{Scene, Shape};

/// Most state changes one chart marks.
const MAX_CHANGES: usize = 200;

/// The alert marks of one chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertMarks {
    /// Raise levels, each with its severity, lowest first.
    pub levels: Vec<(f64, Severity)>,
    /// State changes in the window, `(time, new state)`, oldest first.
    pub changes: Vec<(i64, State)>,
}

/// The marks of a chart of `selector` over `window`: levels from `latest` (every alert
/// state's newest value), changes from `changes` (the states of the alerts on `selector`,
/// one line per alert instance, a point per change).
#[must_use]
pub fn alert_marks(
    selector: &str,
    latest: &View,
    changes: &View,
    window: (i64, i64),
) -> AlertMarks {
    let mut marks = AlertMarks::default();
    for current in latest.latest.values() {
        let labels = &current.series.labels;
        let breached = State::from_code(current.value)
            .is_some_and(|state| state != State::Normal && state != State::NoData);
        if !breached || labels.get("selector").map(String::as_str) != Some(selector) {
            continue;
        }
        for (severity, label) in THRESHOLD_LABELS {
            let Some(levels) = labels.get(label) else {
                continue;
            };
            // serde_json's number reader, which the bundle holds already: the standard
            // library's would add its tables to the main bundle.
            let parsed = levels
                .split(',')
                .filter_map(|v| serde_json::from_str::<f64>(v).ok());
            for level in parsed {
                // Kept in order as they come: a sort would add its code to the main bundle.
                if !marks.levels.contains(&(level, severity)) {
                    let at = marks.levels.partition_point(|(other, _)| *other < level);
                    marks.levels.insert(at, (level, severity));
                }
            }
        }
    }
    for points in changes.lines.values() {
        for (&at, &code) in points.range(window.0..=window.1) {
            if let Some(state) = State::from_code(code)
                && !marks.changes.contains(&(at, state))
            {
                let index = marks.changes.partition_point(|(other, _)| *other <= at);
                marks.changes.insert(index, (at, state));
            }
        }
    }
    let surplus = marks.changes.len().saturating_sub(MAX_CHANGES);
    marks.changes.drain(..surplus);
    marks
}

/// The marks drawn over a chart's plot of `window` × `bounds` in `size` pixels, placed as the
/// axes place values and times: a dashed line with its label per level (class `alert-level`
/// and its severity), a stroke per change (class `alert-change` and the state). An SVG layer
/// like the series', so the browser updates them in place.
#[must_use]
pub fn render_marks(
    marks: &AlertMarks,
    (from, to): (i64, i64),
    (low, high): (f64, f64),
    (width, height): (u32, u32),
) -> Scene {
    let left = f64::from(MARGIN + Y_LABEL_AREA);
    let top = f64::from(MARGIN);
    let right = (f64::from(width) - f64::from(MARGIN)).max(left + 1.0);
    let bottom = (f64::from(height) - f64::from(MARGIN + X_LABEL_AREA)).max(top + 1.0);
    let span = (high - low).max(f64::MIN_POSITIVE);
    // Whole pixels: integers write shorter code and markup than decimals.
    let px = |value: f64| (value.round() as i32).to_string();
    let shape = |tag, class: String, place: [(&'static str, f64); 4], text| {
        let mut attributes = vec![("class", class)];
        attributes.extend(place.into_iter().map(|(name, value)| (name, px(value))));
        Shape {
            tag,
            attributes,
            text,
        }
    };
    let mut scene = Scene {
        size: (width, height),
        shapes: Vec::new(),
    };
    let mut labels = Vec::new();
    for &(level, severity) in &marks.levels {
        let y = top + (high - level) / span * (bottom - top);
        let class = format!("alert-level {}", severity.name());
        scene.shapes.push(shape(
            "line",
            class.clone(),
            [("x1", left), ("y1", y), ("x2", right), ("y2", y)],
            None,
        ));
        let text = format!("{} {}", severity.name(), crate::format::number(level));
        labels.push(shape(
            "text",
            class,
            [("x", right - 2.0), ("y", y - 3.0), ("dx", 0.0), ("dy", 0.0)],
            Some(text),
        ));
    }
    for &(at, state) in &marks.changes {
        let x = left + (at - from) as f64 / (to - from).max(1) as f64 * (right - left);
        let class = format!("alert-change {}", state.name());
        scene.shapes.push(shape(
            "line",
            class,
            [("x1", x), ("y1", top), ("x2", x), ("y2", bottom)],
            None,
        ));
    }
    scene.shapes.extend(labels);
    scene
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{CurrentValue, SeriesKey};

    fn state(labels: &[(&str, &str)], state: State) -> CurrentValue {
        let mut series = SeriesKey::new(crate::alerts::api::STATE_METRIC);
        for &(name, value) in labels {
            series = series.with_label(name, value);
        }
        CurrentValue {
            series,
            value: state.code(),
            ts: 0,
            kind: None,
        }
    }

    #[test]
    fn firing_alerts_draw_their_levels_and_every_change_is_marked() {
        let mut latest = View::default();
        for (host, now) in [("a", State::Firing), ("b", State::Normal)] {
            let value = state(
                &[
                    ("host", host),
                    ("selector", "cpu"),
                    ("threshold_critical", "90"),
                    ("threshold_warning", "10,80"),
                ],
                now,
            );
            latest.latest.insert(value.series.clone(), value);
        }
        let elsewhere = state(
            &[("selector", "mem"), ("threshold_critical", "5")],
            State::Firing,
        );
        latest.latest.insert(elsewhere.series.clone(), elsewhere);
        let mut changes = View::default();
        changes.lines.insert(
            BTreeMap::from([("host".to_owned(), "a".to_owned())]),
            BTreeMap::from([(50, 2.0), (100, 1.0), (200, 2.0), (900, 0.0)]),
        );
        let marks = alert_marks("cpu", &latest, &changes, (100, 800));
        assert_eq!(
            marks.levels,
            vec![
                (10.0, Severity::Warning),
                (80.0, Severity::Warning),
                (90.0, Severity::Critical)
            ]
        );
        assert_eq!(
            marks.changes,
            vec![(100, State::Pending), (200, State::Firing)]
        );
        let quiet = alert_marks("disk", &latest, &changes, (0, 1_000));
        assert!(quiet.levels.is_empty());

        // Drawn inside the plot: 0 to 100 over 100 px below the margin, 100 ms over 400 px.
        let drawn = render_marks(&marks, (100, 200), (0.0, 100.0), (476, 146));
        let attribute = |shape: &Shape, name: &str| {
            shape
                .attributes
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let lines: Vec<&Shape> = drawn.shapes.iter().filter(|s| s.tag == "line").collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(attribute(lines[2], "class"), "alert-level critical");
        assert_eq!(attribute(lines[2], "y1"), "20");
        assert_eq!(attribute(lines[0], "y1"), "100");
        assert_eq!(attribute(lines[3], "class"), "alert-change pending");
        assert_eq!(attribute(lines[3], "x1"), "66");
        assert_eq!(attribute(lines[4], "x1"), "466");
        let labels: Vec<_> = drawn.shapes.iter().filter_map(|s| s.text.clone()).collect();
        assert_eq!(labels, ["warning 10", "warning 80", "critical 90"]);
    }
}
