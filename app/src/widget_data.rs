//! What each kind of widget shows, worked out from its live view: the live query it subscribes
//! to (or the analytics it asks for), stat changes, values with their unit, threshold colours
//! and top-N rows.

use std::collections::BTreeMap;

use crate::dashboard::{DashboardRange, Display, Widget, WidgetKind};
use crate::events::AnalyticsQuery;
use crate::live::{LiveQuery, MAX_WINDOW_MS, View};
use crate::model::CurrentValue;
use crate::query::Selector;

/// Steps a widget picks from when its query names none: about [`TARGET_BUCKETS`] per range.
const NICE_STEPS_MS: [i64; 18] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];
const TARGET_BUCKETS: i64 = 240;

/// The step for a range of `range_ms` when none is set: the smallest nice step that keeps the
/// range within about 240 buckets.
#[must_use]
pub fn auto_step_ms(range_ms: i64) -> i64 {
    let wanted = range_ms / TARGET_BUCKETS;
    NICE_STEPS_MS
        .iter()
        .copied()
        .find(|step| *step >= wanted)
        .unwrap_or(NICE_STEPS_MS[NICE_STEPS_MS.len() - 1])
}

/// The span a relative range covers, in ms; absolute ranges are not live.
#[must_use]
pub fn live_span_ms(range: DashboardRange) -> Option<i64> {
    match range {
        DashboardRange::Last { ms } => Some(ms.clamp(1_000, MAX_WINDOW_MS)),
        DashboardRange::Absolute { .. } => None,
    }
}

/// How many ranges back a widget's live window reaches: a stat compares with the period
/// before, so it needs two, when that fits the longest live window.
#[must_use]
pub fn periods_wanted(kind: WidgetKind, span_ms: i64) -> i64 {
    if kind == WidgetKind::Stat && span_ms * 2 <= MAX_WINDOW_MS {
        2
    } else {
        1
    }
}

/// The live query behind `widget` over the last `span_ms`, or `None` for a note, a widget
/// without a query, or one whose selector does not parse (the editor shows why).
#[must_use]
pub fn live_query(widget: &Widget, span_ms: i64) -> Option<LiveQuery> {
    let query = widget.query.as_ref()?;
    let selector = Selector::parse(&query.selector).ok()?;
    match widget.kind {
        kind if !kind.uses_query()
            || matches!(kind, WidgetKind::Percentiles | WidgetKind::Heatmap) =>
        {
            None
        }
        WidgetKind::Table | WidgetKind::TopN => Some(LiveQuery::Latest {
            selector: Some(selector),
        }),
        kind => {
            let step_ms = query.step_ms.unwrap_or_else(|| auto_step_ms(span_ms));
            let window_ms = span_ms * periods_wanted(kind, span_ms);
            // One number needs one line: every matching series is combined.
            let group_by = if matches!(kind, WidgetKind::Stat | WidgetKind::Gauge) {
                Some(Vec::new())
            } else {
                query.group_by.clone()
            };
            let live = LiveQuery::Range {
                selector,
                aggregation: query.aggregation,
                step_ms: step_ms.max(window_ms / crate::live::MAX_WINDOW_BUCKETS + 1),
                window_ms,
                group_by,
            };
            live.validate().ok().map(|()| live)
        }
    }
}

