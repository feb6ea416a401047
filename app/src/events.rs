//! Product analytics as the browser and the server both see it: events and their limits,
//! funnel and experiment definitions, and the reports the analytics widgets show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analytics::{VariantCounts, VariantResult, experiment_results};

/// Longest event name, in bytes.
pub const MAX_EVENT_NAME_LEN: usize = 200;
/// Longest user id, in bytes.
pub const MAX_USER_ID_LEN: usize = 200;
/// Most properties on one event.
pub const MAX_PROPERTIES: usize = 50;
/// Longest property name, in bytes.
pub const MAX_PROPERTY_NAME_LEN: usize = 100;
/// Longest property value, in bytes.
pub const MAX_PROPERTY_VALUE_LEN: usize = 1_000;
/// Most events in one `POST /api/v1/events` batch.
pub const MAX_EVENTS_PER_BATCH: usize = 10_000;
/// The event name of a page view; its `path` property is ranked by default.
pub const PAGE_VIEW: &str = "page_view";
/// The standard error of a Redis HyperLogLog count (16 384 registers): 1.04 / sqrt(16384).
pub const UNIQUE_STANDARD_ERROR: f64 = 0.008_125;

/// One analytics event, validated: who did what, when, with which properties.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Event {
    /// What happened (`page_view`, `signup_completed`).
    pub event: String,
    /// Who did it: an id the sender keeps stable per person (anonymous is fine).
    pub user_id: String,
    /// When, ms since the Unix epoch.
    pub ts: i64,
    /// Flat properties; numbers and booleans arrive as their text.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// Why an event was refused; the message names the field.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum InvalidEvent {
    #[error("\"event\" must be 1 to {MAX_EVENT_NAME_LEN} bytes, got {len}")]
    BadName { len: usize },
    #[error("\"user_id\" must be 1 to {MAX_USER_ID_LEN} bytes, got {len}")]
    BadUserId { len: usize },
    #[error("\"properties\" may hold at most {MAX_PROPERTIES} entries, got {count}")]
    TooManyProperties { count: usize },
    #[error("property name {name:?} must be 1 to {MAX_PROPERTY_NAME_LEN} bytes")]
    BadPropertyName { name: String },
    #[error("property {name:?} must be at most {MAX_PROPERTY_VALUE_LEN} bytes, got {len}")]
    PropertyTooLong { name: String, len: usize },
    #[error("property {name:?} must be a string, number or boolean, not {found}")]
    PropertyNotScalar { name: String, found: &'static str },
    #[error("\"ts\" {ts} is {problem}")]
    BadTimestamp { ts: i64, problem: &'static str },
}

impl Event {
    /// Checks the limits and the timestamp against `now_ms` (the same bounds as samples).
    ///
    /// # Errors
    /// The first rule the event breaks.
    pub fn validate(&self, now_ms: i64) -> Result<(), InvalidEvent> {
        if self.event.is_empty() || self.event.len() > MAX_EVENT_NAME_LEN {
            return Err(InvalidEvent::BadName {
                len: self.event.len(),
            });
        }
        if self.user_id.is_empty() || self.user_id.len() > MAX_USER_ID_LEN {
            return Err(InvalidEvent::BadUserId {
                len: self.user_id.len(),
            });
        }
        if self.properties.len() > MAX_PROPERTIES {
            return Err(InvalidEvent::TooManyProperties {
                count: self.properties.len(),
            });
        }
        for (name, value) in &self.properties {
            if name.is_empty() || name.len() > MAX_PROPERTY_NAME_LEN {
                return Err(InvalidEvent::BadPropertyName { name: name.clone() });
            }
            if value.len() > MAX_PROPERTY_VALUE_LEN {
                return Err(InvalidEvent::PropertyTooLong {
                    name: name.clone(),
                    len: value.len(),
                });
            }
        }
        if self.ts < crate::model::MIN_TIMESTAMP_MS {
            return Err(InvalidEvent::BadTimestamp {
                ts: self.ts,
                problem: "before 2000-01-01",
            });
        }
        if self.ts > now_ms.saturating_add(crate::model::MAX_FUTURE_SKEW_MS) {
            return Err(InvalidEvent::BadTimestamp {
                ts: self.ts,
                problem: "too far in the future",
            });
        }
        Ok(())
    }
}

/// One step of a funnel: an event, optionally only with one property value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FunnelStep {
    pub event: String,
    /// `(property, value)` the event must carry to count.
    #[serde(default)]
    pub filter: Option<(String, String)>,
}

