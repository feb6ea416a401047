//! Which new samples cannot take a rule out of normal: what lets the evaluator leave a write
//! unevaluated when every instance of the rule is normal, without changing any outcome.
//!
//! Only certain answers count. Adding samples can only raise a window's maximum and only
//! lower its minimum, and the window's last value is either unchanged or one of the new
//! samples; so when none of the new values breaches on its own, the rule's value after the
//! write breaches no more than before it. Every other aggregation (an average, a sum, a
//! quantile, a rate…) and every change-based or absence rule is evaluated on each write.

use super::machine::breach;
use super::rule::{Condition, Measure, Rule, Source};
use crate::query::Aggregation;

/// Whether new samples whose values all lie in `low..=high` may take an instance of `rule`
/// that is normal, neither pending nor waiting on a deadline, out of normal. `counter` says
/// the rule's series are counters, whose "last" is a sum over series, not one sample.
#[must_use]
pub fn may_raise(rule: &Rule, counter: bool, low: f64, high: f64) -> bool {
    let Source::Metric {
        aggregation,
        measure,
        ..
    } = &rule.source
    else {
        return true;
    };
    // NaN, or an empty span: no certainty.
    if *measure != Measure::Value || low.is_nan() || high.is_nan() || low > high {
        return true;
    }
    let breaches = |value: f64| breach(&rule.condition, value, None).is_some();
    let bounded = match (aggregation, &rule.condition) {
        (Aggregation::Max, Condition::Above { .. })
        | (Aggregation::Min, Condition::Below { .. }) => true,
        (
            Aggregation::Last,
            Condition::Above { .. } | Condition::Below { .. } | Condition::Outside { .. },
        ) => !counter,
        _ => false,
    };
    // Lines and bands are intervals: both ends inside means every value between is.
    !bounded || breaches(low) || breaches(high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::{Band, Line, test_rule};

    fn rule(aggregation: Aggregation, condition: Condition) -> Rule {
        let mut rule = test_rule(condition, 0, 0);
        if let Source::Metric {
            aggregation: current,
            ..
        } = &mut rule.source
        {
            *current = aggregation;
        }
        rule
    }

    fn line(raise: f64) -> Option<Line> {
        Some(Line { raise, clear: None })
    }

    fn above(raise: f64) -> Condition {
        Condition::Above {
            critical: line(raise),
            warning: None,
        }
    }

    #[test]
    fn a_maximum_above_a_line_moves_only_with_a_value_above_it() {
        let max = rule(Aggregation::Max, above(10.0));
        assert!(!may_raise(&max, false, 1.0, 10.0));
        assert!(may_raise(&max, false, 1.0, 10.5));
        // The warning line is lower than the critical one: it decides.
        let both = rule(
            Aggregation::Max,
            Condition::Above {
                critical: line(10.0),
                warning: line(5.0),
            },
        );
        assert!(may_raise(&both, false, 1.0, 6.0));
        assert!(!may_raise(&both, false, 1.0, 5.0));
    }

    #[test]
    fn a_minimum_below_a_line_moves_only_with_a_value_below_it() {
        let min = rule(
            Aggregation::Min,
            Condition::Below {
                critical: line(3.0),
                warning: None,
            },
        );
        assert!(!may_raise(&min, false, 3.0, 100.0));
        assert!(may_raise(&min, false, 2.9, 100.0));
    }

    #[test]
    fn a_last_value_moves_only_with_a_breaching_sample_and_never_for_counters() {
        let band = Condition::Outside {
            critical: Some(Band {
                low: Line {
                    raise: 0.0,
                    clear: None,
                },
                high: Line {
                    raise: 100.0,
                    clear: None,
                },
            }),
            warning: None,
        };
        let last = rule(Aggregation::Last, band);
        assert!(!may_raise(&last, false, 0.0, 100.0));
        assert!(may_raise(&last, false, -1.0, 50.0));
        assert!(may_raise(&last, false, 50.0, 101.0));
        assert!(may_raise(&last, true, 10.0, 20.0));
    }

    #[test]
    fn everything_else_is_always_evaluated() {
        // Old samples leaving the window can raise an average, so can a new low sample for a
        // maximum below a line (it does not, but a falling maximum might with time).
        assert!(may_raise(
            &rule(Aggregation::Avg, above(10.0)),
            false,
            0.0,
            1.0
        ));
        assert!(may_raise(
            &rule(
                Aggregation::Max,
                Condition::Below {
                    critical: line(3.0),
                    warning: None
                }
            ),
            false,
            5.0,
            6.0
        ));
        assert!(may_raise(
            &rule(Aggregation::Sum, above(10.0)),
            false,
            0.0,
            1.0
        ));
        let mut change = rule(Aggregation::Max, above(10.0));
        if let Source::Metric { measure, .. } = &mut change.source {
            *measure = Measure::Change;
        }
        assert!(may_raise(&change, false, 0.0, 1.0));
        assert!(may_raise(
            &rule(
                Aggregation::Max,
                Condition::Absent {
                    after_ms: 1_000,
                    severity: crate::alerts::Severity::Critical
                }
            ),
            false,
            0.0,
            1.0
        ));
        assert!(may_raise(
            &rule(Aggregation::Max, above(10.0)),
            false,
            f64::NAN,
            1.0
        ));
    }
}