/// The quantiles a percentiles widget draws, with their names.
pub const PERCENTILES: [(&str, f64); 4] =
    [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

/// The view id of one of a widget's lines: the widget's own id, or `<id>#p90` for a percentile.
#[must_use]
pub fn view_id(widget_id: &str, part: Option<&str>) -> String {
    match part {
        Some(part) => format!("{widget_id}#{part}"),
        None => widget_id.to_owned(),
    }
}

/// Every live query behind `widget`, with the id of the view each one feeds: one for most
/// kinds, one per quantile for a percentiles widget (each combining every matching series),
/// and for a chart the changes of the alerts on its query ([`alert_changes_query`]).
#[must_use]
pub fn live_queries(widget: &Widget, span_ms: i64) -> Vec<(String, LiveQuery)> {
    let mut queries = data_queries(widget, span_ms);
    if !queries.is_empty() {
        queries.extend(alert_changes_query(widget, span_ms));
    }
    queries
}

/// The view id part of a chart's alert changes.
pub const ALERT_CHANGES: &str = "alerts";

/// The states of the alerts whose rule watches a chart's query, over the chart's span, one
/// line per alert instance: their state series holds a point per change, which the chart
/// marks. `None` for kinds that are not charts.
#[must_use]
pub fn alert_changes_query(widget: &Widget, span_ms: i64) -> Option<(String, LiveQuery)> {
    let states = alert_states_widget(widget)?;
    let live = live_query(&states, span_ms)?;
    Some((view_id(&widget.id, Some(ALERT_CHANGES)), live))
}

/// A line chart of the states of the alerts on a chart widget's query (the last state in each
/// step, a line per alert instance), for its marks; `None` for kinds that are not charts.
#[must_use]
pub fn alert_states_widget(widget: &Widget) -> Option<Widget> {
    if !matches!(
        widget.kind,
        WidgetKind::Line | WidgetKind::Bar | WidgetKind::Percentiles
    ) {
        return None;
    }
    let query = widget.query.as_ref()?;
    let mut states = widget.clone();
    states.kind = WidgetKind::Line;
    // The text `state_selector` displays as, written out: a selector's formatting code would
    // add to the main bundle.
    let escaped = query.selector.replace('\\', "\\\\").replace('"', "\\\"");
    states.query = Some(crate::dashboard::WidgetQuery {
        selector: format!(
            "{}{{selector=\"{escaped}\"}}",
            crate::alerts::api::STATE_METRIC
        ),
        aggregation: crate::query::Aggregation::Last,
        step_ms: query.step_ms,
        group_by: None,
    });
    Some(states)
}

fn data_queries(widget: &Widget, span_ms: i64) -> Vec<(String, LiveQuery)> {
    if widget.kind != WidgetKind::Percentiles {
        let Some(main) = live_query(widget, span_ms) else {
            return Vec::new();
        };
        let mut queries = Vec::new();
        if widget.kind == WidgetKind::Line && widget.display.band {
            // The band: the same query, combined by min and by max.
            for (name, aggregation) in BAND {
                if let LiveQuery::Range {
                    selector,
                    step_ms,
                    window_ms,
                    group_by,
                    ..
                } = main.clone()
                {
                    queries.push((
                        view_id(&widget.id, Some(name)),
                        LiveQuery::Range {
                            selector,
                            aggregation,
                            step_ms,
                            window_ms,
                            group_by,
                        },
                    ));
                }
            }
        }
        queries.insert(0, (widget.id.clone(), main));
        return queries;
    }
    let Some(query) = widget.query.as_ref() else {
        return Vec::new();
    };
    let Ok(selector) = Selector::parse(&query.selector) else {
        return Vec::new();
    };
    let step_ms = query.step_ms.unwrap_or_else(|| auto_step_ms(span_ms));
    PERCENTILES
        .iter()
        .filter_map(|(name, q)| {
            let live = LiveQuery::Range {
                selector: selector.clone(),
                aggregation: crate::query::Aggregation::Quantile { q: *q },
                step_ms: step_ms.max(span_ms / crate::live::MAX_WINDOW_BUCKETS + 1),
                window_ms: span_ms,
                group_by: Some(Vec::new()),
            };
            live.validate()
                .ok()
                .map(|()| (view_id(&widget.id, Some(name)), live))
        })
        .collect()
}

/// The views of a line chart's min/max band, with the aggregation of each.
pub const BAND: [(&str, crate::query::Aggregation); 2] = [
    ("min", crate::query::Aggregation::Min),
    ("max", crate::query::Aggregation::Max),
];

/// Each line's band: for every step of `line` that both `low` and `high` cover, `(start, min,
/// max)`.
#[must_use]
pub fn band_of(
    line: &BTreeMap<i64, f64>,
    low: Option<&BTreeMap<i64, f64>>,
    high: Option<&BTreeMap<i64, f64>>,
    (from, to): (i64, i64),
) -> Vec<(i64, f64, f64)> {
    let (Some(low), Some(high)) = (low, high) else {
        return Vec::new();
    };
    line.range(from..=to)
        .filter_map(|(start, _)| Some((*start, *low.get(start)?, *high.get(start)?)))
        .collect()
}

/// A heatmap's columns are this many times wider than a chart's steps (about 60 over a range).
const HEATMAP_STEP_FACTOR: i64 = 4;

/// Rows a ranking shows unless the widget says otherwise.
pub const DEFAULT_TOP_ROWS: u32 = 10;
/// Events an event feed shows.
pub const FEED_EVENTS: u32 = 50;

/// What an analytics widget asks the server for over `window` (`[from, to]`), or `None` when
/// the widget is not an analytics widget or lacks its funnel or experiment.
#[must_use]
pub fn analytics_query(widget: &Widget, (from, to): (i64, i64)) -> Option<AnalyticsQuery> {
    let source = widget.source.clone().unwrap_or_default();
    let to = to + 1;
    match widget.kind {
        WidgetKind::Uniques => Some(AnalyticsQuery::Uniques {
            event: source.event,
            from,
            to,
        }),
        WidgetKind::TopValues => Some(AnalyticsQuery::Top {
            event: source.event,
            property: source.property,
            from,
            to,
            limit: widget.display.limit.unwrap_or(DEFAULT_TOP_ROWS),
        }),
        WidgetKind::Funnel if !source.id.is_empty() => {
            Some(AnalyticsQuery::Funnel { id: source.id })
        }
        WidgetKind::Experiment if !source.id.is_empty() => {
            Some(AnalyticsQuery::Experiment { id: source.id })
        }
        WidgetKind::WebStats | WidgetKind::WebRanking => Some(AnalyticsQuery::Web {
            site: source.id,
            from,
            to,
            filters: Vec::new(),
        }),
        WidgetKind::EventFeed => Some(AnalyticsQuery::Latest {
            event: source.event,
            limit: FEED_EVENTS,
        }),
        WidgetKind::Heatmap => {
            let query = widget.query.as_ref()?;
            Some(AnalyticsQuery::Heatmap {
                selector: query.selector.clone(),
                from,
                to,
                step_ms: query
                    .step_ms
                    .unwrap_or_else(|| auto_step_ms((to - from) * HEATMAP_STEP_FACTOR)),
            })
        }
        _ => None,
    }
}

/// A stat: the newest value, the change of this period's mean against the period before (when
/// both have data), and the points of this period for the sparkline.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    pub value: Option<f64>,
    /// Relative change, `0.1` for +10 %.
    pub change: Option<f64>,
    pub spark: Vec<(i64, f64)>,
    /// When the newest bucket started.
    pub at: Option<i64>,
}

