//! A rule as the editor's form holds it (text, as typed), made from a stored rule or a chart's
//! query, and turned into a rule with the field at fault named.

use std::collections::BTreeMap;

use crate::alerts::{Band, Condition, Handling, Line, Measure, Rule, Severity, Source};
use crate::query::{Aggregation, parse_duration_ms};
use crate::ui::dashboard::range::duration_text;

/// A rule as the form holds it: text, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub id: String,
    pub name: String,
    pub selector: String,
    pub aggregation: String,
    pub window: String,
    pub group_by: String,
    pub change: bool,
    pub op: String,
    pub critical: (String, String),
    pub warning: (String, String),
    /// Outside a range: low and high raise levels.
    pub band: (String, String),
    pub absent_after: String,
    pub pending: String,
    pub keep_firing: String,
    pub no_data: String,
    pub error: String,
    pub summary: String,
    pub description: String,
    pub labels: String,
    pub contact_points: Vec<String>,
    pub dashboard: Option<String>,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            selector: String::new(),
            aggregation: "avg".into(),
            window: "5m".into(),
            group_by: String::new(),
            change: false,
            op: "above".into(),
            critical: (String::new(), String::new()),
            warning: (String::new(), String::new()),
            band: (String::new(), String::new()),
            absent_after: "5m".into(),
            pending: "0s".into(),
            keep_firing: "0s".into(),
            no_data: "keep".into(),
            error: "keep".into(),
            summary: String::new(),
            description: String::new(),
            labels: String::new(),
            contact_points: Vec::new(),
            dashboard: None,
        }
    }
}

