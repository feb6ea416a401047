//! Selectors compiled once (their regular expressions built) and matched against series keys.

use app::model::SeriesKey;
use app::query::{MatchOp, NAME_LABEL, Selector};
use regex::Regex;

use super::error::QueryError;

/// A selector with its regular expressions compiled.
pub(crate) struct CompiledSelector {
    conditions: Vec<(String, MatchOp, Condition)>,
}

enum Condition {
    Text(String),
    Pattern(Regex),
}

impl CompiledSelector {
    pub(crate) fn new(selector: &Selector) -> Result<Self, QueryError> {
        let conditions = selector
            .matchers
            .iter()
            .map(|matcher| {
                let condition = match matcher.op {
                    MatchOp::Equal | MatchOp::NotEqual => Condition::Text(matcher.value.clone()),
                    MatchOp::Regex | MatchOp::NotRegex => Condition::Pattern(
                        Regex::new(&format!("^(?:{})$", matcher.value)).map_err(|error| {
                            QueryError::BadRegex {
                                label: matcher.label.clone(),
                                reason: error.to_string(),
                            }
                        })?,
                    ),
                };
                Ok((matcher.label.clone(), matcher.op, condition))
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { conditions })
    }

    /// Whether `series` satisfies every condition; a missing label reads as "", and
    /// `__name__` is the metric name.
    pub(crate) fn matches(&self, series: &SeriesKey) -> bool {
        self.conditions.iter().all(|(label, op, condition)| {
            let value = if label == NAME_LABEL {
                series.name.as_str()
            } else {
                series.labels.get(label).map_or("", String::as_str)
            };
            let hit = match condition {
                Condition::Text(text) => value == text,
                Condition::Pattern(pattern) => pattern.is_match(value),
            };
            match op {
                MatchOp::Equal | MatchOp::Regex => hit,
                MatchOp::NotEqual | MatchOp::NotRegex => !hit,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selectors match as PromQL does: missing labels read as empty, regexes are anchored.
    #[test]
    fn selector_matching() {
        let selector = CompiledSelector::new(
            &Selector::parse(r#"m{host=~"web-\d+",env!="prod",zone!~"eu-.*"}"#).unwrap(),
        )
        .unwrap();
        let key = |host: &str, env: &str| {
            SeriesKey::new("m")
                .with_label("host", host)
                .with_label("env", env)
        };
        assert!(selector.matches(&key("web-1", "dev")));
        assert!(!selector.matches(&key("web-1x", "dev")));
        assert!(!selector.matches(&key("web-1", "prod")));
        assert!(!selector.matches(&key("web-1", "dev").with_label("zone", "eu-west")));
        assert!(selector.matches(&SeriesKey::new("m").with_label("host", "web-2")));
        assert!(matches!(
            CompiledSelector::new(&Selector::parse(r#"m{a=~"("}"#).unwrap()),
            Err(QueryError::BadRegex { .. })
        ));
    }

    /// `__name__` conditions are about the metric name, as in PromQL.
    #[test]
    fn name_matchers_match_the_metric_name() {
        let selector = CompiledSelector::new(
            &Selector::parse(r#"{__name__=~"http_.*", __name__!="http_x", job="a"}"#).unwrap(),
        )
        .unwrap();
        let key = |name: &str| SeriesKey::new(name).with_label("job", "a");
        assert!(selector.matches(&key("http_requests_total")));
        assert!(!selector.matches(&key("http_x")));
        assert!(!selector.matches(&key("go_gc_total")));
        assert!(!selector.matches(&SeriesKey::new("http_y")));
        let negative =
            CompiledSelector::new(&Selector::parse(r#"{__name__!~"go_.*"}"#).unwrap()).unwrap();
        assert!(negative.matches(&SeriesKey::new("cpu")));
        assert!(!negative.matches(&SeriesKey::new("go_gc_total")));
        assert!(matches!(
            CompiledSelector::new(&Selector::parse(r#"{__name__=~"("}"#).unwrap()),
            Err(QueryError::BadRegex { .. })
        ));
    }
}
