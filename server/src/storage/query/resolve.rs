//! Resolving a selector: the series it matches, checked against the aggregation.

use app::model::{MetricKind, SeriesKey};
use app::query::{Aggregation, Selector};

use super::compile::CompiledSelector;
use super::error::{MAX_QUERY_SERIES, QueryError};
use crate::storage::slots::Batch;
use crate::storage::{SeriesId, StorageError, Store};

/// The series a selector matches, with their common kind: resolved once, read many times
/// (a live subscription reads the same series every frame).
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Matching series, sorted.
    pub series: Vec<(SeriesId, SeriesKey)>,
    /// Their kind (gauge when there are none).
    pub kind: MetricKind,
    /// Whether the selector's name was a `__name__` pattern, so that the series may be of
    /// several metrics: then each line names its metric with a `__name__` label.
    pub by_name: bool,
}

impl Store {
    /// The series `selector` matches, checked against `aggregation`.
    ///
    /// # Errors
    /// A bad regular expression, too many series, a kind the aggregation does not apply to,
    /// or storage failed.
    pub async fn resolve(
        &self,
        selector: &Selector,
        aggregation: Aggregation,
    ) -> Result<Resolved, QueryError> {
        let (ids, by_name) = self.ids_of_selector(selector).await?;
        let candidates = self.series_of(&ids).await?;
        self.resolve_among(selector, aggregation, &candidates, by_name)
            .await
    }

    /// [`Store::resolve`] among `candidates`, every series the selector's name could mean
    /// (the caller's copy of the catalog, shared by many selectors of one metric).
    ///
    /// # Errors
    /// As [`Store::resolve`].
    pub async fn resolve_among(
        &self,
        selector: &Selector,
        aggregation: Aggregation,
        candidates: &[(SeriesId, SeriesKey)],
        by_name: bool,
    ) -> Result<Resolved, QueryError> {
        let compiled = CompiledSelector::new(selector)?;
        let mut series: Vec<(SeriesId, SeriesKey)> = candidates
            .iter()
            .filter(|(_, key)| compiled.matches(key))
            .cloned()
            .collect();
        if series.len() > MAX_QUERY_SERIES {
            return Err(QueryError::TooManySeries {
                matched: series.len(),
            });
        }
        series.sort_by(|a, b| a.1.cmp(&b.1));
        let kinds = self.kinds(&series).await?;
        let kind = check_kinds(aggregation, &series, &kinds)?;
        // The latest value of a line is read by its kind (a counter's is its running total),
        // and one query has one kind: a `__name__` pattern asking for it must not mix kinds.
        if by_name
            && matches!(aggregation, Aggregation::Last)
            && let Some(((_, other), other_kind)) = series
                .iter()
                .zip(&kinds)
                .find(|(_, other_kind)| **other_kind != kind)
        {
            return Err(QueryError::BadSelector(format!(
                "the selector matches metrics of different kinds: {} is a {}, {other} a {}; \
                 the latest value needs one kind: narrow the __name__ matcher",
                series[0].1,
                kind.as_str(),
                other_kind.as_str()
            )));
        }
        Ok(Resolved {
            series,
            kind,
            by_name,
        })
    }

    async fn kinds(
        &self,
        series: &[(SeriesId, SeriesKey)],
    ) -> Result<Vec<MetricKind>, StorageError> {
        if series.is_empty() {
            return Ok(Vec::new());
        }
        // Kinds this process wrote, or read lately, are not read again.
        let mut kinds = self.cache.kinds_of(series.iter().map(|(id, _)| id));
        for (kind, written) in kinds
            .iter_mut()
            .zip(self.known_kinds(series.iter().map(|(id, _)| id)))
        {
            *kind = kind.or(written);
        }
        let unknown: Vec<usize> = (0..series.len()).filter(|&i| kinds[i].is_none()).collect();
        if !unknown.is_empty() {
            let connection = self.connection();
            let mut batch = Batch::new(&connection);
            for &index in &unknown {
                batch
                    .cmd("HGET", &self.keys.meta(&series[index].0))
                    .arg("kind");
            }
            let names: Vec<Option<String>> = batch.query(&connection).await?;
            let mut read = Vec::new();
            for (&index, name) in unknown.iter().zip(names) {
                let Some(kind) = name.as_deref().and_then(MetricKind::parse) else {
                    // No meta hash (yet): a gauge for now, and asked again next time.
                    kinds[index] = Some(MetricKind::Gauge);
                    continue;
                };
                kinds[index] = Some(kind);
                read.push((series[index].0.clone(), kind));
            }
            self.cache.remember_kinds(read.into_iter());
        }
        Ok(kinds
            .into_iter()
            .map(|kind| kind.unwrap_or(MetricKind::Gauge))
            .collect())
    }
}

/// Checks the aggregation fits every series' kind; returns the kind (the first series', or
/// gauge when there are none).
fn check_kinds(
    aggregation: Aggregation,
    series: &[(SeriesId, SeriesKey)],
    kinds: &[MetricKind],
) -> Result<MetricKind, QueryError> {
    let (name, allowed): (&'static str, &[MetricKind]) = match aggregation {
        Aggregation::Rate => ("rate", &[MetricKind::Counter]),
        Aggregation::Quantile { .. } => ("a quantile", &[MetricKind::Histogram]),
        Aggregation::Unique => ("a unique count", &[MetricKind::Set]),
        _ => (
            "this aggregation",
            &[
                MetricKind::Gauge,
                MetricKind::Counter,
                MetricKind::Histogram,
            ],
        ),
    };
    for ((_, key), kind) in series.iter().zip(kinds) {
        if !allowed.contains(kind) {
            return Err(QueryError::KindMismatch {
                aggregation: name,
                series: key.to_string(),
                kind: kind.as_str(),
            });
        }
    }
    Ok(kinds.first().copied().unwrap_or_default())
}
