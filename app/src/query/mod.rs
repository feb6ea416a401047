//! Queries and their results: what a chart asks for and what it gets back.

pub mod request;
pub mod selector;

pub use request::{
    Aggregation, MAX_SPAN_MS, MAX_TIMESTAMP_MS, Query, QueryResult, ResultSeries, TimeRange,
    parse_duration_ms,
};
pub use selector::{MatchOp, Matcher, NAME_LABEL, Selector, SelectorError};

#[cfg(test)]
mod tests {
    use super::*;

    /// All four operators, escapes and spacing.
    #[test]
    fn aggregation_names() {
        assert_eq!(
            Aggregation::from_name("p99"),
            Some(Aggregation::Quantile { q: 0.99 })
        );
        assert_eq!(Aggregation::from_name("rate"), Some(Aggregation::Rate));
        assert_eq!(Aggregation::from_name("median"), None);
    }

    #[test]
    fn parses_selectors() {
        let selector = Selector::parse(
            r#"http_requests{route="/api", method!="GET",host=~"web-.*" ,x!~"a\"b"}"#,
        )
        .unwrap();
        assert_eq!(selector.name, "http_requests");
        let ops: Vec<_> = selector
            .matchers
            .iter()
            .map(|m| (m.label.as_str(), m.op, m.value.as_str()))
            .collect();
        assert_eq!(
            ops,
            [
                ("route", MatchOp::Equal, "/api"),
                ("method", MatchOp::NotEqual, "GET"),
                ("host", MatchOp::Regex, "web-.*"),
                ("x", MatchOp::NotRegex, "a\"b"),
            ]
        );
        assert_eq!(Selector::parse("cpu").unwrap().matchers, vec![]);
        assert_eq!(Selector::parse("cpu{}").unwrap().matchers, vec![]);
    }

