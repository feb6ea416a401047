//! The state machine of one alert instance: from its state and a new observation (a value, no
//! data, or a failed evaluation) at a time, its next state, the transition if any, whether
//! receivers are told, and when it must be looked at again without new data.
//!
//! Pure and deterministic: live evaluation, deadlines and the editor's preview (a replay over
//! past rollups) all step through [`step`].

use serde::{Deserialize, Serialize};

pub use super::rule::Severity;
use super::rule::{Condition, Handling, Line, Rule};

/// The state of one alert instance.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The condition does not hold.
    #[default]
    Normal,
    /// The condition holds, for less than the pending period so far.
    Pending,
    /// The condition held for the pending period: receivers were told.
    Firing,
    /// The condition stopped holding, for less than the keep-firing period so far: still
    /// firing for receivers.
    Recovering,
    /// The query returned nothing, and the rule says that alerts.
    NoData,
    /// The evaluation failed, and the rule says that alerts.
    Error,
}

impl State {
    /// Its name in the API and the UI.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Recovering => "recovering",
            Self::NoData => "no_data",
            Self::Error => "error",
        }
    }

    /// The value of the state in the `livedash_alert_state` series.
    #[must_use]
    pub fn code(self) -> f64 {
        match self {
            Self::Normal => 0.0,
            Self::Pending => 1.0,
            Self::Firing => 2.0,
            Self::Recovering => 3.0,
            Self::NoData => 4.0,
            Self::Error => 5.0,
        }
    }

    /// The state a `livedash_alert_state` value stands for.
    #[must_use]
    pub fn from_code(code: f64) -> Option<Self> {
        [
            Self::Normal,
            Self::Pending,
            Self::Firing,
            Self::Recovering,
            Self::NoData,
            Self::Error,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }

    /// Whether receivers see the alert as firing in this state.
    #[must_use]
    pub fn is_firing(self) -> bool {
        matches!(
            self,
            Self::Firing | Self::Recovering | Self::NoData | Self::Error
        )
    }

    /// Whether the condition was holding (so its severity's clear level applies).
    fn holds(self) -> bool {
        matches!(self, Self::Pending | Self::Firing | Self::Recovering)
    }
}

/// What an instance is: kept in Redis between evaluations.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Instance {
    pub state: State,
    /// The severity of the breach (pending, firing, recovering, and no data or error alerts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// When the current state began, ms.
    pub since_ms: i64,
    /// When receivers were first told it fires (the alert's `startsAt`), while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_since_ms: Option<i64>,
    /// The last value observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// What an evaluation saw for one instance.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// The query's value (for absence rules: seconds since the last sample).
    Value(f64),
    /// The query returned nothing for it.
    NoData,
    /// The evaluation failed.
    Error(String),
}

/// What receivers are told about a transition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    Firing,
    Resolved,
}

/// A change of state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    /// When it happened, ms: the end of a pending or keep-firing period exactly, not when it was
    /// noticed.
    pub at_ms: i64,
    pub from: State,
    pub to: State,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub next: Instance,
    /// The state change, if the state (or a firing alert's severity) changed.
    pub transition: Option<Transition>,
    /// What receivers are told, if anything.
    pub notice: Option<Notice>,
    /// When to step again without new data (a pending or keep-firing period ending).
    pub deadline_ms: Option<i64>,
}

/// What a breach, or its absence, amounts to.
enum Target {
    Breach(Severity),
    Clear,
    Special(State),
}

/// Whether `value` is beyond `line` (above or below it), given whether the line was already
/// breached: then it must come back past the clear level.
fn beyond(line: &Line, value: f64, above: bool, held: bool) -> bool {
    let level = if held { line.clear_level() } else { line.raise };
    if above { value > level } else { value < level }
}

