//! The catalog, for pickers and autocomplete: metric names by prefix, the series of a selector,
//! and the label names and values they use. Every listing is bounded and paginated, and none
//! uses `KEYS`: names come from a lexicographically sorted set, series from per-name sets.
//!
//! A selector whose metric name is a `__name__` pattern (`{__name__=~"http_.*"}`) chooses among
//! the sorted names: only those that share the pattern's literal prefix are read, at most
//! [`MAX_NAME_SCAN`], and the series of the names it matches, at most
//! [`MAX_NAME_PATTERN_SERIES`].

use std::collections::{BTreeMap, BTreeSet};

use app::model::SeriesKey;
use app::query::{MatchOp, Selector};
use serde::Serialize;

use super::query::{CompiledSelector, MAX_QUERY_SERIES, QueryError};
use super::{SeriesId, StorageError, Store};
use crate::storage::slots::Batch;

/// Most entries one catalog answer holds.
pub const MAX_CATALOG_LIMIT: usize = 1_000;
/// Most series of one metric the label listing reads.
pub const MAX_LABEL_SCAN: usize = 10_000;
/// Most metric names a `__name__` pattern chooses among (the names sharing its literal prefix).
pub const MAX_NAME_SCAN: usize = 10_000;
/// Most series a `__name__` pattern reads, over the metrics it matches, before the label
/// matchers apply (a query then keeps at most [`MAX_QUERY_SERIES`] of them).
pub const MAX_NAME_PATTERN_SERIES: usize = 10 * MAX_QUERY_SERIES;

/// A page of metric names.
#[derive(Debug, Serialize, PartialEq)]
pub struct NamePage {
    /// Names in lexicographic order.
    pub names: Vec<String>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A page of series.
#[derive(Debug, Serialize, PartialEq)]
pub struct SeriesPage {
    /// Series sorted by name and labels.
    pub series: Vec<SeriesKey>,
    /// How many series match in all.
    pub total: usize,
    /// Pass as `offset` for the next page; absent on the last page.
    pub next: Option<usize>,
}

/// The labels used by a selector's series, with their values.
#[derive(Debug, Serialize, PartialEq)]
pub struct LabelListing {
    /// Label name → sorted distinct values (at most the limit each).
    pub labels: BTreeMap<String, Vec<String>>,
    /// True when a label had more values than the limit, or the metric more series than were read.
    pub truncated: bool,
}

impl Store {
    /// Metric names starting with `prefix`, after `after` (exclusive), at most `limit`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn metric_names(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<NamePage, StorageError> {
        let limit = limit.clamp(1, MAX_CATALOG_LIMIT);
        let start = match after {
            Some(after) if after >= prefix => format!("({after}"),
            _ => format!("[{prefix}"),
        };
        // Every name with the prefix sorts below prefix + U+10FFFF's UTF-8 encoding.
        let end = format!("({prefix}\u{10FFFF}");
        let mut names: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(self.keys.names())
            .arg(start)
            .arg(end)
            .arg("LIMIT")
            .arg(0)
            .arg(limit + 1)
            .query_async(&mut self.connection())
            .await?;
        let next = (names.len() > limit).then(|| {
            names.truncate(limit);
            names.last().cloned().unwrap_or_default()
        });
        Ok(NamePage { names, next })
    }

    /// The series matching `selector`, sorted, from `offset`, at most `limit`.
    ///
    /// # Errors
    /// A bad regular expression, or Redis failed.
    pub async fn list_series(
        &self,
        selector: &Selector,
        offset: usize,
        limit: usize,
    ) -> Result<SeriesPage, QueryError> {
        let limit = limit.clamp(1, MAX_CATALOG_LIMIT);
        let mut series = self.matching(selector, usize::MAX).await?.0;
        series.sort();
        let total = series.len();
        let page: Vec<SeriesKey> = series.into_iter().skip(offset).take(limit).collect();
        let next = (offset + page.len() < total).then_some(offset + page.len());
        Ok(SeriesPage {
            series: page,
            total,
            next,
        })
    }

    /// Label names and values of the series matching `selector`, at most `limit` values per
    /// label, those starting with `value_prefix`.
    ///
    /// # Errors
    /// A bad regular expression, or Redis failed.
    pub async fn list_labels(
        &self,
        selector: &Selector,
        value_prefix: &str,
        limit: usize,
    ) -> Result<LabelListing, QueryError> {
        let limit = limit.clamp(1, MAX_CATALOG_LIMIT);
        let (series, mut truncated) = self.matching(selector, MAX_LABEL_SCAN).await?;
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for key in series {
            for (label, value) in key.labels {
                let entry = values.entry(label).or_default();
                if value.starts_with(value_prefix) {
                    entry.insert(value);
                }
            }
        }
        let labels = values
            .into_iter()
            .map(|(label, values)| {
                truncated |= values.len() > limit;
                (label, values.into_iter().take(limit).collect())
            })
            .collect();
        Ok(LabelListing { labels, truncated })
    }

    /// The series of the selector's metric that match it, reading at most `cap` of the
    /// metric's series; also whether the cap cut the list.
    async fn matching(
        &self,
        selector: &Selector,
        cap: usize,
    ) -> Result<(Vec<SeriesKey>, bool), QueryError> {
        let compiled = CompiledSelector::new(selector)?;
        let (mut ids, _) = self.ids_of_selector(selector).await?;
        let truncated = ids.len() > cap;
        ids.sort();
        ids.truncate(cap);
        let series = self
            .series_of(&ids)
            .await?
            .into_iter()
            .map(|(_, key)| key)
            .filter(|key| compiled.matches(key))
            .collect();
        Ok((series, truncated))
    }

