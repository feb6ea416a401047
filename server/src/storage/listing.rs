//! Listings: the series of a metric, and every series' current value.

use app::api::{MAX_LISTED_SERIES, ValueListing};
use app::model::{CurrentValue, MetricKind, SeriesKey};

use super::error::StorageError;
use super::keys::SeriesId;
use super::slots::Batch;
use super::store::Store;

/// How many catalog entries one `HSCAN` step asks for.
const CATALOG_SCAN_COUNT: usize = 1000;

impl Store {
    /// The catalog entries of `ids` (series that are not in the catalog are left out), in
    /// the order of `ids`. Entries read once are remembered: they never change.
    ///
    /// # Errors
    /// Redis failed, or holds a catalog entry livedash did not write.
    pub async fn series_of(
        &self,
        ids: &[SeriesId],
    ) -> Result<Vec<(SeriesId, SeriesKey)>, StorageError> {
        let (known, unknown) = self.cache.keys_of(ids);
        if unknown.is_empty() {
            return Ok(known);
        }
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HMGET");
        command.arg(self.keys.catalog());
        for id in &unknown {
            command.arg(id.as_str());
        }
        let entries: Vec<Option<String>> = command.query_async(&mut connection).await?;
        let mut read = Vec::with_capacity(unknown.len());
        for (id, entry) in unknown.into_iter().zip(entries) {
            if let Some(json) = entry {
                let key = self.parse_catalog_entry(id.as_str(), &json)?;
                read.push((id, key));
            }
        }
        self.cache.remember_keys(&read);
        if known.is_empty() {
            return Ok(read);
        }
        let mut found: std::collections::HashMap<SeriesId, SeriesKey> =
            known.into_iter().chain(read).collect();
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), found.remove(id)?)))
            .collect())
    }

    fn parse_catalog_entry(&self, id: &str, json: &str) -> Result<SeriesKey, StorageError> {
        serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
            key: format!("{} field {id}", self.keys.catalog()),
            reason: error.to_string(),
        })
    }

    /// The ids of every series of metric `name`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn ids_of_name(&self, name: &str) -> Result<Vec<SeriesId>, StorageError> {
        let mut connection = self.connection.clone();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.name_index(name))
            .query_async(&mut connection)
            .await?;
        Ok(ids.into_iter().map(SeriesId::from_stored).collect())
    }

    /// The current value of every series that has one, sorted by series, at most
    /// [`MAX_LISTED_SERIES`].
    ///
    /// # Errors
    /// Redis is unreachable, or holds catalog entries livedash did not write.
    pub async fn current_values(&self) -> Result<ValueListing, StorageError> {
        let mut connection = self.connection.clone();
        let catalog_key = self.keys.catalog();
        let mut series: Vec<(SeriesId, SeriesKey)> = Vec::new();
        let mut cursor: u64 = 0;
        let mut truncated = false;
        loop {
            let (next, entries): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                .arg(&catalog_key)
                .arg(cursor)
                .arg("COUNT")
                .arg(CATALOG_SCAN_COUNT)
                .query_async(&mut connection)
                .await?;
            for (id, json) in entries {
                let key = self.parse_catalog_entry(&id, &json)?;
                series.push((SeriesId::from_stored(id), key));
            }
            cursor = next;
            if series.len() > MAX_LISTED_SERIES {
                truncated = true;
                break;
            }
            if cursor == 0 {
                break;
            }
        }
        // HSCAN may return an entry twice; the catalog is the set of distinct ids.
        series.sort();
        series.dedup_by(|a, b| a.0 == b.0);
        series.sort_by(|a, b| a.1.cmp(&b.1));
        series.truncate(MAX_LISTED_SERIES);

        let mut batch = Batch::new(&connection);
        for (id, _) in &series {
            batch
                .cmd("HMGET", &self.keys.meta(id))
                .arg("ts")
                .arg("v")
                .arg("kind");
        }
        let stored: Vec<(Option<i64>, Option<String>, Option<String>)> = if series.is_empty() {
            Vec::new()
        } else {
            batch.query(&connection).await?
        };
        // A set has no single latest value: it lists its distinct members of the last minutes.
        let now = app::clock::now_ms();
        let recent_minutes: Vec<i64> = (0..app::model::SET_LISTING_MINUTES)
            .map(|back| now - now.rem_euclid(60_000) - back * 60_000)
            .collect();
        // Each series' buckets share its slot: one PFCOUNT counts them.
        let mut distinct = Batch::new(&connection);
        for ((id, _), (_, _, kind)) in series.iter().zip(&stored) {
            if kind.as_deref() == Some(MetricKind::Set.as_str()) {
                let keys: Vec<String> = recent_minutes
                    .iter()
                    .map(|start| self.keys.set_bucket(id, "1m", *start))
                    .collect();
                distinct.routed_by("PFCOUNT", &keys[0]).arg(keys);
            }
        }
        let mut distinct: std::vec::IntoIter<u64> = if distinct.is_empty() {
            Vec::new().into_iter()
        } else {
            distinct.query::<Vec<u64>>(&connection).await?.into_iter()
        };
        let mut values = Vec::with_capacity(series.len());
        for ((id, key), (ts, value, kind)) in series.into_iter().zip(stored) {
            let kind = kind.as_deref().and_then(MetricKind::parse);
            if kind == Some(MetricKind::Set) {
                let count = distinct.next().unwrap_or_default();
                values.push(CurrentValue {
                    series: key,
                    value: count as f64,
                    ts: now,
                    kind,
                });
                continue;
            }
            let (Some(ts), Some(value)) = (ts, value) else {
                continue;
            };
            let value = value
                .parse::<f64>()
                .map_err(|error| StorageError::Corrupt {
                    key: self.keys.meta(&id),
                    reason: format!("field v: {error}"),
                })?;
            values.push(CurrentValue {
                series: key,
                value,
                ts,
                kind,
            });
        }
        Ok(ValueListing { values, truncated })
    }
}