    /// Bad selectors say where.
    #[test]
    fn refuses_bad_selectors() {
        for (text, problem) in [
            ("", "expected a metric name"),
            ("cpu{host}", "expected =, !=, =~ or !~"),
            ("cpu{host=a}", "expected a quoted value"),
            ("cpu{host=\"a}", "unterminated"),
            ("cpu{host=\"a\"", "expected {label"),
            // Without a name, a `__name__` matcher must say which metrics.
            ("{}", "expected a metric name, or a __name__ matcher"),
            (
                r#"{job="a"}"#,
                "expected a metric name, or a __name__ matcher",
            ),
            (r#"{__name__="", job="a"}"#, "a metric name cannot be empty"),
        ] {
            let error = Selector::parse(text).unwrap_err();
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
        assert_eq!(
            Selector::parse(r#"{__name__="", job="a"}"#)
                .unwrap_err()
                .position,
            1
        );
    }

    fn matcher(label: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            label: label.into(),
            op,
            value: value.into(),
        }
    }

    /// The metric name may be given as a `__name__` matcher, as in PromQL; an exact one is the
    /// name itself.
    #[test]
    fn parses_name_matchers() {
        let plain = Selector::parse("http_requests_total").unwrap();
        for text in [
            r#"{__name__="http_requests_total"}"#,
            r#" { __name__ = "http_requests_total" } "#,
            r#"http_requests_total{__name__="http_requests_total"}"#,
        ] {
            assert_eq!(Selector::parse(text).unwrap(), plain, "{text}");
        }
        let exact = Selector::parse(r#"{job="a", __name__="up"}"#).unwrap();
        assert_eq!(exact.name, "up");
        assert_eq!(exact.matchers, [matcher("job", MatchOp::Equal, "a")]);
        assert_eq!(exact.fixed_name(), Some("up"));

        let pattern = Selector::parse(r#"{__name__=~"http_.*"}"#).unwrap();
        assert_eq!(pattern.name, "");
        assert_eq!(
            pattern.matchers,
            [matcher(NAME_LABEL, MatchOp::Regex, "http_.*")]
        );
        assert_eq!(pattern.fixed_name(), None);
        assert_eq!(pattern.check(), Ok(()));

        let negative = Selector::parse(r#"{__name__!="x", job="a"}"#).unwrap();
        assert_eq!(negative.name, "");
        assert_eq!(
            negative.matchers,
            [
                matcher(NAME_LABEL, MatchOp::NotEqual, "x"),
                matcher("job", MatchOp::Equal, "a")
            ]
        );
        assert_eq!(
            Selector::parse(r#"{__name__!~"go_.*"}"#).unwrap().matchers,
            [matcher(NAME_LABEL, MatchOp::NotRegex, "go_.*")]
        );

        // Name and pattern together: both hold.
        let both = Selector::parse(r#"http_requests{__name__=~"http_.*", route="/"}"#).unwrap();
        assert_eq!(both.name, "http_requests");
        assert_eq!(both.name_matchers().count(), 1);
        assert_eq!(both.fixed_name(), Some("http_requests"));
    }

    /// A selector that arrived as JSON is checked for a name as parsing checks text.
    #[test]
    fn checks_built_selectors() {
        let unnamed = Selector {
            name: String::new(),
            matchers: vec![matcher("job", MatchOp::Equal, "a")],
        };
        let error = unnamed.check().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected a metric name, or a __name__ matcher"),
            "{error}"
        );
        let exact = Selector {
            name: String::new(),
            matchers: vec![matcher(NAME_LABEL, MatchOp::Equal, "cpu")],
        };
        assert_eq!(exact.check(), Ok(()));
        assert_eq!(exact.fixed_name(), Some("cpu"));
        assert_eq!(Selector::parse(&exact.to_string()), Selector::parse("cpu"));
    }

    /// `to_string` reads back as the same selector, whatever the values hold.
    #[test]
    fn selectors_round_trip() {
        let texts = [
            "cpu",
            "cpu{}",
            r#"http_requests{route="/api", method!="GET",host=~"web-.*" ,x!~"a\"b"}"#,
            r#"m{path="C:\\dir\\", re=~"web-\d+", nl="a\nb", empty=""}"#,
            r#"{__name__=~"http_.*"}"#,
            r#"{__name__!="x", job="a"}"#,
            r#"{__name__!~"go_.*", __name__=~".*_total"}"#,
            r#"{__name__="up", job="a"}"#,
            r#"up{__name__="down"}"#,
            r#"name{__name__=~"na.*", __name__="name", __name__="name"}"#,
            r#"{job="a", __name__="x", __name__="y"}"#,
        ];
        for text in texts {
            let selector = Selector::parse(text).unwrap();
            let printed = selector.to_string();
            assert_eq!(
                Selector::parse(&printed).as_ref(),
                Ok(&selector),
                "{text} printed as {printed}"
            );
            assert_eq!(printed, Selector::parse(&printed).unwrap().to_string());
        }
        // Every value built from awkward characters survives.
        let pieces = [
            "", "a", "\\", "\"", "\n", "\\n", "{", "}", ",", " ", "=~", "é",
        ];
        for first in pieces {
            for second in pieces {
                let value = format!("{first}{second}");
                for op in [
                    MatchOp::Equal,
                    MatchOp::NotEqual,
                    MatchOp::Regex,
                    MatchOp::NotRegex,
                ] {
                    let selector = Selector {
                        name: "m".into(),
                        matchers: vec![matcher("l", op, &value), matcher("k_2", op, &value)],
                    };
                    assert_eq!(
                        Selector::parse(&selector.to_string()).as_ref(),
                        Ok(&selector),
                        "{value:?} {op:?}"
                    );
                    if !value.is_empty() || op != MatchOp::Equal {
                        let unnamed = Selector {
                            name: String::new(),
                            matchers: vec![matcher(NAME_LABEL, MatchOp::Regex, &value)],
                        };
                        assert_eq!(
                            Selector::parse(&unnamed.to_string()).as_ref(),
                            Ok(&unnamed),
                            "{value:?}"
                        );
                    }
                }
            }
        }
    }
}
