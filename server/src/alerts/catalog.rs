//! The evaluator's copy of the catalog, per metric name: the series of a metric read once and
//! shared by every rule on it. A thousand rules on one metric, one per series, would otherwise
//! each read all of its series to find their own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::SeriesKey;
use app::query::{Aggregation, Selector};

use crate::storage::query::{QueryError, Resolved};
use crate::storage::{SeriesId, Store};

/// How long a metric's series are used without reading them again. A new series of the
/// metric drops them at once (its change notice names it); this bounds how long a series
/// removed from the catalog is still read.
const KEPT_FOR: Duration = Duration::from_secs(10);

struct Entry {
    at: Instant,
    ids: HashSet<SeriesId, foldhash::fast::RandomState>,
    series: Arc<Vec<(SeriesId, SeriesKey)>>,
}

#[derive(Default)]
struct Names {
    kept: HashMap<String, Entry>,
    /// Metrics being read now.
    reading: HashSet<String>,
    /// Metrics being read now of which a series changed meanwhile: what is being read may
    /// lack it, so it is used once and not kept.
    changed: HashSet<String>,
}

/// The series of each metric, as last read.
#[derive(Default)]
pub struct Catalog {
    names: Mutex<Names>,
    /// Held while a metric's series are read, so that rules asking together read once.
    reading: tokio::sync::Mutex<()>,
}

impl Catalog {
    /// Series of these metrics (names and ids) changed: an unknown one drops its metric's
    /// copy.
    pub fn saw<'a>(&self, series: impl Iterator<Item = (&'a str, &'a SeriesId)>) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for (name, id) in series {
            if names.reading.contains(name) {
                names.changed.insert(name.to_owned());
            }
            if names
                .kept
                .get(name)
                .is_some_and(|entry| !entry.ids.contains(id))
            {
                names.kept.remove(name);
            }
        }
    }

    /// Drops every copy (change notices may have been missed).
    pub fn forget(&self) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.kept.clear();
        let reading: Vec<String> = names.reading.iter().cloned().collect();
        names.changed.extend(reading);
    }

    fn kept(&self, name: &str) -> Option<Arc<Vec<(SeriesId, SeriesKey)>>> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names
            .kept
            .get(name)
            .filter(|entry| entry.at.elapsed() < KEPT_FOR)
            .map(|entry| entry.series.clone())
    }

    /// Reads the series of metric `name`, and keeps them unless one changed meanwhile.
    async fn read(
        &self,
        store: &Store,
        name: &str,
    ) -> Result<Arc<Vec<(SeriesId, SeriesKey)>>, QueryError> {
        let started = Instant::now();
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reading
            .insert(name.to_owned());
        let read = async {
            let ids = store.ids_of_name(name).await?;
            Ok::<_, QueryError>(Arc::new(store.series_of(&ids).await?))
        }
        .await;
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.reading.remove(name);
        let changed = names.changed.remove(name);
        let series = read?;
        if !changed {
            names.kept.insert(
                name.to_owned(),
                Entry {
                    at: started,
                    ids: series.iter().map(|(id, _)| id.clone()).collect(),
                    series: series.clone(),
                },
            );
        }
        Ok(series)
    }

    /// The series `selector` matches, checked against `aggregation`: among the metric's
    /// series when the selector names one metric, by the catalog's indexes otherwise.
    ///
    /// # Errors
    /// As [`Store::resolve`].
    pub async fn resolve(
        &self,
        store: &Store,
        selector: &Selector,
        aggregation: Aggregation,
    ) -> Result<Resolved, QueryError> {
        let Some(name) = selector.fixed_name() else {
            return store.resolve(selector, aggregation).await;
        };
        let series = match self.kept(name) {
            Some(series) => series,
            None => {
                let _reading = self.reading.lock().await;
                match self.kept(name) {
                    Some(series) => series,
                    None => self.read(store, name).await?,
                }
            }
        };
        store
            .resolve_among(selector, aggregation, &series, false)
            .await
    }
}
