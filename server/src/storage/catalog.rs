//! The catalog, for pickers and autocomplete: metric names by prefix, the series of a selector,
//! and the label names and values they use. Every listing is bounded and paginated, and none
//! uses `KEYS`: names come from a lexicographically sorted set, series from per-name sets.

use std::collections::{BTreeMap, BTreeSet};

use app::model::SeriesKey;
use app::query::Selector;
use serde::Serialize;

use super::query::{CompiledSelector, QueryError};
use super::{SeriesId, StorageError, Store};

/// Most entries one catalog answer holds.
pub const MAX_CATALOG_LIMIT: usize = 1_000;
/// Most series of one metric the label listing reads.
pub const MAX_LABEL_SCAN: usize = 10_000;

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
        let mut ids: Vec<SeriesId> = self.ids_of_name(&selector.name).await?;
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
}
