//! An alert rule: which query it watches, the condition, its timing and what it says, and the
//! validation that names the field at fault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::template;
use crate::query::{Aggregation, MAX_SPAN_MS, Selector};

/// Longest window, pending or keep-firing period a rule may have: 35 days.
pub const MAX_RULE_SPAN_MS: i64 = 35 * 86_400_000;
/// Most labels a rule adds to its alerts.
pub const MAX_RULE_LABELS: usize = 32;
/// Longest template (summary or description), bytes.
pub const MAX_TEMPLATE_BYTES: usize = 4_096;

/// An alert rule. One alert instance per group of the query's result.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Rule {
    /// Assigned when created; ignored in a create request.
    #[serde(default)]
    pub id: String,
    /// What people call it; also the alert's `alertname` label.
    pub name: String,
    /// What it watches.
    pub source: Source,
    /// When an instance is in breach, at which severity.
    pub condition: Condition,
    /// How long the condition must hold before the instance fires ("for"), ms.
    #[serde(default)]
    pub pending_ms: i64,
    /// How long an instance keeps firing after the condition stopped holding, ms.
    #[serde(default)]
    pub keep_firing_ms: i64,
    /// What an empty result means.
    #[serde(default = "Handling::keep")]
    pub no_data: Handling,
    /// What a failed evaluation means.
    #[serde(default = "Handling::keep")]
    pub error: Handling,
    /// Labels added to every alert of the rule (routing, team, …).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// One line, a template over `$labels` and `$value`.
    #[serde(default)]
    pub summary: String,
    /// Longer text, a template like the summary.
    #[serde(default)]
    pub description: String,
    /// Names of the contact points notified.
    #[serde(default)]
    pub contact_points: Vec<String>,
    /// The dashboard the rule was made from, linked from its notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
    /// A paused rule is not evaluated and its instances are cleared.
    #[serde(default)]
    pub paused: bool,
}

/// What a rule watches.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A metrics query: the series of `selector`, combined per group over the last `window_ms`.
    Metric {
        /// A selector, as in queries: `http_latency{route="/api"}`.
        selector: String,
        /// How the window's values are combined.
        aggregation: Aggregation,
        /// The window, ms.
        window_ms: i64,
        /// Labels that make the groups (one alert instance each); empty is one instance.
        #[serde(default)]
        group_by: Vec<String>,
        /// The value itself, or its change against the window before.
        #[serde(default)]
        measure: Measure,
    },
    /// A funnel's conversion over the last `window_ms` (a minute to a day): of the users who
    /// reached its first step in the window, the share that reached its last; with `step`,
    /// of those who reached the step before it, the share that reached `step` (counted when
    /// users reach steps, by minute). One alert instance, labelled `funnel`.
    Funnel {
        /// The funnel's id.
        funnel: String,
        /// A step's index (1 for the second step); the whole funnel when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        window_ms: i64,
        /// The conversion itself, or its change against the same window a week earlier.
        #[serde(default)]
        compare: Compare,
    },
    /// An experiment: each variant's always-valid p-value against the control (one alert
    /// instance per variant, labelled `experiment` and `variant`; safe to watch continuously),
    /// or the p-value of its split of users against its weights (one instance; a small value
    /// is a sample-ratio mismatch).
    Experiment {
        /// The experiment's id.
        experiment: String,
        signal: ExperimentSignal,
    },
}

/// What a funnel rule compares.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The conversion, a share between 0 and 1.
    #[default]
    Value,
    /// The conversion's change against the same window a week earlier, as a share of that
    /// (-0.25: a quarter lower); no data while the week earlier had no entries.
    WeekEarlier,
}

/// What an experiment rule watches.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSignal {
    /// Each variant's always-valid p-value against the control (the smallest over every
    /// look so far).
    Significance,
    /// The p-value of the chi-square test of the users per variant against the weights.
    SampleRatio,
}

/// Longest window of a funnel rule: a day.
pub const MAX_FUNNEL_WINDOW_MS: i64 = 86_400_000;
/// How often an experiment rule is looked at again without new events: a minute.
pub const EXPERIMENT_RECHECK_MS: i64 = 60_000;

