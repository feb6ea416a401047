//! `GET /api/v1/query`: turns query-string parameters into a [`Query`].
//!
//! | parameter | meaning |
//! | --- | --- |
//! | `query` | selector, e.g. `http_requests{route="/api",method=~"GET|POST"}` (required) |
//! | `agg` | `avg` (default), `min`, `max`, `sum`, `count`, `last`, `rate`, `unique`, `p50`, `p90`, `p95`, `p99`, or `quantile` with `q` |
//! | `q` | quantile between 0 and 1, with `agg=quantile` |
//! | `range` | span up to now, e.g. `15m`, `24h`, `7d` (default `1h`) |
//! | `from`, `to` | absolute span in ms since the epoch, instead of `range` |
//! | `step` | step, e.g. `10s`, `1m` (default: about 300 points) |
//! | `group_by` | comma-separated labels to combine series by; empty combines all; absent keeps each series |

use app::query::{Aggregation, MAX_SPAN_MS, MAX_TIMESTAMP_MS, Query, Selector, TimeRange};
use serde::Deserialize;

use crate::config::parse_duration_ms;

/// The raw parameters, as text: each is read here, so that a bad one is named in the answer.
#[derive(Debug, Default, Deserialize)]
pub struct QueryParams {
    pub query: Option<String>,
    pub agg: Option<String>,
    pub q: Option<String>,
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub step: Option<String>,
    pub group_by: Option<String>,
}

/// A time in ms since the epoch, within what a query may name.
fn time(name: &'static str, text: Option<&str>) -> Result<Option<i64>, BadParameter> {
    let Some(text) = text else { return Ok(None) };
    let value: i64 = text.trim().parse().map_err(|_| {
        bad(
            name,
            format!("{text:?} is not a whole number of ms since the Unix epoch"),
        )
    })?;
    if value.unsigned_abs() > MAX_TIMESTAMP_MS.unsigned_abs() {
        return Err(bad(
            name,
            format!("{value} is beyond the year 9999 (at most {MAX_TIMESTAMP_MS} either way)"),
        ));
    }
    Ok(Some(value))
}

/// A duration such as `15m`, at most [`MAX_SPAN_MS`].
fn duration(name: &'static str, text: &str) -> Result<i64, BadParameter> {
    let ms = parse_duration_ms(text).map_err(|reason| bad(name, reason))?;
    if ms > MAX_SPAN_MS {
        return Err(bad(
            name,
            format!("{text:?} is longer than 100 years (100y), the most a query may name"),
        ));
    }
    Ok(ms)
}

