//! A rule's state machine replayed over past values: what the rule editor's preview shows
//! (when each instance would have fired and resolved, and how many notifications that is),
//! stepping through [`step`] exactly as live evaluation does, pending and keep-firing periods
//! included, so that the preview and the rule agree.

use serde::{Deserialize, Serialize};

use super::machine::{Instance, Notice, Observation, State, Transition, step};
use super::rule::Rule;

/// What one instance would have done.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Replayed {
    pub transitions: Vec<ReplayedTransition>,
    /// Notifications it would have sent (per contact point: multiply by their number).
    pub notifications: usize,
    /// Its state at the end.
    pub end: State,
}

/// One transition of a replay, with what receivers would have been told.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct ReplayedTransition {
    #[serde(flatten)]
    pub transition: Transition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Replays `rule` over `values` (time ascending; `None`: no data then), starting normal.
#[must_use]
pub fn replay(rule: &Rule, values: &[(i64, Option<f64>)]) -> Replayed {
    let mut instance = Instance::default();
    let mut out = Replayed::default();
    let mut last: Option<Observation> = None;
    let mut deadline: Option<i64> = None;
    let record = |decision: super::machine::Decision, out: &mut Replayed| {
        if let Some(transition) = decision.transition {
            out.transitions.push(ReplayedTransition {
                transition,
                value: decision.next.value,
                notice: decision.notice,
            });
        }
        if decision.notice.is_some() {
            out.notifications += 1;
        }
        decision
    };
    for (at, value) in values {
        // A period that ended between two values ends at its deadline, on the value then.
        while let (Some(due), Some(observation)) = (deadline, &last) {
            if due > *at {
                break;
            }
            let decision = record(step(rule, &instance, observation, due), &mut out);
            instance = decision.next;
            deadline = decision.deadline_ms.filter(|next| *next > due);
        }
        let observation = match value {
            Some(value) => Observation::Value(*value),
            None => Observation::NoData,
        };
        let decision = record(step(rule, &instance, &observation, *at), &mut out);
        instance = decision.next;
        deadline = decision.deadline_ms;
        last = Some(observation);
    }
    out.end = instance.state;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::{Condition, Line};

    fn rule(pending_ms: i64, keep_firing_ms: i64) -> Rule {
        let above_ten = Condition::Above {
            critical: Some(Line {
                raise: 10.0,
                clear: None,
            }),
            warning: None,
        };
        crate::alerts::rule::test_rule(above_ten, pending_ms, keep_firing_ms)
    }

    #[test]
    fn replays_pending_periods_to_their_deadline() {
        let values: Vec<(i64, Option<f64>)> = vec![
            (0, Some(1.0)),
            (60_000, Some(20.0)),
            (120_000, Some(20.0)),
            (180_000, Some(20.0)),
            (240_000, Some(1.0)),
            (300_000, None),
        ];
        let replayed = replay(&rule(90_000, 0), &values);
        let at: Vec<(i64, State)> = replayed
            .transitions
            .iter()
            .map(|t| (t.transition.at_ms, t.transition.to))
            .collect();
        // Pending at 60 s, firing at 150 s exactly (between two values), normal at 240 s.
        assert_eq!(
            at,
            [
                (60_000, State::Pending),
                (150_000, State::Firing),
                (240_000, State::Normal)
            ]
        );
        assert_eq!(replayed.notifications, 2);
        assert_eq!(replayed.end, State::Normal);
    }

    #[test]
    fn keep_firing_ends_between_values_too() {
        let values = vec![(0, Some(20.0)), (10_000, Some(1.0)), (100_000, Some(1.0))];
        let replayed = replay(&rule(0, 30_000), &values);
        let last = replayed.transitions.last().unwrap();
        assert_eq!(
            (last.transition.at_ms, last.transition.to),
            (40_000, State::Normal)
        );
        assert_eq!(replayed.notifications, 2);
    }
}
