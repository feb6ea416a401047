//! A rule as the editor's form holds it (text, as typed), made from a stored rule or a chart's
//! query, and turned into a rule with the field at fault named.

use std::collections::BTreeMap;

use crate::alerts::{
    Band, Compare, Condition, ExperimentSignal, Handling, Line, Measure, Rule, Severity, Source,
};
use crate::model::EVENT_USERS_METRIC;
use crate::query::{Aggregation, parse_duration_ms};
use crate::ui::dashboard::range::duration_text;

/// A rule as the form holds it: text, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub id: String,
    pub name: String,
    /// What it watches: `metric`, `uniques` (unique users of an event, a metric rule on
    /// their set series), `funnel` or `experiment`.
    pub kind: String,
    /// Unique users: the event (any when empty).
    pub event: String,
    /// A funnel: its id, the step (empty: the whole funnel) and what is compared.
    pub funnel: String,
    pub step: String,
    pub compare: String,
    /// An experiment: its id and what is watched.
    pub experiment: String,
    pub signal: String,
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
            kind: "metric".into(),
            event: String::new(),
            funnel: String::new(),
            step: String::new(),
            compare: "value".into(),
            experiment: String::new(),
            signal: "significance".into(),
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
        let mut draft = Self {
            id: rule.id.clone(),
            name: rule.name.clone(),
            window: duration_text(rule.source.window_ms()),
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
        draft.source_of(&rule.source);
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

    /// The form's fields for what `source` watches.
    fn source_of(&mut self, source: &Source) {
        match source {
            Source::Metric {
                selector,
                aggregation,
                group_by,
                measure,
                ..
            } => {
                self.selector.clone_from(selector);
                self.aggregation = Aggregation::NAMES
                    .iter()
                    .find(|(_, a)| a == aggregation)
                    .map_or("avg", |(name, _)| *name)
                    .into();
                self.group_by = group_by.join(", ");
                self.change = *measure == Measure::Change;
                if let Some(event) = uniques_event(selector, *aggregation, group_by, *measure) {
                    self.kind = "uniques".into();
                    self.event = event;
                }
            }
            Source::Funnel {
                funnel,
                step,
                compare,
                ..
            } => {
                self.kind = "funnel".into();
                self.funnel.clone_from(funnel);
                self.step = step.map(|s| s.to_string()).unwrap_or_default();
                self.compare = match compare {
                    Compare::Value => "value",
                    Compare::WeekEarlier => "week_earlier",
                }
                .into();
            }
            Source::Experiment { experiment, signal } => {
                self.kind = "experiment".into();
                self.experiment.clone_from(experiment);
                self.signal = match signal {
                    ExperimentSignal::Significance => "significance",
                    ExperimentSignal::SampleRatio => "sample_ratio",
                }
                .into();
            }
        }
    }

    /// What the form says the rule watches.
    fn source(&self) -> Result<Source, String> {
        let window = || parse_duration_ms(&self.window).map_err(|error| format!("window: {error}"));
        match self.kind.as_str() {
            "uniques" => {
                let event = self.event.trim();
                let selector = if event.is_empty() {
                    EVENT_USERS_METRIC.to_owned()
                } else {
                    format!("{EVENT_USERS_METRIC}{{event={event:?}}}")
                };
                Ok(Source::Metric {
                    selector,
                    aggregation: Aggregation::Unique,
                    window_ms: window()?,
                    group_by: Vec::new(),
                    measure: Measure::Value,
                })
            }
            "funnel" => Ok(Source::Funnel {
                funnel: self.funnel.clone(),
                step: match self.step.trim() {
                    "" => None,
                    step => Some(
                        step.parse()
                            .map_err(|_| format!("step: {step:?} is not a step's number"))?,
                    ),
                },
                window_ms: window()?,
                compare: if self.compare == "week_earlier" {
                    Compare::WeekEarlier
                } else {
                    Compare::Value
                },
            }),
            "experiment" => Ok(Source::Experiment {
                experiment: self.experiment.clone(),
                signal: if self.signal == "sample_ratio" {
                    ExperimentSignal::SampleRatio
                } else {
                    ExperimentSignal::Significance
                },
            }),
            _ => Ok(Source::Metric {
                selector: self.selector.trim().to_owned(),
                aggregation: Aggregation::from_name(&self.aggregation).ok_or_else(|| {
                    format!(
                        "aggregation: {:?} is not one livedash knows",
                        self.aggregation
                    )
                })?,
                window_ms: window()?,
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
            }),
        }
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
            source: self.source()?,
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

/// The event whose unique users a metric rule counts, when it is such a rule: `unique` over
/// the users' set series of one event (or of all), one instance, the value itself.
fn uniques_event(
    selector: &str,
    aggregation: Aggregation,
    group_by: &[String],
    measure: Measure,
) -> Option<String> {
    if aggregation != Aggregation::Unique || !group_by.is_empty() || measure != Measure::Value {
        return None;
    }
    let parsed = crate::query::Selector::parse(selector).ok()?;
    if parsed.name != EVENT_USERS_METRIC {
        return None;
    }
    match parsed.matchers.as_slice() {
        [] => Some(String::new()),
        [matcher] if matcher.label == "event" && matcher.op == crate::query::MatchOp::Equal => {
            Some(matcher.value.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_source_goes_through_the_form_and_back() {
        let mut draft = Draft {
            name: "signups".into(),
            kind: "uniques".into(),
            event: "signup".into(),
            window: "1h".into(),
            op: "below".into(),
            critical: ("50".into(), String::new()),
            ..Draft::default()
        };
        let rule = draft.rule().unwrap();
        assert_eq!(
            rule.source,
            Source::Metric {
                selector: "event_users{event=\"signup\"}".into(),
                aggregation: Aggregation::Unique,
                window_ms: 3_600_000,
                group_by: Vec::new(),
                measure: Measure::Value,
            }
        );
        assert_eq!(Draft::of(&rule).kind, "uniques");
        assert_eq!(Draft::of(&rule).event, "signup");
        draft.kind = "funnel".into();
        draft.funnel = "f1".into();
        draft.step = "2".into();
        draft.compare = "week_earlier".into();
        let rule = draft.rule().unwrap();
        assert_eq!(
            rule.source,
            Source::Funnel {
                funnel: "f1".into(),
                step: Some(2),
                window_ms: 3_600_000,
                compare: Compare::WeekEarlier,
            }
        );
        let back = Draft::of(&rule);
        assert_eq!((back.kind.as_str(), back.step.as_str()), ("funnel", "2"));
        draft.step = "two".into();
        assert!(draft.rule().unwrap_err().starts_with("step: "));
        draft.kind = "experiment".into();
        draft.experiment = "new-checkout".into();
        draft.signal = "sample_ratio".into();
        let rule = draft.rule().unwrap();
        assert_eq!(
            rule.source,
            Source::Experiment {
                experiment: "new-checkout".into(),
                signal: ExperimentSignal::SampleRatio,
            }
        );
        assert_eq!(Draft::of(&rule).signal, "sample_ratio");
    }
}