/// A parameter that cannot be used, and why.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
#[error("parameter `{name}`: {reason}")]
pub struct BadParameter {
    /// The parameter.
    pub name: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl crate::failure::Classify for BadParameter {
    fn failure(&self) -> crate::failure::Failure {
        crate::failure::Failure::Invalid
    }
}

fn bad(name: &'static str, reason: impl Into<String>) -> BadParameter {
    BadParameter {
        name,
        reason: reason.into(),
    }
}

impl QueryParams {
    /// Builds the query.
    ///
    /// # Errors
    /// The first parameter that is missing or unusable.
    pub fn into_query(self) -> Result<Query, BadParameter> {
        let text = self.query.ok_or_else(|| {
            bad(
                "query",
                "missing; give a selector such as cpu_usage{host=\"a\"}",
            )
        })?;
        let selector = Selector::parse(&text).map_err(|error| bad("query", error.to_string()))?;
        let aggregation = match self.agg.as_deref().unwrap_or("avg") {
            "quantile" => {
                let text = self
                    .q
                    .ok_or_else(|| bad("q", "missing; agg=quantile needs q between 0 and 1"))?;
                let q: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| bad("q", format!("{text:?} is not a number between 0 and 1")))?;
                if !(0.0..=1.0).contains(&q) {
                    return Err(bad("q", format!("{q} is not between 0 and 1")));
                }
                Aggregation::Quantile { q }
            }
            other => Aggregation::from_name(other).ok_or_else(|| {
                bad(
                    "agg",
                    format!(
                        "{other:?} is not one of avg, min, max, sum, count, last, rate, unique, \
                         p50, p90, p95, p99, quantile"
                    ),
                )
            })?,
        };
        let from = time("from", self.from.as_deref())?;
        let to = time("to", self.to.as_deref())?;
        let range = match (from, to, self.range) {
            (Some(from), Some(to), None) => {
                if to <= from {
                    return Err(bad(
                        "to",
                        format!("the range [{from}, {to}) is empty: `to` must be after `from`"),
                    ));
                }
                TimeRange::Absolute { from, to }
            }
            (None, None, range) => TimeRange::Last {
                ms: duration("range", range.as_deref().unwrap_or("1h"))?,
            },
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(bad("from", "give both `from` and `to`, or `range`"));
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(bad(
                    "range",
                    "give either `range` or `from` and `to`, not both",
                ));
            }
        };
        let step_ms = self
            .step
            .as_deref()
            .map(|step| duration("step", step))
            .transpose()?;
        let group_by = self.group_by.map(|labels| {
            labels
                .split(',')
                .map(str::trim)
                .filter(|label| !label.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(Query {
            selector,
            range,
            step_ms,
            aggregation,
            group_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(text: &str) -> QueryParams {
        QueryParams {
            query: Some(text.into()),
            ..QueryParams::default()
        }
    }

    /// A full set of parameters becomes the matching query.
    #[test]
    fn builds_queries() {
        let query = QueryParams {
            agg: Some("p99".into()),
            range: Some("24h".into()),
            step: Some("1m".into()),
            group_by: Some("host, region".into()),
            ..selector(r#"http{route="/a"}"#)
        }
        .into_query()
        .unwrap();
        assert_eq!(query.selector.name, "http");
        assert_eq!(query.aggregation, Aggregation::Quantile { q: 0.99 });
        assert_eq!(query.range, TimeRange::Last { ms: 86_400_000 });
        assert_eq!(query.step_ms, Some(60_000));
        assert_eq!(query.group_by, Some(vec!["host".into(), "region".into()]));
        let absolute = QueryParams {
            from: Some("1000".into()),
            to: Some("2000".into()),
            ..selector("m")
        }
        .into_query()
        .unwrap();
        assert_eq!(
            absolute.range,
            TimeRange::Absolute {
                from: 1000,
                to: 2000
            }
        );
        assert_eq!(absolute.aggregation, Aggregation::Avg);
        assert_eq!(absolute.group_by, None);
    }

    /// Each bad parameter is named.
    #[test]
    fn names_bad_parameters() {
        let agg = |agg: &str| QueryParams {
            agg: Some(agg.into()),
            ..selector("m")
        };
        for (params, name) in [
            (QueryParams::default(), "query"),
            (selector("m{"), "query"),
            (agg("median"), "agg"),
            (agg("quantile"), "q"),
            (
                QueryParams {
                    q: Some("1.5".into()),
                    ..agg("quantile")
                },
                "q",
            ),
            (
                QueryParams {
                    q: Some("half".into()),
                    ..agg("quantile")
                },
                "q",
            ),
            (
                QueryParams {
                    range: Some("9223372036854775807ms".into()),
                    ..selector("m")
                },
                "range",
            ),
            (
                QueryParams {
                    range: Some("106751991167d".into()),
                    ..selector("m")
                },
                "range",
            ),
            (
                QueryParams {
                    step: Some("9223372036854775807ms".into()),
                    ..selector("m")
                },
                "step",
            ),
            (
                QueryParams {
                    from: Some("0".into()),
                    to: Some("1e16".into()),
                    ..selector("m")
                },
                "to",
            ),
            (
                QueryParams {
                    from: Some("-9223372036854775808".into()),
                    to: Some("9223372036854775807".into()),
                    ..selector("m")
                },
                "from",
            ),
            (
                QueryParams {
                    from: Some("7".into()),
                    to: Some("7".into()),
                    ..selector("m")
                },
                "to",
            ),
            (
                QueryParams {
                    range: Some("soon".into()),
                    ..selector("m")
                },
                "range",
            ),
            (
                QueryParams {
                    from: Some("5".into()),
                    ..selector("m")
                },
                "from",
            ),
            (
                QueryParams {
                    step: Some("0s".into()),
                    ..selector("m")
                },
                "step",
            ),
        ] {
            let error = params.into_query().unwrap_err();
            assert_eq!(error.name, name, "{error}");
        }
    }
}