/// Whether a rule compares the value or its change.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The window's value.
    #[default]
    Value,
    /// The window's value minus the value of the window before it (a rate of change per
    /// window).
    Change,
}

/// One threshold with its own clearing level (hysteresis).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// The level that raises the alert.
    pub raise: f64,
    /// The level that clears it; the raise level when absent. For "above" it is at or below
    /// `raise`, for "below" at or above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
}

/// A range the value must stay in.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// Breached below `low.raise`, cleared again at `low.clear` and above.
    pub low: Line,
    /// Breached above `high.raise`, cleared again at `high.clear` and below.
    pub high: Line,
}

/// When an instance is in breach.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Condition {
    /// The value is above a line.
    Above {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        critical: Option<Line>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<Line>,
    },
    /// The value is below a line.
    Below {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        critical: Option<Line>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<Line>,
    },
    /// The value is outside a range.
    Outside {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        critical: Option<Band>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<Band>,
    },
    /// No sample for `after_ms` (a value of 0 is a sample).
    Absent {
        after_ms: i64,
        #[serde(default = "Severity::critical")]
        severity: Severity,
    },
}

/// What an empty result (no data) or a failed evaluation (error) means for a rule.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// Instances keep the state they had.
    Keep,
    /// Instances go to the no-data (or error) state, which notifies like a firing alert.
    Alert,
    /// As if the condition did not hold: firing instances resolve.
    Normal,
}

impl Handling {
    #[must_use]
    pub fn keep() -> Self {
        Self::Keep
    }
}

/// How bad a breach is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    /// Its name in labels and payloads.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl Severity {
    #[must_use]
    pub fn critical() -> Self {
        Self::Critical
    }
}

/// A field of a rule that cannot be accepted, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    /// The field, as a path in the rule's JSON (`condition.critical.raise`).
    pub field: String,
    pub reason: String,
}

fn refuse(field: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn check_span(field: &str, ms: i64, zero_allowed: bool) -> Result<(), RuleError> {
    let least = i64::from(!zero_allowed);
    if ms < least || ms > MAX_RULE_SPAN_MS {
        return Err(refuse(
            field,
            format!(
                "{ms} ms must be {} and at most 35 days ({MAX_RULE_SPAN_MS} ms)",
                if zero_allowed {
                    "0 or more"
                } else {
                    "positive"
                }
            ),
        ));
    }
    Ok(())
}

fn check_number(field: &str, value: f64) -> Result<(), RuleError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(refuse(field, "must be a finite number"))
    }
}

impl Line {
    /// The clearing level.
    #[must_use]
    pub fn clear_level(&self) -> f64 {
        self.clear.unwrap_or(self.raise)
    }