/// Works out a stat from `view` (one combined line) at `now` over `span_ms`.
#[must_use]
pub fn stat(view: &View, now: i64, span_ms: i64) -> Stat {
    let empty = BTreeMap::new();
    let points = view.lines.values().next().unwrap_or(&empty);
    let start = now - span_ms;
    let spark: Vec<(i64, f64)> = points.range(start..).map(|(t, v)| (*t, *v)).collect();
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let current = mean(spark.iter().map(|(_, v)| *v).collect());
    let previous = mean(
        points
            .range(start - span_ms..start)
            .map(|(_, v)| *v)
            .collect(),
    );
    let change = match (current, previous) {
        (Some(current), Some(previous)) if previous != 0.0 => {
            Some((current - previous) / previous.abs())
        }
        _ => None,
    };
    let newest = points.last_key_value();
    Stat {
        value: newest.map(|(_, v)| *v),
        change,
        at: newest.map(|(t, _)| *t),
        spark,
    }
}

/// `value` as `display` says: its unit and decimals (see [`crate::format::with_unit`]).
#[must_use]
pub fn format_value(value: f64, display: &Display) -> String {
    crate::format::with_unit(value, &display.unit, display.decimals)
}

/// The colour `value` takes: that of the highest threshold at or below it.
#[must_use]
pub fn threshold_color(value: f64, display: &Display) -> Option<&str> {
    display
        .thresholds
        .iter()
        .filter(|threshold| threshold.value <= value)
        .max_by(|a, b| a.value.total_cmp(&b.value))
        .map(|threshold| threshold.color.as_str())
}

/// Where `value` sits between a gauge's ends, 0 to 1; the ends default to 0 and 100.
#[must_use]
pub fn gauge_fraction(value: f64, display: &Display) -> f64 {
    let (min, max) = (display.min.unwrap_or(0.0), display.max.unwrap_or(100.0));
    if max <= min {
        return 0.0;
    }
    ((value - min) / (max - min)).clamp(0.0, 1.0)
}

