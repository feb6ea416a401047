//! Which silence covers an alert: every matcher of the silence holds for the alert's labels
//! (a missing label is empty, as in Alertmanager), and the silence is in force.

use std::collections::BTreeMap;

use app::alerts::{LabelMatcher, Silence};
use app::query::MatchOp;

/// Whether `matcher` holds for `labels`. A regular expression that does not compile matches
/// nothing (silences are checked when made, so this is only older data).
#[must_use]
pub fn holds(matcher: &LabelMatcher, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&matcher.name).map_or("", String::as_str);
    match matcher.op {
        MatchOp::Equal => value == matcher.value,
        MatchOp::NotEqual => value != matcher.value,
        MatchOp::Regex | MatchOp::NotRegex => {
            let matched = regex::Regex::new(&format!("^(?:{})$", matcher.value))
                .is_ok_and(|pattern| pattern.is_match(value));
            matched == (matcher.op == MatchOp::Regex)
        }
    }
}

/// The silence in force at `now_ms` that covers `labels` and ends last, if any.
#[must_use]
pub fn covering<'a>(
    silences: &'a [Silence],
    labels: &BTreeMap<String, String>,
    now_ms: i64,
) -> Option<&'a Silence> {
    silences
        .iter()
        .filter(|silence| silence.active_at(now_ms))
        .filter(|silence| silence.matchers.iter().all(|m| holds(m, labels)))
        .max_by_key(|silence| silence.ends_ms)
}

/// Checks that a silence's regular expressions compile.
///
/// # Errors
/// The first that does not, named by its place.
pub fn check(silence: &Silence) -> Result<(), app::alerts::RuleError> {
    for (index, matcher) in silence.matchers.iter().enumerate() {
        if matches!(matcher.op, MatchOp::Regex | MatchOp::NotRegex)
            && let Err(error) = regex::Regex::new(&format!("^(?:{})$", matcher.value))
        {
            return Err(app::alerts::RuleError {
                field: format!("matchers[{index}].value"),
                reason: error.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(name: &str, op: MatchOp, value: &str) -> LabelMatcher {
        LabelMatcher {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn silences_cover_by_matchers_and_time() {
        let labels = BTreeMap::from([
            ("alertname".to_owned(), "cpu high".to_owned()),
            ("host".to_owned(), "web-1".to_owned()),
        ]);
        let silence = |matchers, starts_ms, ends_ms| Silence {
            id: "s".into(),
            matchers,
            starts_ms,
            ends_ms,
            comment: String::new(),
            created_by: String::new(),
        };
        let silences = vec![
            silence(vec![matcher("host", MatchOp::Regex, "web-.*")], 0, 100),
            silence(vec![matcher("host", MatchOp::Equal, "db-1")], 0, 1_000),
            silence(
                vec![
                    matcher("alertname", MatchOp::Equal, "cpu high"),
                    matcher("zone", MatchOp::NotEqual, "eu"),
                ],
                50,
                200,
            ),
        ];
        assert_eq!(
            covering(&silences, &labels, 10).map(|s| s.ends_ms),
            Some(100)
        );
        assert_eq!(
            covering(&silences, &labels, 60).map(|s| s.ends_ms),
            Some(200)
        );
        assert_eq!(covering(&silences, &labels, 200), None);
        assert!(holds(&matcher("host", MatchOp::NotRegex, "db-.*"), &labels));
        assert!(
            !holds(&matcher("host", MatchOp::Regex, "web"), &labels),
            "anchored"
        );
        assert!(check(&silence(vec![matcher("a", MatchOp::Regex, "(")], 0, 1)).is_err());
    }
}