    fn check(&self, field: &str, above: bool) -> Result<(), RuleError> {
        check_number(&format!("{field}.raise"), self.raise)?;
        if let Some(clear) = self.clear {
            check_number(&format!("{field}.clear"), clear)?;
            if above && clear > self.raise {
                return Err(refuse(
                    &format!("{field}.clear"),
                    format!(
                        "{clear} is above the raise level {}: an alert on a value above a line \
                         clears at or below it",
                        self.raise
                    ),
                ));
            }
            if !above && clear < self.raise {
                return Err(refuse(
                    &format!("{field}.clear"),
                    format!(
                        "{clear} is below the raise level {}: an alert on a value below a line \
                         clears at or above it",
                        self.raise
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Condition {
    fn check(&self) -> Result<(), RuleError> {
        match self {
            Self::Above { critical, warning } | Self::Below { critical, warning } => {
                let above = matches!(self, Self::Above { .. });
                if critical.is_none() && warning.is_none() {
                    return Err(refuse(
                        "condition",
                        "give a critical or a warning level (or both)",
                    ));
                }
                if let Some(line) = critical {
                    line.check("condition.critical", above)?;
                }
                if let Some(line) = warning {
                    line.check("condition.warning", above)?;
                }
                if let (Some(critical), Some(warning)) = (critical, warning) {
                    let ordered = if above {
                        critical.raise >= warning.raise
                    } else {
                        critical.raise <= warning.raise
                    };
                    if !ordered {
                        return Err(refuse(
                            "condition.warning.raise",
                            format!(
                                "{} is beyond the critical level {}: a warning comes before \
                                 critical",
                                warning.raise, critical.raise
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Self::Outside { critical, warning } => {
                if critical.is_none() && warning.is_none() {
                    return Err(refuse(
                        "condition",
                        "give a critical or a warning range (or both)",
                    ));
                }
                for (name, band) in [("critical", critical), ("warning", warning)] {
                    let Some(band) = band else { continue };
                    let field = format!("condition.{name}");
                    band.low.check(&format!("{field}.low"), false)?;
                    band.high.check(&format!("{field}.high"), true)?;
                    if band.low.raise > band.high.raise {
                        return Err(refuse(
                            &format!("{field}.high.raise"),
                            format!(
                                "{} is below the low level {}: the range is empty",
                                band.high.raise, band.low.raise
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Self::Absent { after_ms, .. } => check_span("condition.after_ms", *after_ms, false),
        }
    }
}

impl Source {
    /// The selector, parsed.
    ///
    /// # Errors
    /// It does not parse.
    pub fn selector(&self) -> Result<Selector, RuleError> {
        let Self::Metric { selector, .. } = self else {
            return Err(refuse(
                "source.kind",
                "a rule over product analytics has no selector",
            ));
        };
        let parsed = Selector::parse(selector)
            .map_err(|error| refuse("source.selector", error.to_string()))?;
        parsed
            .check()
            .map_err(|error| refuse("source.selector", error.to_string()))?;
        Ok(parsed)
    }

    /// The window, ms.
    #[must_use]
    pub fn window_ms(&self) -> i64 {
        match self {
            Self::Metric { window_ms, .. } | Self::Funnel { window_ms, .. } => *window_ms,
            Self::Experiment { .. } => EXPERIMENT_RECHECK_MS,
        }
    }

    /// What dashboards match a rule's alerts by: a metric rule's selector, `funnel:<id>` or
    /// `experiment:<id>` (what the analytics widgets show).
    #[must_use]
    pub fn subject(&self) -> String {
        match self {
            Self::Metric { selector, .. } => selector.clone(),
            Self::Funnel { funnel, .. } => format!("funnel:{funnel}"),
            Self::Experiment { experiment, .. } => format!("experiment:{experiment}"),
        }
    }

    /// Whether it watches product analytics (funnels, experiments) rather than series.
    #[must_use]
    pub fn is_analytics(&self) -> bool {
        !matches!(self, Self::Metric { .. })
    }

    fn check(&self) -> Result<(), RuleError> {
        let (aggregation, window_ms, group_by) = match self {
            Self::Metric {
                aggregation,
                window_ms,
                group_by,
                ..
            } => (aggregation, window_ms, group_by),
            Self::Funnel {
                funnel,
                step,
                window_ms,
                ..
            } => {
                if funnel.trim().is_empty() {
                    return Err(refuse("source.funnel", "name the funnel (its id)"));
                }
                if *step == Some(0) {
                    return Err(refuse(
                        "source.step",
                        "steps count from 1 (the second step): the first has no conversion",
                    ));
                }
                if !(60_000..=MAX_FUNNEL_WINDOW_MS).contains(window_ms) {
                    return Err(refuse(
                        "source.window_ms",
                        format!(
                            "{window_ms} ms must be between a minute (60000) and a day (86400000)"
                        ),
                    ));
                }
                return Ok(());
            }
            Self::Experiment { experiment, .. } => {
                if experiment.trim().is_empty() {
                    return Err(refuse("source.experiment", "name the experiment (its id)"));
                }
                return Ok(());
            }
        };
        self.selector()?;
        check_span("source.window_ms", *window_ms, false)?;
        if let Aggregation::Quantile { q } = aggregation
            && !(0.0..=1.0).contains(q)
        {
            return Err(refuse(
                "source.aggregation.q",
                format!("{q} is not a quantile between 0 and 1"),
            ));
        }
        for (index, label) in group_by.iter().enumerate() {
            if label.is_empty() {
                return Err(refuse(
                    &format!("source.group_by[{index}]"),
                    "a label name cannot be empty",
                ));
            }
        }
        Ok(())
    }
}

/// The labels of an alert's state series that carry its rule's raise levels, by severity.
pub const THRESHOLD_LABELS: [(Severity, &str); 2] = [
    (Severity::Critical, "threshold_critical"),
    (Severity::Warning, "threshold_warning"),
];

impl Rule {
    /// The levels that raise it, per severity, as its alerts' state series carry them for
    /// charts to draw: `("threshold_critical", "90")`, an outside range's
    /// `("threshold_warning", "10,90")`; none for a rule on a value's change (its levels are
    /// not on the chart's scale) or on absence.
    #[must_use]
    pub fn threshold_labels(&self) -> Vec<(&'static str, String)> {
        if let Source::Metric {
            measure: Measure::Change,
            ..
        } = &self.source
        {
            return Vec::new();
        }
        let line = |line: &Option<Line>| line.map(|line| line.raise.to_string());
        let band = |band: &Option<Band>| {
            band.map(|band| format!("{},{}", band.low.raise, band.high.raise))
        };
        let (critical, warning) = match &self.condition {
            Condition::Above { critical, warning } | Condition::Below { critical, warning } => {
                (line(critical), line(warning))
            }
            Condition::Outside { critical, warning } => (band(critical), band(warning)),
            Condition::Absent { .. } => (None, None),
        };
        THRESHOLD_LABELS
            .into_iter()
            .zip([critical, warning])
            .filter_map(|((_, label), levels)| Some((label, levels?)))
            .collect()
    }

    /// Checks every field, naming the first one at fault.
    ///
    /// # Errors
    /// An empty name, a selector that does not parse, a threshold that is not a finite
    /// number or clears on the wrong side, a window or period out of bounds, a template that
    /// does not render, an empty contact point name.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.name.trim().is_empty() {
            return Err(refuse("name", "give the rule a name"));
        }
        if self.name.len() > 200 {
            return Err(refuse("name", "at most 200 bytes"));
        }
        self.source.check()?;
        self.condition.check()?;
        if self.source.is_analytics() && matches!(self.condition, Condition::Absent { .. }) {
            return Err(refuse(
                "condition.op",
                "absence is for series; a funnel or experiment rule compares a value",
            ));
        }
        check_span("pending_ms", self.pending_ms, true)?;
        check_span("keep_firing_ms", self.keep_firing_ms, true)?;
        if self.labels.len() > MAX_RULE_LABELS {
            return Err(refuse(
                "labels",
                format!("at most {MAX_RULE_LABELS} labels"),
            ));
        }
        for name in self.labels.keys() {
            crate::model::validate_label_name(name)
                .map_err(|error| refuse(&format!("labels.{name}"), error.to_string()))?;
        }
        for (field, text) in [
            ("summary", &self.summary),
            ("description", &self.description),
        ] {
            if text.len() > MAX_TEMPLATE_BYTES {
                return Err(refuse(field, format!("at most {MAX_TEMPLATE_BYTES} bytes")));
            }
            template::check(text).map_err(|reason| refuse(field, reason))?;
        }
        for (index, name) in self.contact_points.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(refuse(
                    &format!("contact_points[{index}]"),
                    "a contact point name cannot be empty",
                ));
            }
        }
        Ok(())
    }

    /// The window, or the absence period, the rule reads, ms (bounded by [`MAX_SPAN_MS`]).
    #[must_use]
    pub fn read_span_ms(&self) -> i64 {
        let window = match &self.condition {
            Condition::Absent { after_ms, .. } => *after_ms,
            _ => self.source.window_ms(),
        };
        window.min(MAX_SPAN_MS)
    }
}

/// A rule for tests: `avg(x[1m])` by host, critical above 90 (no clear level), the given
/// pending and keep-firing periods, no contact points.
#[cfg(test)]
#[must_use]
pub fn test_rule(condition: Condition, pending_ms: i64, keep_firing_ms: i64) -> Rule {
    Rule {
        id: "r".into(),
        name: "cpu high".into(),
        source: Source::Metric {
            selector: "cpu".into(),
            aggregation: crate::query::Aggregation::Avg,
            window_ms: 60_000,
            group_by: vec!["host".into()],
            measure: Measure::Value,
        },
        condition,
        pending_ms,
        keep_firing_ms,
        no_data: Handling::Keep,
        error: Handling::Keep,
        labels: BTreeMap::new(),
        summary: String::new(),
        description: String::new(),
        contact_points: vec![],
        dashboard: None,
        paused: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_series_carry_the_raise_levels_charts_draw() {
        let line = |raise: f64| Some(Line { raise, clear: None });
        let above = test_rule(
            Condition::Above {
                critical: line(90.0),
                warning: line(80.5),
            },
            0,
            0,
        );
        assert_eq!(
            above.threshold_labels(),
            vec![
                ("threshold_critical", "90".to_owned()),
                ("threshold_warning", "80.5".to_owned())
            ]
        );
        let band = Band {
            low: Line {
                raise: -5.0,
                clear: None,
            },
            high: Line {
                raise: 40.0,
                clear: None,
            },
        };
        let outside = test_rule(
            Condition::Outside {
                critical: None,
                warning: Some(band),
            },
            0,
            0,
        );
        assert_eq!(
            outside.threshold_labels(),
            vec![("threshold_warning", "-5,40".to_owned())]
        );
        let mut change = above.clone();
        if let Source::Metric { measure, .. } = &mut change.source {
            *measure = Measure::Change;
        }
        assert!(change.threshold_labels().is_empty());
        let absent = test_rule(
            Condition::Absent {
                after_ms: 60_000,
                severity: Severity::Critical,
            },
            0,
            0,
        );
        assert!(absent.threshold_labels().is_empty());
    }

    #[test]
    fn analytics_rules_name_their_funnel_or_experiment_and_compare_a_value() {
        let line = Some(Line {
            raise: 0.2,
            clear: None,
        });
        let mut funnel: Rule = serde_json::from_value(serde_json::json!({
            "name": "checkout conversion",
            "source": {"kind": "funnel", "funnel": "f1", "window_ms": 3_600_000, "compare": "week_earlier"},
            "condition": {"op": "below", "critical": {"raise": -0.25}},
        }))
        .unwrap();
        assert!(funnel.validate().is_ok());
        assert_eq!(funnel.source.subject(), "funnel:f1");
        assert!(funnel.source.is_analytics());
        assert!(funnel.source.selector().is_err());
        funnel.source = Source::Funnel {
            funnel: "f1".into(),
            step: Some(0),
            window_ms: 3_600_000,
            compare: Compare::Value,
        };
        assert_eq!(funnel.validate().unwrap_err().field, "source.step");
        funnel.source = Source::Funnel {
            funnel: "f1".into(),
            step: None,
            window_ms: 2 * MAX_FUNNEL_WINDOW_MS,
            compare: Compare::Value,
        };
        assert_eq!(funnel.validate().unwrap_err().field, "source.window_ms");
        let mut experiment = test_rule(
            Condition::Below {
                critical: line,
                warning: None,
            },
            0,
            0,
        );
        experiment.source = Source::Experiment {
            experiment: String::new(),
            signal: ExperimentSignal::SampleRatio,
        };
        assert_eq!(
            experiment.validate().unwrap_err().field,
            "source.experiment"
        );
        experiment.source = Source::Experiment {
            experiment: "new-checkout".into(),
            signal: ExperimentSignal::SampleRatio,
        };
        assert!(experiment.validate().is_ok());
        assert_eq!(experiment.source.window_ms(), EXPERIMENT_RECHECK_MS);
        experiment.condition = Condition::Absent {
            after_ms: 60_000,
            severity: Severity::Critical,
        };
        assert_eq!(experiment.validate().unwrap_err().field, "condition.op");
    }
}