/// A row's name: its labels, or the metric when it has none.
#[must_use]
pub fn series_name(value: &CurrentValue) -> String {
    if value.series.labels.is_empty() {
        return value.series.name.clone();
    }
    value
        .series
        .labels
        .iter()
        .map(|(name, label)| format!("{name}={label}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of a table (by name) or a top-N list (largest first, at most `limit`).
#[must_use]
pub fn rows(view: &View, kind: WidgetKind, limit: Option<u32>) -> Vec<CurrentValue> {
    let mut rows: Vec<CurrentValue> = view.latest.values().cloned().collect();
    if kind == WidgetKind::TopN {
        rows.sort_by(|a, b| b.value.total_cmp(&a.value));
        rows.truncate(limit.unwrap_or(10) as usize);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::{GridRect, Threshold};
    use crate::live::Cursor;
    use crate::model::SeriesKey;
    use crate::query::Aggregation;

    fn widget(kind: WidgetKind, selector: &str) -> Widget {
        let layout = GridRect {
            x: 0,
            y: 0,
            w: 4,
            h: 4,
        };
        Widget::new("w", kind, "", layout).showing(selector, Aggregation::Avg)
    }

    #[test]
    fn steps_are_nice_and_bounded() {
        assert_eq!(auto_step_ms(300_000), 2_000);
        assert_eq!(auto_step_ms(3_600_000), 15_000);
        assert_eq!(auto_step_ms(86_400_000), 600_000);
        assert_eq!(auto_step_ms(30 * 86_400_000), 10_800_000);
        for range in [1_000, 60_000, 3_600_000, MAX_WINDOW_MS] {
            assert!(range / auto_step_ms(range) <= TARGET_BUCKETS);
        }
    }

    /// Each kind subscribes to what it draws: a stat to two periods of one combined line, a
    /// table to latest values, a note to nothing.
    #[test]
    fn kinds_pick_their_live_query() {
        let Some(LiveQuery::Range {
            window_ms,
            group_by,
            step_ms,
            ..
        }) = live_query(&widget(WidgetKind::Stat, "cpu"), 3_600_000)
        else {
            panic!("a stat is a range");
        };
        assert_eq!((window_ms, step_ms), (7_200_000, 15_000));
        assert_eq!(group_by, Some(Vec::new()));
        let Some(LiveQuery::Range {
            window_ms,
            group_by,
            ..
        }) = live_query(&widget(WidgetKind::Line, "cpu"), 3_600_000)
        else {
            panic!("a line chart is a range");
        };
        assert_eq!((window_ms, group_by), (3_600_000, None));
        assert!(matches!(
            live_query(&widget(WidgetKind::TopN, "cpu"), 3_600_000),
            Some(LiveQuery::Latest { selector: Some(_) })
        ));
        assert_eq!(
            live_query(&widget(WidgetKind::Text, "cpu"), 3_600_000),
            None
        );
        assert_eq!(
            live_query(&widget(WidgetKind::Line, "cpu{"), 3_600_000),
            None
        );
        // Thirty days of stat: the previous period would pass the live window, so none.
        let Some(LiveQuery::Range { window_ms, .. }) =
            live_query(&widget(WidgetKind::Stat, "cpu"), 30 * 86_400_000)
        else {
            panic!("a stat is a range");
        };
        assert_eq!(window_ms, 30 * 86_400_000);
    }

    #[test]
    fn stats_compare_with_the_period_before() {
        let mut view = View {
            cursor: Some(Cursor::default()),
            ..View::default()
        };
        let points: BTreeMap<i64, f64> = [(0, 10.0), (50, 10.0), (100, 12.0), (150, 10.0)].into();
        view.lines.insert(BTreeMap::new(), points);
        let stat = stat(&view, 200, 100);
        assert_eq!(stat.value, Some(10.0));
        assert_eq!(stat.at, Some(150));
        assert_eq!(stat.spark, vec![(100, 12.0), (150, 10.0)]);
        let change = stat.change.unwrap();
        assert!((change - 0.1).abs() < 1e-12, "{change}");
        assert_eq!(super::stat(&View::default(), 200, 100).value, None);
    }

    #[test]
    fn values_format_with_unit_and_decimals() {
        let mut display = Display::default();
        assert_eq!(format_value(12_345.0, &display), "12,345");
        assert_eq!(format_value(0.1234, &display), "0.123");
        assert_eq!(format_value(42.0, &display), "42");
        display.unit = "ms".into();
        display.decimals = Some(1);
        assert_eq!(format_value(12.345, &display), "12.3 ms");
        display.unit = "%".into();
        assert_eq!(format_value(99.0, &display), "99.0%");
        display.unit = "B".into();
        display.decimals = None;
        assert_eq!(format_value(46.97e6, &display), "47.0 MB");
    }

    #[test]
    fn thresholds_and_gauges() {
        let display = Display {
            thresholds: vec![
                Threshold {
                    value: 80.0,
                    color: "#ff0000".into(),
                },
                Threshold {
                    value: 50.0,
                    color: "#ffaa00".into(),
                },
            ],
            min: Some(0.0),
            max: Some(200.0),
            ..Display::default()
        };
        assert_eq!(threshold_color(10.0, &display), None);
        assert_eq!(threshold_color(60.0, &display), Some("#ffaa00"));
        assert_eq!(threshold_color(80.0, &display), Some("#ff0000"));
        assert!((gauge_fraction(50.0, &display) - 0.25).abs() < 1e-12);
        assert!((gauge_fraction(500.0, &display) - 1.0).abs() < 1e-12);
        assert!((gauge_fraction(-5.0, &Display::default())).abs() < 1e-12);
    }

    #[test]
    fn top_n_sorts_and_limits() {
        let mut view = View::default();
        for (host, value) in [("a", 3.0), ("b", 9.0), ("c", 5.0)] {
            let series = SeriesKey::new("cpu").with_label("host", host);
            view.latest.insert(
                series.clone(),
                CurrentValue {
                    series,
                    value,
                    ts: 1,
                    kind: None,
                },
            );
        }
        let top = rows(&view, WidgetKind::TopN, Some(2));
        assert_eq!(
            top.iter().map(series_name).collect::<Vec<_>>(),
            ["host=b", "host=c"]
        );
        assert_eq!(rows(&view, WidgetKind::Table, Some(2)).len(), 3);
    }

    /// Analytics widgets ask for what they show; counts, shares and times read naturally.
    #[test]
    fn analytics_formats() {
        let mut feed = widget(WidgetKind::EventFeed, "");
        feed.query = None;
        assert!(matches!(
            analytics_query(&feed, (0, 10)),
            Some(AnalyticsQuery::Latest {
                limit: FEED_EVENTS,
                ..
            })
        ));
        feed.kind = WidgetKind::Funnel;
        assert_eq!(analytics_query(&feed, (0, 10)), None, "no funnel picked");
        feed.source = Some(crate::dashboard::AnalyticsSource {
            id: "f1".into(),
            ..Default::default()
        });
        assert_eq!(
            analytics_query(&feed, (0, 10)),
            Some(AnalyticsQuery::Funnel { id: "f1".into() })
        );
        let mut percentiles = widget(WidgetKind::Percentiles, "latency_ms");
        percentiles.id = "w7".into();
        let queries = live_queries(&percentiles, 3_600_000);
        let ids: Vec<&str> = queries.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["w7#p50", "w7#p90", "w7#p95", "w7#p99", "w7#alerts"]);
        assert_eq!(live_query(&percentiles, 3_600_000), None);
        let mut line = widget(WidgetKind::Line, "latency_ms");
        line.display.band = true;
        let queries = live_queries(&line, 3_600_000);
        let aggregations: Vec<_> = queries
            .iter()
            .map(|(id, query)| match query {
                LiveQuery::Range { aggregation, .. } => (id.as_str(), *aggregation),
                LiveQuery::Latest { .. } => panic!("a range"),
            })
            .collect();
        assert_eq!(
            aggregations,
            [
                ("w", crate::query::Aggregation::Avg),
                ("w#min", crate::query::Aggregation::Min),
                ("w#max", crate::query::Aggregation::Max),
                ("w#alerts", crate::query::Aggregation::Last)
            ]
        );
        let Some((
            _,
            LiveQuery::Range {
                selector, group_by, ..
            },
        )) = queries.last()
        else {
            panic!("the alert changes' range");
        };
        assert_eq!(
            selector.to_string(),
            "livedash_alert_state{selector=\"latency_ms\"}"
        );
        assert_eq!(*group_by, None, "a line per alert instance");
        let stat = widget(WidgetKind::Stat, "latency_ms");
        assert_eq!(
            live_queries(&stat, 3_600_000).len(),
            1,
            "no marks on a stat"
        );
        let points = |pairs: &[(i64, f64)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
        assert_eq!(
            band_of(
                &points(&[(0, 5.0), (10, 6.0), (20, 7.0)]),
                Some(&points(&[(0, 1.0), (10, 2.0)])),
                Some(&points(&[(0, 9.0), (10, 8.0), (20, 9.5)])),
                (0, 20),
            ),
            [(0, 1.0, 9.0), (10, 2.0, 8.0)]
        );
    }
}
