//! One widget: its kind, place, query or analytics source, and display options, and the
//! builders that write one out.

use serde::{Deserialize, Serialize};

use crate::dashboard::grid::GridRect;
use crate::query::Aggregation;

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

impl Widget {
    /// What the alerts it shows are on (their rules' [`crate::alerts::Source::subject`]): its
    /// query's selector, or the funnel or experiment it shows.
    #[must_use]
    pub fn alert_subject(&self) -> Option<String> {
        let analytics = |prefix: &str| {
            self.source
                .as_ref()
                .filter(|source| !source.id.is_empty())
                .map(|source| format!("{prefix}:{}", source.id))
        };
        match self.kind {
            WidgetKind::Funnel => analytics("funnel"),
            WidgetKind::Experiment => analytics("experiment"),
            _ => self.query.as_ref().map(|query| query.selector.clone()),
        }
    }

    /// A widget of `kind` titled `title` at `layout`, showing nothing yet: the one place a
    /// widget is written out field by field.
    #[must_use]
    pub fn new(id: &str, kind: WidgetKind, title: &str, layout: GridRect) -> Self {
        Self {
            id: id.to_owned(),
            kind,
            title: title.to_owned(),
            layout,
            query: None,
            display: Display::default(),
            text: String::new(),
            source: None,
        }
    }

    /// Shows `selector` with `aggregation`, one line per series, the step chosen by the range.
    #[must_use]
    pub fn showing(mut self, selector: &str, aggregation: Aggregation) -> Self {
        self.query = Some(WidgetQuery {
            selector: selector.to_owned(),
            aggregation,
            step_ms: None,
            group_by: None,
        });
        self
    }

    /// Buckets of `step_ms` instead of the step the range would choose.
    #[must_use]
    pub fn with_step(mut self, step_ms: i64) -> Self {
        if let Some(query) = &mut self.query {
            query.step_ms = Some(step_ms);
        }
        self
    }

    /// Groups the query's series by `labels` (none: everything in one).
    #[must_use]
    pub fn grouped_by(mut self, labels: &[&str]) -> Self {
        if let Some(query) = &mut self.query {
            query.group_by = Some(labels.iter().map(|label| (*label).to_owned()).collect());
        }
        self
    }

    /// Shows `source`'s analytics.
    #[must_use]
    pub fn with_source(mut self, source: AnalyticsSource) -> Self {
        self.source = Some(source);
        self
    }

    /// Values are shown with `unit` after them.
    #[must_use]
    pub fn with_unit(mut self, unit: &str) -> Self {
        self.display.unit = unit.to_owned();
        self
    }
}

/// The analytics an analytics widget shows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct AnalyticsSource {
    /// The funnel or experiment id, or a web widget's site.
    #[serde(default)]
    pub id: String,
    /// The event counted (unique users, rankings, the feed); empty for every event.
    #[serde(default)]
    pub event: String,
    /// The property ranked (empty ranks event names), or a web ranking's name
    /// ([`crate::web::RANKINGS`]).
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
    /// A site's visitors, visits, page views, bounce rate, visit duration and current visitors.
    WebStats,
    /// One ranking of a site's visits (pages, sources, devices…); a click on a row filters
    /// the dashboard's web widgets by it.
    WebRanking,
}

impl WidgetKind {
    /// Every kind, in palette order.
    pub const ALL: [Self; 16] = [
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
        Self::WebStats,
        Self::WebRanking,
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
            Self::Uniques
                | Self::TopValues
                | Self::Funnel
                | Self::Experiment
                | Self::EventFeed
                | Self::WebStats
                | Self::WebRanking
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
            Self::WebStats => "Web stats",
            Self::WebRanking => "Web ranking",
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
            Self::TopValues | Self::EventFeed | Self::WebRanking => (4, 8),
            Self::WebStats => (12, 4),
            Self::Funnel | Self::Experiment | Self::Percentiles | Self::Heatmap => (6, 8),
        }
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