impl FunnelStep {
    /// Whether `event` completes this step.
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        event.event == self.event
            && self.filter.as_ref().is_none_or(|(property, value)| {
                event.properties.get(property).is_some_and(|v| v == value)
            })
    }
}

/// Fewest steps of a funnel.
pub const MIN_FUNNEL_STEPS: usize = 2;
/// Most steps of a funnel.
pub const MAX_FUNNEL_STEPS: usize = 10;
/// Longest conversion window: the raw event log keeps no more, so a backfill could not honour it.
pub const MAX_FUNNEL_WINDOW_MS: i64 = 30 * 86_400_000;

/// A funnel: ordered steps a user must complete within a window that starts at the first step.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Funnel {
    /// Given by the server.
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub steps: Vec<FunnelStep>,
    /// Conversion window, ms.
    pub window_ms: i64,
    /// When it was made; it counts events from then on.
    #[serde(default)]
    pub created_ms: i64,
    /// When asked to backfill: the oldest event the raw log still held, which it counted from.
    #[serde(default)]
    pub counts_from_ms: Option<i64>,
}

impl Funnel {
    /// Checks the step count, the steps' names and the window.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        check_name(&self.name)?;
        if !(MIN_FUNNEL_STEPS..=MAX_FUNNEL_STEPS).contains(&self.steps.len()) {
            return Err(format!(
                "a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, got {}",
                self.steps.len()
            ));
        }
        for (index, step) in self.steps.iter().enumerate() {
            if step.event.is_empty() || step.event.len() > MAX_EVENT_NAME_LEN {
                return Err(format!(
                    "step {}: the event name is empty or too long",
                    index + 1
                ));
            }
            if let Some((property, _)) = &step.filter
                && property.is_empty()
            {
                return Err(format!("step {}: the filter names no property", index + 1));
            }
        }
        if !(1_000..=MAX_FUNNEL_WINDOW_MS).contains(&self.window_ms) {
            return Err("the conversion window must be between 1 second and 30 days".into());
        }
        Ok(())
    }

    /// The indices of the steps `event` completes.
    #[must_use]
    pub fn steps_matched(&self, event: &Event) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&index| self.steps[index].matches(event))
            .collect()
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().count() > crate::dashboard::MAX_TITLE_CHARS {
        return Err(format!(
            "the name must be 1 to {} characters",
            crate::dashboard::MAX_TITLE_CHARS
        ));
    }
    Ok(())
}

/// A funnel's numbers, live.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FunnelReport {
    pub funnel: Funnel,
    /// Users who reached each step (in order), so `users[0]` started the funnel.
    pub users: Vec<u64>,
    /// Median ms from the step before to each step (`None` for the first step or without data).
    pub median_ms: Vec<Option<f64>>,
}

impl FunnelReport {
    /// Conversion from the step before (the first step is 100 % by definition).
    #[must_use]
    pub fn step_conversion(&self, step: usize) -> Option<f64> {
        if step == 0 {
            return (self.users.first().copied().unwrap_or(0) > 0).then_some(1.0);
        }
        let before = *self.users.get(step - 1)?;
        (before > 0).then(|| self.users[step] as f64 / before as f64)
    }

    /// Conversion from the first step.
    #[must_use]
    pub fn overall_conversion(&self, step: usize) -> Option<f64> {
        let first = *self.users.first()?;
        (first > 0).then(|| *self.users.get(step).unwrap_or(&0) as f64 / first as f64)
    }
}

/// One arm of an experiment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    /// Relative share of users (the first variant is the control).
    pub weight: u32,
}

/// Most variants of an experiment.
pub const MAX_VARIANTS: usize = 10;

/// An A/B test: users are assigned to variants by weight, exposed, and convert on a goal event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Chosen by the user (it appears in the assignment URL and the hash): letters, digits,
    /// `-` and `_`.
    pub id: String,
    pub name: String,
    /// The control first.
    pub variants: Vec<Variant>,
    /// The event that counts as a conversion (once per exposed user).
    pub goal_event: String,
    #[serde(default)]
    pub created_ms: i64,
}

/// Longest experiment id, in bytes.
pub const MAX_EXPERIMENT_ID_LEN: usize = 64;