/// The severity `value` breaches under `condition`, with hysteresis: a severity already held
/// stays until the value comes back past its clear level.
#[must_use]
pub fn breach(condition: &Condition, value: f64, held: Option<Severity>) -> Option<Severity> {
    let holds = |severity: Severity| held.is_some_and(|held| held >= severity);
    let levels = [Severity::Critical, Severity::Warning];
    match condition {
        Condition::Above { critical, warning } | Condition::Below { critical, warning } => {
            let above = matches!(condition, Condition::Above { .. });
            levels.into_iter().find(|severity| {
                let line = if *severity == Severity::Critical {
                    critical
                } else {
                    warning
                };
                line.is_some_and(|line| beyond(&line, value, above, holds(*severity)))
            })
        }
        Condition::Outside { critical, warning } => levels.into_iter().find(|severity| {
            let band = if *severity == Severity::Critical {
                critical
            } else {
                warning
            };
            band.is_some_and(|band| {
                beyond(&band.low, value, false, holds(*severity))
                    || beyond(&band.high, value, true, holds(*severity))
            })
        }),
        Condition::Absent { after_ms, severity } => {
            (value * 1000.0 >= *after_ms as f64).then_some(*severity)
        }
    }
}

/// The most severe level a rule can raise (what its no-data and error alerts carry).
#[must_use]
pub fn top_severity(condition: &Condition) -> Severity {
    match condition {
        Condition::Above { critical, .. } | Condition::Below { critical, .. } => {
            if critical.is_some() {
                Severity::Critical
            } else {
                Severity::Warning
            }
        }
        Condition::Outside { critical, .. } => {
            if critical.is_some() {
                Severity::Critical
            } else {
                Severity::Warning
            }
        }
        Condition::Absent { severity, .. } => *severity,
    }
}

/// What receivers see of an instance: firing (with severity and state) or not.
fn seen(instance: &Instance) -> Option<(Option<Severity>, bool)> {
    instance.state.is_firing().then_some((
        instance.severity,
        matches!(instance.state, State::NoData | State::Error),
    ))
}

/// One step of `previous` under `rule`, given `observation` at `now_ms`.
#[must_use]
pub fn step(rule: &Rule, previous: &Instance, observation: &Observation, now_ms: i64) -> Decision {
    let held = previous
        .state
        .holds()
        .then_some(previous.severity)
        .flatten();
    let value = match observation {
        Observation::Value(value) => Some(*value),
        _ => previous.value,
    };
    let handled = |handling: Handling, special: State| match handling {
        Handling::Keep => None,
        Handling::Alert => Some(Target::Special(special)),
        Handling::Normal => Some(Target::Clear),
    };
    let target = match observation {
        Observation::Value(value) => Some(match breach(&rule.condition, *value, held) {
            Some(severity) => Target::Breach(severity),
            None => Target::Clear,
        }),
        Observation::NoData => handled(rule.no_data, State::NoData),
        Observation::Error(_) => handled(rule.error, State::Error),
    };
    let unchanged = |deadline_ms| Decision {
        next: Instance { value, ..*previous },
        transition: None,
        notice: None,
        deadline_ms,
    };
    let Some(target) = target else {
        return unchanged(pending_deadline(rule, previous));
    };
    let pending_end = previous.since_ms.saturating_add(rule.pending_ms);
    let keep_end = previous.since_ms.saturating_add(rule.keep_firing_ms);
    // The next state, when it began, and its severity.
    let (state, since, severity) = match (previous.state, target) {
        (State::Normal, Target::Breach(severity)) if rule.pending_ms == 0 => {
            (State::Firing, now_ms, Some(severity))
        }
        (State::Normal, Target::Breach(severity)) => (State::Pending, now_ms, Some(severity)),
        (State::Pending, Target::Breach(severity)) if now_ms >= pending_end => {
            (State::Firing, pending_end, Some(severity))
        }
        (State::Pending, Target::Breach(severity)) => {
            (State::Pending, previous.since_ms, Some(severity))
        }
        // A change of severity is a transition of its own, at the time it is seen.
        (State::Firing, Target::Breach(severity)) if previous.severity != Some(severity) => {
            (State::Firing, now_ms, Some(severity))
        }
        (State::Firing, Target::Breach(severity)) => {
            (State::Firing, previous.since_ms, Some(severity))
        }
        (State::Recovering | State::NoData | State::Error, Target::Breach(severity)) => {
            (State::Firing, now_ms, Some(severity))
        }
        (State::Normal, Target::Clear) => (State::Normal, previous.since_ms, None),
        (State::Pending, Target::Clear) => (State::Normal, now_ms, None),
        (State::Firing, Target::Clear) if rule.keep_firing_ms == 0 => (State::Normal, now_ms, None),
        (State::Firing, Target::Clear) => (State::Recovering, now_ms, previous.severity),
        (State::Recovering, Target::Clear) if now_ms >= keep_end => (State::Normal, keep_end, None),
        (State::Recovering, Target::Clear) => {
            (State::Recovering, previous.since_ms, previous.severity)
        }
        (State::NoData | State::Error, Target::Clear) => (State::Normal, now_ms, None),
        (from, Target::Special(special)) if from == special => {
            (special, previous.since_ms, previous.severity)
        }
        (_, Target::Special(special)) => (special, now_ms, Some(top_severity(&rule.condition))),
    };
    let next = Instance {
        state,
        severity,
        since_ms: since,
        active_since_ms: if state.is_firing() {
            previous
                .active_since_ms
                .filter(|_| previous.state.is_firing())
                .or(Some(since))
        } else {
            None
        },
        value,
    };
    let severity_changed =
        state == State::Firing && previous.state == State::Firing && previous.severity != severity;
    let transition = (state != previous.state || severity_changed).then_some(Transition {
        at_ms: since,
        from: previous.state,
        to: state,
    });
    let before = seen(previous);
    let after = seen(&next);
    // A recovering alert that breaches again at its severity is the same alert to receivers.
    let notice = match (before, after) {
        (None, Some(_)) => Some(Notice::Firing),
        (Some(_), None) => Some(Notice::Resolved),
        (Some(before), Some(after)) if before != after => Some(Notice::Firing),
        _ => None,
    };
    Decision {
        deadline_ms: pending_deadline(rule, &next),
        next,
        transition,
        notice,
    }
}