fn number_text(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn handling_name(handling: Handling) -> String {
    match handling {
        Handling::Keep => "keep",
        Handling::Alert => "alert",
        Handling::Normal => "normal",
    }
    .into()
}

impl Draft {
    /// A new rule from a chart's query ("Alert on this").
    #[must_use]
    pub fn from_query(
        selector: &str,
        aggregation: Option<&str>,
        by: Option<&str>,
        dashboard: Option<String>,
    ) -> Self {
        let metric = selector.split('{').next().unwrap_or(selector).trim();
        Self {
            name: format!("{metric} {}", aggregation.unwrap_or("avg")),
            selector: selector.to_owned(),
            aggregation: aggregation.unwrap_or("avg").to_owned(),
            group_by: by.unwrap_or_default().to_owned(),
            dashboard,
            ..Self::default()
        }
    }

    /// The form of a stored rule.
    #[must_use]
    pub fn of(rule: &Rule) -> Self {
        let Source::Metric {
            selector,
            aggregation,
            window_ms,
            group_by,
            measure,
        } = &rule.source;
        let mut draft = Self {
            id: rule.id.clone(),
            name: rule.name.clone(),
            selector: selector.clone(),
            aggregation: Aggregation::NAMES
                .iter()
                .find(|(_, a)| a == aggregation)
                .map_or("avg", |(name, _)| *name)
                .into(),
            window: duration_text(*window_ms),
            group_by: group_by.join(", "),
            change: *measure == Measure::Change,
            pending: duration_text(rule.pending_ms),
            keep_firing: duration_text(rule.keep_firing_ms),
            no_data: handling_name(rule.no_data),
            error: handling_name(rule.error),
            summary: rule.summary.clone(),
            description: rule.description.clone(),
            labels: rule
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            contact_points: rule.contact_points.clone(),
            dashboard: rule.dashboard.clone(),
            ..Self::default()
        };
        let line = |line: &Option<Line>| {
            line.map_or((String::new(), String::new()), |line| {
                (line.raise.to_string(), number_text(line.clear))
            })
        };
        match &rule.condition {
            Condition::Above { critical, warning } | Condition::Below { critical, warning } => {
                draft.op = if matches!(rule.condition, Condition::Above { .. }) {
                    "above"
                } else {
                    "below"
                }
                .into();
                draft.critical = line(critical);
                draft.warning = line(warning);
            }
            Condition::Outside { critical, .. } => {
                draft.op = "outside".into();
                draft.band = critical.map_or((String::new(), String::new()), |band| {
                    (band.low.raise.to_string(), band.high.raise.to_string())
                });
            }
            Condition::Absent { after_ms, .. } => {
                draft.op = "absent".into();
                draft.absent_after = duration_text(*after_ms);
            }
        }
        draft
    }

    /// The rule the form describes.
    ///
    /// # Errors
    /// A field that is not a number or a duration, named.
    pub fn rule(&self) -> Result<Rule, String> {
        let duration = |field: &str, text: &str| {
            parse_duration_ms(text).map_err(|error| format!("{field}: {error}"))
        };
        let optional_duration = |field: &str, text: &str| {
            if text.trim().is_empty() || text.trim() == "0" || text.trim() == "0s" {
                Ok(0)
            } else {
                duration(field, text)
            }
        };
        let number = |field: &str, text: &str| -> Result<Option<f64>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<f64>()
                .map(Some)
                .map_err(|_| format!("{field}: {text:?} is not a number"))
        };
        let line = |field: &str,
                    (raise, clear): &(String, String)|
         -> Result<Option<Line>, String> {
            Ok(number(&format!("{field} level"), raise)?.map(|raise| Line { raise, clear: None }))
                .and_then(|line: Option<Line>| match line {
                    Some(mut line) => {
                        line.clear = number(&format!("{field} clear level"), clear)?;
                        Ok(Some(line))
                    }
                    None => Ok(None),
                })
        };
        let condition = match self.op.as_str() {
            "above" | "below" => {
                let critical = line("critical", &self.critical)?;
                let warning = line("warning", &self.warning)?;
                if self.op == "above" {
                    Condition::Above { critical, warning }
                } else {
                    Condition::Below { critical, warning }
                }
            }
            "outside" => {
                let low = number("lowest normal value", &self.band.0)?
                    .ok_or("give the lowest normal value")?;
                let high = number("highest normal value", &self.band.1)?
                    .ok_or("give the highest normal value")?;
                Condition::Outside {
                    critical: Some(Band {
                        low: Line {
                            raise: low,
                            clear: None,
                        },
                        high: Line {
                            raise: high,
                            clear: None,
                        },
                    }),
                    warning: None,
                }
            }
            _ => Condition::Absent {
                after_ms: duration("no sample for", &self.absent_after)?,
                severity: Severity::Critical,
            },
        };
        let handling = |text: &str| match text {
            "alert" => Handling::Alert,
            "normal" => Handling::Normal,
            _ => Handling::Keep,
        };
        let mut labels = BTreeMap::new();
        for pair in self
            .labels
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("labels: {pair:?} is not name=value"))?;
            labels.insert(name.trim().to_owned(), value.trim().to_owned());
        }
        Ok(Rule {
            id: self.id.clone(),
            name: self.name.trim().to_owned(),
            source: Source::Metric {
                selector: self.selector.trim().to_owned(),
                aggregation: Aggregation::from_name(&self.aggregation).ok_or_else(|| {
                    format!(
                        "aggregation: {:?} is not one livedash knows",
                        self.aggregation
                    )
                })?,
                window_ms: duration("window", &self.window)?,
                group_by: self
                    .group_by
                    .split(',')
                    .map(str::trim)
                    .filter(|label| !label.is_empty())
                    .map(str::to_owned)
                    .collect(),
                measure: if self.change {
                    Measure::Change
                } else {
                    Measure::Value
                },
            },
            condition,
            pending_ms: optional_duration("pending period", &self.pending)?,
            keep_firing_ms: optional_duration("keep firing for", &self.keep_firing)?,
            no_data: handling(&self.no_data),
            error: handling(&self.error),
            labels,
            summary: self.summary.clone(),
            description: self.description.clone(),
            contact_points: self.contact_points.clone(),
            dashboard: self.dashboard.clone(),
            paused: false,
        })
    }
}