impl Experiment {
    /// Checks the id, the variants and the goal.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        check_id(&self.id)?;
        check_name(&self.name)?;
        if !(2..=MAX_VARIANTS).contains(&self.variants.len()) {
            return Err(format!(
                "an experiment has 2 to {MAX_VARIANTS} variants, got {}",
                self.variants.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for variant in &self.variants {
            if variant.name.trim().is_empty() || variant.name.len() > MAX_EVENT_NAME_LEN {
                return Err("every variant needs a name of at most 200 bytes".into());
            }
            if !seen.insert(&variant.name) {
                return Err(format!("variant {:?} is named twice", variant.name));
            }
        }
        if self.variants.iter().all(|variant| variant.weight == 0) {
            return Err("at least one variant needs a weight above 0".into());
        }
        if self.goal_event.is_empty() || self.goal_event.len() > MAX_EVENT_NAME_LEN {
            return Err("the goal event name is empty or too long".into());
        }
        Ok(())
    }

    /// The variant weights, in order.
    #[must_use]
    pub fn weights(&self) -> Vec<u32> {
        self.variants.iter().map(|variant| variant.weight).collect()
    }
}

/// Checks an experiment id: it is part of URLs and of the assignment hash.
///
/// # Errors
/// The id is empty, too long, or has other characters than letters, digits, `-` and `_`.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > MAX_EXPERIMENT_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "the id {id:?} must be 1 to {MAX_EXPERIMENT_ID_LEN} letters, digits, '-' or '_'"
        ));
    }
    Ok(())
}

/// An experiment's results, live.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExperimentReport {
    pub experiment: Experiment,
    /// In variant order; the first is the control. Their always-valid p-values are the
    /// smallest over every look so far, safe to watch live.
    pub rows: Vec<VariantResult>,
}

/// The rows for `counts` (users and conversions per variant, in order), with `running_min` the
/// smallest always-valid p-value seen so far per variant (`None` where there was none), which
/// replaces this look's where it is smaller.
#[must_use]
pub fn experiment_rows(
    experiment: &Experiment,
    counts: &[VariantCounts],
    running_min: &[Option<f64>],
) -> Vec<VariantResult> {
    let named: Vec<(String, VariantCounts)> = experiment
        .variants
        .iter()
        .zip(counts)
        .map(|(variant, counts)| (variant.name.clone(), *counts))
        .collect();
    let mut rows = experiment_results(&named);
    for (row, before) in rows.iter_mut().zip(running_min) {
        row.always_valid_p_value = match (row.always_valid_p_value, *before) {
            (Some(now), Some(before)) => Some(now.min(before)),
            (now, before) => now.or(before),
        };
    }
    rows
}

/// What an analytics widget asks for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AnalyticsQuery {
    /// A funnel's report.
    Funnel { id: String },
    /// An experiment's report.
    Experiment { id: String },
    /// The most frequent values of `property` on `event` over `[from, to)` (`property` empty:
    /// the most frequent event names).
    Top {
        event: String,
        property: String,
        from: i64,
        to: i64,
        limit: u32,
    },
    /// Distinct users over `[from, to)` (of one event, or of every event when empty): the
    /// union of the buckets' HyperLogLogs.
    Uniques { event: String, from: i64, to: i64 },
    /// The newest events (of one name, or all when empty), newest first.
    Latest { event: String, limit: u32 },
    /// How a histogram's observations spread over values, per step of `[from, to)`.
    Heatmap {
        selector: String,
        from: i64,
        to: i64,
        step_ms: i64,
    },
    /// Site `site`'s web analytics over `[from, to)`, of the visits `filters` all admit.
    Web {
        site: String,
        from: i64,
        to: i64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<crate::web::WebFilter>,
    },
}

/// A histogram's observations per step and value row.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub step_ms: i64,
    /// The span shown, `[from, to)`, `from` aligned to the step.
    pub from: i64,
    pub to: i64,
    /// Row boundaries, ascending (one more than rows; log-spaced).
    pub bounds: Vec<f64>,
    /// Step start → observations per row (steps without data are absent).
    pub columns: Vec<(i64, Vec<u64>)>,
}

/// What an analytics widget gets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AnalyticsAnswer {
    Funnel(FunnelReport),
    Experiment(ExperimentReport),
    /// `(value, count)`, largest first; `total` is the count of every value.
    Top {
        entries: Vec<(String, u64)>,
        total: u64,
    },
    /// The estimate; its standard error is [`UNIQUE_STANDARD_ERROR`] relative.
    Uniques {
        users: u64,
    },
    Latest {
        events: Vec<Event>,
    },
    Heatmap(Heatmap),
    Web(crate::web::WebReport),
}