/// When a pending or recovering instance's period ends.
fn pending_deadline(rule: &Rule, instance: &Instance) -> Option<i64> {
    match instance.state {
        State::Pending => Some(instance.since_ms.saturating_add(rule.pending_ms)),
        State::Recovering => Some(instance.since_ms.saturating_add(rule.keep_firing_ms)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::Band;

    fn rule(condition: Condition, pending_ms: i64, keep_firing_ms: i64) -> Rule {
        crate::alerts::rule::test_rule(condition, pending_ms, keep_firing_ms)
    }

    fn above(raise: f64, clear: Option<f64>) -> Condition {
        Condition::Above {
            critical: Some(Line { raise, clear }),
            warning: None,
        }
    }

    /// Steps through `(time, observation)` from normal; returns every decision.
    fn run(rule: &Rule, inputs: &[(i64, Observation)]) -> Vec<Decision> {
        let mut instance = Instance::default();
        inputs
            .iter()
            .map(|(now, observation)| {
                let decision = step(rule, &instance, observation, *now);
                instance = decision.next;
                decision
            })
            .collect()
    }

    fn notices(decisions: &[Decision]) -> Vec<Notice> {
        decisions.iter().filter_map(|d| d.notice).collect()
    }

    #[test]
    fn fires_at_once_without_a_pending_period_and_resolves() {
        let rule = rule(above(90.0, None), 0, 0);
        let decisions = run(
            &rule,
            &[
                (1_000, Observation::Value(50.0)),
                (2_000, Observation::Value(95.0)),
                (3_000, Observation::Value(97.0)),
                (4_000, Observation::Value(90.0)),
            ],
        );
        assert_eq!(decisions[0].transition, None);
        assert_eq!(
            decisions[1].transition,
            Some(Transition {
                at_ms: 2_000,
                from: State::Normal,
                to: State::Firing
            })
        );
        assert_eq!(decisions[1].next.active_since_ms, Some(2_000));
        assert_eq!(decisions[2].transition, None);
        assert_eq!(decisions[3].next.state, State::Normal);
        assert_eq!(notices(&decisions), [Notice::Firing, Notice::Resolved]);
    }

    /// Pending, then firing exactly at the period's end, however late the deadline is seen.
    #[test]
    fn pending_then_firing_exactly_at_the_end_of_the_period() {
        let rule = rule(above(90.0, None), 60_000, 0);
        let mut instance = Instance::default();
        let d = step(&rule, &instance, &Observation::Value(95.0), 10_000);
        assert_eq!(d.next.state, State::Pending);
        assert_eq!(d.notice, None);
        assert_eq!(d.deadline_ms, Some(70_000));
        instance = d.next;
        let d = step(&rule, &instance, &Observation::Value(96.0), 69_999);
        assert_eq!(d.next.state, State::Pending);
        assert_eq!(d.transition, None);
        assert_eq!(d.deadline_ms, Some(70_000));
        instance = d.next;
        for seen_at in [70_000, 70_045] {
            let d = step(&rule, &instance, &Observation::Value(96.0), seen_at);
            assert_eq!(d.next.state, State::Firing);
            assert_eq!(
                d.transition,
                Some(Transition {
                    at_ms: 70_000,
                    from: State::Pending,
                    to: State::Firing
                })
            );
            assert_eq!(d.next.active_since_ms, Some(70_000));
            assert_eq!(d.notice, Some(Notice::Firing));
        }
        // Cleared during the pending period: back to normal, nobody told.
        let d = step(&rule, &instance, &Observation::Value(80.0), 50_000);
        assert_eq!(d.next.state, State::Normal);
        assert_eq!(d.notice, None);
        assert_eq!(
            d.transition.map(|t| (t.from, t.to)),
            Some((State::Pending, State::Normal))
        );
    }

    #[test]
    fn keeps_firing_for_the_keep_firing_period() {
        let rule = rule(above(90.0, None), 0, 30_000);
        let decisions = run(
            &rule,
            &[
                (0, Observation::Value(95.0)),
                (10_000, Observation::Value(50.0)),
                // Breaches again while recovering: still the same firing alert.
                (20_000, Observation::Value(95.0)),
                (25_000, Observation::Value(40.0)),
                (54_999, Observation::Value(40.0)),
                (70_000, Observation::Value(40.0)),
            ],
        );
        let states: Vec<State> = decisions.iter().map(|d| d.next.state).collect();
        assert_eq!(
            states,
            [
                State::Firing,
                State::Recovering,
                State::Firing,
                State::Recovering,
                State::Recovering,
                State::Normal
            ]
        );
        assert_eq!(decisions[1].deadline_ms, Some(40_000));
        assert_eq!(decisions[3].deadline_ms, Some(55_000));
        // Resolved at the end of the keep-firing period, not when noticed.
        assert_eq!(decisions[5].transition.unwrap().at_ms, 55_000);
        assert_eq!(notices(&decisions), [Notice::Firing, Notice::Resolved]);
        // Receivers saw one alert from start to end.
        assert_eq!(decisions[4].next.active_since_ms, Some(0));
    }

    /// A value oscillating around the raise level: one firing and one resolve, not a flap per
    /// sample.
    #[test]
    fn hysteresis_stops_flapping() {
        let rule = rule(above(90.0, Some(80.0)), 0, 0);
        let mut inputs: Vec<(i64, Observation)> = (0..200)
            .map(|i| {
                let wobble = if i % 2 == 0 { 0.9 } else { -0.9 };
                (i * 1_000, Observation::Value(90.0 + wobble))
            })
            .collect();
        inputs.push((200_000, Observation::Value(79.0)));
        let decisions = run(&rule, &inputs);
        assert_eq!(notices(&decisions), [Notice::Firing, Notice::Resolved]);
        assert_eq!(decisions.last().unwrap().next.state, State::Normal);

        // Without a clear level, the same input flaps on every sample.
        let flappy = super::tests::rule(above(90.0, None), 0, 0);
        assert_eq!(notices(&run(&flappy, &inputs)).len(), 200);
    }

    #[test]
    fn severities_escalate_and_step_down_with_their_own_clear_levels() {
        let rule = rule(
            Condition::Above {
                critical: Some(Line {
                    raise: 95.0,
                    clear: Some(90.0),
                }),
                warning: Some(Line {
                    raise: 80.0,
                    clear: Some(75.0),
                }),
            },
            0,
            0,
        );
        let decisions = run(
            &rule,
            &[
                (0, Observation::Value(85.0)),
                (1, Observation::Value(96.0)),
                (2, Observation::Value(92.0)),
                (3, Observation::Value(89.0)),
                (4, Observation::Value(77.0)),
                (5, Observation::Value(74.0)),
            ],
        );
        let severities: Vec<Option<Severity>> = decisions.iter().map(|d| d.next.severity).collect();
        use Severity::{Critical, Warning};
        assert_eq!(
            severities,
            [
                Some(Warning),
                Some(Critical),
                Some(Critical),
                Some(Warning),
                Some(Warning),
                None
            ]
        );
        // Each change of severity is told; a firing alert keeps its start.
        assert_eq!(
            notices(&decisions),
            [
                Notice::Firing,
                Notice::Firing,
                Notice::Firing,
                Notice::Resolved
            ]
        );
        assert_eq!(decisions[3].next.active_since_ms, Some(0));
    }

    #[test]
    fn outside_a_range() {
        let rule = rule(
            Condition::Outside {
                critical: Some(Band {
                    low: Line {
                        raise: 10.0,
                        clear: Some(12.0),
                    },
                    high: Line {
                        raise: 90.0,
                        clear: None,
                    },
                }),
                warning: None,
            },
            0,
            0,
        );
        let states: Vec<State> = run(
            &rule,
            &[
                (0, Observation::Value(50.0)),
                (1, Observation::Value(9.0)),
                (2, Observation::Value(11.0)),
                (3, Observation::Value(12.0)),
                (4, Observation::Value(91.0)),
            ],
        )
        .iter()
        .map(|d| d.next.state)
        .collect();
        assert_eq!(
            states,
            [
                State::Normal,
                State::Firing,
                State::Firing,
                State::Normal,
                State::Firing
            ]
        );
    }

    /// Absence: the value is the seconds since the last sample; it fires once the period has
    /// passed and resolves on the next sample (a sample of value 0 included).
    #[test]
    fn absence_fires_after_the_period_and_resolves_on_the_next_sample() {
        let rule = rule(
            Condition::Absent {
                after_ms: 300_000,
                severity: Severity::Critical,
            },
            0,
            0,
        );
        let decisions = run(
            &rule,
            &[
                (0, Observation::Value(0.0)),
                (299_999, Observation::Value(299.999)),
                (300_000, Observation::Value(300.0)),
                (310_000, Observation::Value(0.0)),
            ],
        );
        let states: Vec<State> = decisions.iter().map(|d| d.next.state).collect();
        assert_eq!(
            states,
            [State::Normal, State::Normal, State::Firing, State::Normal]
        );
        assert_eq!(notices(&decisions), [Notice::Firing, Notice::Resolved]);
    }

    #[test]
    fn no_data_and_errors_as_the_rule_says() {
        let firing = Instance {
            state: State::Firing,
            severity: Some(Severity::Critical),
            since_ms: 0,
            active_since_ms: Some(0),
            value: Some(95.0),
        };
        let mut keep = rule(above(90.0, None), 0, 0);
        let d = step(&keep, &firing, &Observation::NoData, 5_000);
        assert_eq!((d.next, d.transition, d.notice), (firing, None, None));
        let d = step(&keep, &firing, &Observation::Error("down".into()), 5_000);
        assert_eq!((d.next, d.transition, d.notice), (firing, None, None));

        keep.no_data = Handling::Normal;
        keep.error = Handling::Normal;
        for observation in [Observation::NoData, Observation::Error("down".into())] {
            let d = step(&keep, &firing, &observation, 5_000);
            assert_eq!(d.next.state, State::Normal);
            assert_eq!(d.notice, Some(Notice::Resolved));
        }

        keep.no_data = Handling::Alert;
        keep.error = Handling::Alert;
        let normal = Instance::default();
        let d = step(&keep, &normal, &Observation::NoData, 5_000);
        assert_eq!(d.next.state, State::NoData);
        assert_eq!(d.next.severity, Some(Severity::Critical));
        assert_eq!(d.notice, Some(Notice::Firing));
        // Still no data: nothing new. Then an error: a different alert reason, told.
        let again = step(&keep, &d.next, &Observation::NoData, 6_000);
        assert_eq!((again.transition, again.notice), (None, None));
        let error = step(&keep, &d.next, &Observation::Error("down".into()), 7_000);
        assert_eq!(error.next.state, State::Error);
        assert_eq!(
            error.notice, None,
            "both alert as no data/error: same to receivers"
        );
        // Data back and normal: resolved.
        let back = step(&keep, &error.next, &Observation::Value(10.0), 8_000);
        assert_eq!(back.next.state, State::Normal);
        assert_eq!(back.notice, Some(Notice::Resolved));
        // A firing alert that loses its data stays firing to receivers (no resolve, no
        // second firing).
        let lost = step(&keep, &firing, &Observation::NoData, 9_000);
        assert_eq!(lost.next.state, State::NoData);
        assert_eq!(lost.notice, Some(Notice::Firing));
    }
}