    /// The ids of the series of the metrics `selector` names, before its label matchers
    /// apply; also whether the name was a `__name__` pattern (so several metrics may match).
    ///
    /// # Errors
    /// The selector names no metric, a `__name__` regular expression does not compile, the
    /// pattern would read more than [`MAX_NAME_SCAN`] names or [`MAX_NAME_PATTERN_SERIES`]
    /// series, or Redis failed.
    pub(crate) async fn ids_of_selector(
        &self,
        selector: &Selector,
    ) -> Result<(Vec<SeriesId>, bool), QueryError> {
        if let Some(name) = selector.fixed_name() {
            return Ok((self.ids_of_name(name).await?, false));
        }
        selector
            .check()
            .map_err(|error| QueryError::BadSelector(error.to_string()))?;
        let names = self.names_matching(selector).await?;
        if names.is_empty() {
            return Ok((Vec::new(), true));
        }
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for name in &names {
            batch.cmd("SMEMBERS", &self.keys.name_index(name));
        }
        let sets: Vec<Vec<String>> = batch.query(&connection).await?;
        let total: usize = sets.iter().map(Vec::len).sum();
        if total > MAX_NAME_PATTERN_SERIES {
            return Err(QueryError::OverLimit(format!(
                "the __name__ matcher selects {} metrics with {total} series; at most \
                 {MAX_NAME_PATTERN_SERIES} are read before label matchers apply: narrow the \
                 pattern",
                names.len()
            )));
        }
        let ids = sets
            .into_iter()
            .flatten()
            .map(SeriesId::from_stored)
            .collect();
        Ok((ids, true))
    }

    /// The catalog's metric names that satisfy the selector's `__name__` matchers, reading
    /// only the names that share a regular expression's literal prefix.
    async fn names_matching(&self, selector: &Selector) -> Result<Vec<String>, QueryError> {
        let conditions = Selector {
            name: String::new(),
            matchers: selector.name_matchers().cloned().collect(),
        };
        let compiled = CompiledSelector::new(&conditions)?;
        let prefix = conditions
            .matchers
            .iter()
            .filter(|matcher| matcher.op == MatchOp::Regex)
            .map(|matcher| literal_prefix(&matcher.value))
            .max_by_key(String::len)
            .unwrap_or_default();
        let mut names = Vec::new();
        let mut scanned = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .metric_names(&prefix, after.as_deref(), MAX_CATALOG_LIMIT)
                .await?;
            scanned += page.names.len();
            if scanned > MAX_NAME_SCAN {
                let within = if prefix.is_empty() {
                    String::new()
                } else {
                    format!(" starting with {prefix:?}")
                };
                return Err(QueryError::OverLimit(format!(
                    "the __name__ matcher chooses among more than {MAX_NAME_SCAN} metric \
                     names{within}; start its regular expression with a longer literal prefix, \
                     such as {{__name__=~\"http_.*\"}}"
                )));
            }
            names.extend(
                page.names
                    .into_iter()
                    .filter(|name| compiled.matches(&SeriesKey::new(name.as_str()))),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(names)
    }
}

/// A prefix of every text that `pattern` matches in full (as selectors match, anchored at both
/// ends): its leading literal characters, less the last when a repetition follows it. Empty
/// when there is none to tell, as when the pattern has alternatives at its top level.
fn literal_prefix(pattern: &str) -> String {
    // Alternatives at the top level have no common prefix. Without character classes, whose
    // extent is subtle to read (`[]|]`, `[[:alpha:]|]`), parentheses tell where a `|` is;
    // with them, any `|` gives up.
    let has_class = pattern.contains('[');
    let mut depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if has_class || depth == 0 => return String::new(),
            _ => {}
        }
    }
    let mut prefix = String::new();
    for c in pattern.chars() {
        match c {
            '*' | '?' | '{' | '+' => {
                // The repetition applies to the character before it, which may be absent.
                prefix.pop();
                break;
            }
            '\\' | '.' | '^' | '$' | '(' | ')' | '[' | ']' | '}' | '|' => break,
            c => prefix.push(c),
        }
    }
    prefix
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::literal_prefix;

    /// The prefix is one that every full match starts with.
    #[test]
    fn literal_prefixes() {
        for (pattern, prefix) in [
            ("http_.*", "http_"),
            ("http_requests_total", "http_requests_total"),
            ("http_(get|post)_total", "http_"),
            ("https?_.*", "http"),
            ("ab*c", "a"),
            ("ab+c", "a"),
            ("ab{2}", "a"),
            ("a|b", ""),
            ("http_.*|go_.*", ""),
            ("(http|go)_.*", ""),
            ("[hg]ttp_.*", ""),
            ("http_[ab]|x", ""),
            ("http_[|]x", ""),
            ("(?i)http_.*", ""),
            ("^http_.*", ""),
            ("http\\.x", "http"),
            ("http\\|x", "http"),
            (".*_total", ""),
            ("", ""),
        ] {
            assert_eq!(literal_prefix(pattern), prefix, "{pattern}");
            let full = Regex::new(&format!("^(?:{pattern})$")).unwrap();
            for name in [
                "http_",
                "http_x",
                "http_get_total",
                "https_x",
                "ac",
                "abbc",
                "abb",
                "a",
                "b",
                "go_x",
                "gttp_x",
                "x",
                "HTTP_X",
                "http.x",
                "http|x",
                "http_|x",
                "",
            ] {
                if full.is_match(name) {
                    assert!(name.starts_with(prefix), "{pattern} matches {name}");
                }
            }
        }
    }
}