/// The funnels and experiments that exist (for the side panel's pickers and the analytics page).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct AnalyticsDefinitions {
    pub funnels: Vec<Funnel>,
    pub experiments: Vec<Experiment>,
}

/// A change to the definitions, made on the analytics page.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum AnalyticsChange {
    /// Makes a funnel; with `backfill`, it first counts the events the raw log still holds.
    CreateFunnel {
        funnel: Funnel,
        backfill: bool,
    },
    DeleteFunnel {
        id: String,
    },
    CreateExperiment {
        experiment: Experiment,
    },
    DeleteExperiment {
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, properties: &[(&str, &str)]) -> Event {
        Event {
            event: name.into(),
            user_id: "u1".into(),
            ts: 1_763_700_000_000,
            properties: properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Each limit is named when broken.
    #[test]
    fn events_are_checked() {
        let now = 1_763_700_000_000;
        assert_eq!(event("page_view", &[("path", "/")]).validate(now), Ok(()));
        let long = "x".repeat(MAX_PROPERTY_VALUE_LEN + 1);
        for (bad, expected) in [
            (event("", &[]), "\"event\""),
            (
                Event {
                    user_id: String::new(),
                    ..event("a", &[])
                },
                "\"user_id\"",
            ),
            (event("a", &[("path", long.as_str())]), "property \"path\""),
            (event("a", &[("", "x")]), "property name"),
            (
                Event {
                    ts: now + 86_400_000,
                    ..event("a", &[])
                },
                "\"ts\"",
            ),
        ] {
            let error = bad.validate(now).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    /// Steps match by name and, when given, by one property value.
    #[test]
    fn funnel_steps_match() {
        let funnel = Funnel {
            id: String::new(),
            name: "Sign-up".into(),
            steps: vec![
                FunnelStep {
                    event: "page_view".into(),
                    filter: Some(("path".into(), "/pricing".into())),
                },
                FunnelStep {
                    event: "signup".into(),
                    filter: None,
                },
            ],
            window_ms: 3_600_000,
            created_ms: 0,
            counts_from_ms: None,
        };
        assert_eq!(funnel.validate(), Ok(()));
        assert_eq!(
            funnel.steps_matched(&event("page_view", &[("path", "/pricing")])),
            [0]
        );
        assert!(
            funnel
                .steps_matched(&event("page_view", &[("path", "/")]))
                .is_empty()
        );
        assert_eq!(funnel.steps_matched(&event("signup", &[])), [1]);
        let one_step = Funnel {
            steps: funnel.steps[..1].to_vec(),
            ..funnel.clone()
        };
        assert!(one_step.validate().unwrap_err().contains("2 to 10 steps"));
        let report = FunnelReport {
            funnel,
            users: vec![200, 50],
            median_ms: vec![None, Some(1_000.0)],
        };
        assert_eq!(report.step_conversion(1), Some(0.25));
        assert_eq!(report.overall_conversion(1), Some(0.25));
        assert_eq!(report.step_conversion(0), Some(1.0));
    }

    /// Ids are URL-safe; variants need distinct names and some weight.
    #[test]
    fn experiments_are_checked() {
        let experiment = Experiment {
            id: "checkout-button".into(),
            name: "Checkout button".into(),
            variants: vec![
                Variant {
                    name: "control".into(),
                    weight: 50,
                },
                Variant {
                    name: "green".into(),
                    weight: 50,
                },
            ],
            goal_event: "purchase".into(),
            created_ms: 0,
        };
        assert_eq!(experiment.validate(), Ok(()));
        assert!(check_id("a/b").is_err());
        let twice = Experiment {
            variants: vec![experiment.variants[0].clone(); 2],
            ..experiment.clone()
        };
        assert!(twice.validate().unwrap_err().contains("named twice"));
        let rows = experiment_rows(
            &experiment,
            &[VariantCounts::new(1000, 100), VariantCounts::new(1000, 150)],
            &[None, Some(1e-9)],
        );
        assert_eq!(rows[1].always_valid_p_value, Some(1e-9));
        assert!(rows[1].difference.unwrap() > 0.049);
        assert_eq!(rows[0].difference, None);
    }
}
