//! What a write may store, decided before anything of it is sent: values within
//! [`MAX_ABS_VALUE`], new series within the cardinality caps ([`SeriesLimits`]), and, for items
//! of several observations, series of the kind they already have. Each decision is per item (an
//! event with its two series, a line of line protocol with one series per field): an item
//! refused for one of its observations is refused whole, so that a refusal never leaves part
//! of it stored.
//!
//! The write script still refuses a series of another kind by itself, atomically per series;
//! for an item of one observation that is all-or-nothing already. For items of several, the
//! kinds are read first (those this process has not written yet), in the round trip that
//! counts series for the caps. Between that read and the write, another process could create
//! one of those series with another kind; only then could an item be stored in part.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use app::model::{MetricKind, Observation, Observed, SeriesKey};

use super::{SeriesId, SeriesLimits, StorageError, Store};
use crate::storage::slots::Batch;

/// Largest magnitude of a value livedash stores. Sums of any realistic number of such values
/// (a counter's running total, a bucket's sum, a sum across series) stay far below `f64::MAX`,
/// so no aggregate of finite inputs becomes infinite. Ingest refuses larger values (rather than
/// clamping them, so that what is stored is what was sent), and [`Store::write_now`] refuses
/// any that reach it another way.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// One series' observations in a write: (series, kind), its id, their indices.
pub(super) type SeriesGroup<'a> = ((&'a SeriesKey, MetricKind), SeriesId, Vec<usize>);

/// A metric kind from its stored name.
pub(super) fn kind_named(name: &str) -> Option<MetricKind> {
    [
        MetricKind::Gauge,
        MetricKind::Counter,
        MetricKind::Histogram,
        MetricKind::Set,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == name)
}

/// Why a series does not take samples of `kind`.
pub(super) fn kind_refusal(series: &SeriesKey, stored: &str, kind: MetricKind) -> String {
    format!(
        "series {series} is a {stored}; this sample is a {}",
        kind.as_str()
    )
}

/// What is known of the series a write names: counts for the caps, stored kinds.
#[derive(Default)]
struct Lookup {
    /// Of the series new to this process, those not in the catalog either.
    brand_new: BTreeSet<usize>,
    /// Series in all.
    total: usize,
    /// Series per metric name.
    per_name: HashMap<String, usize>,
    /// Stored kinds of the series whose kind was read, by group.
    kinds: HashMap<usize, Option<String>>,
}

impl Store {
    /// The items of a write that must be refused, by item id, with the reason. `items[i]` is
    /// the item of `observations[i]` (an index below `observations.len()`); `groups` are the
    /// write's series, and `unregistered` the groups (by index) whose series this process has
    /// not written before.
    pub(super) async fn refused_items(
        &self,
        observations: &[Observation],
        items: &[usize],
        groups: &[SeriesGroup<'_>],
        unregistered: &[usize],
    ) -> Result<HashMap<usize, String>, StorageError> {
        let mut refused: HashMap<usize, String> = HashMap::new();
        for (index, observation) in observations.iter().enumerate() {
            if let Observed::Number(value) | Observed::Change(value) = observation.value
                && !(value.is_finite() && value.abs() <= MAX_ABS_VALUE)
            {
                refused.entry(items[index]).or_insert_with(|| {
                    format!(
                        "value {value:e} is beyond ±{MAX_ABS_VALUE:e}, the largest magnitude \
                         livedash stores"
                    )
                });
            }
        }
        let mut sizes = vec![0_u32; observations.len()];
        for &item in items {
            sizes[item] = sizes[item].saturating_add(1);
        }
        // Series of items of several observations, and those whose kind this process does not
        // know (to be read).
        let known = self.known_kinds(groups.iter().map(|(_, id, _)| id));
        let shared: Vec<usize> = groups
            .iter()
            .enumerate()
            .filter(|(_, (_, _, indices))| indices.iter().any(|&i| sizes[items[i]] > 1))
            .map(|(group, _)| group)
            .collect();
        let kind_unknown: Vec<usize> = shared
            .iter()
            .copied()
            .filter(|&group| known[group].is_none())
            .collect();
        let capped = self.series_limits != SeriesLimits::default() && !unregistered.is_empty();
        if shared.is_empty() && !capped {
            return Ok(refused);
        }
        let lookup = self
            .look_up(groups, &kind_unknown, capped.then_some(unregistered))
            .await?;

        // Kinds: a series keeps the kind it was first written with; in this write, that of its
        // first group unless it is stored or known.
        let mut expected: HashMap<&SeriesId, &str> = HashMap::new();
        for (group, ((_, kind), id, _)) in groups.iter().enumerate() {
            let stored = match (&known[group], lookup.kinds.get(&group)) {
                (Some(kind), _) => Some(kind.as_str()),
                (None, Some(Some(stored))) => Some(stored.as_str()),
                _ => None,
            };
            expected
                .entry(id)
                .or_insert_with(|| stored.unwrap_or(kind.as_str()));
        }
        for &group in &shared {
            let ((series, kind), id, indices) = &groups[group];
            let stored = expected[id];
            if stored != kind.as_str() {
                let reason = kind_refusal(series, stored, *kind);
                for &index in indices {
                    refused
                        .entry(items[index])
                        .or_insert_with(|| reason.clone());
                }
            }
        }

        if capped {
            self.apply_series_limits(items, groups, &lookup, &mut refused);
        }
        Ok(refused)
    }

    /// Admits new series item by item, in the order items came: an item whose new series do
    /// not all fit under the caps is refused, and makes none of them.
    fn apply_series_limits(
        &self,
        items: &[usize],
        groups: &[SeriesGroup<'_>],
        lookup: &Lookup,
        refused: &mut HashMap<usize, String>,
    ) {
        let limits = self.series_limits;
        // The brand new series each item needs, by group; items in the order they came (an
        // item's id is the index of one of its observations).
        let mut needs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &group in &lookup.brand_new {
            for &index in &groups[group].2 {
                let wanted = needs.entry(items[index]).or_default();
                if wanted.last() != Some(&group) {
                    wanted.push(group);
                }
            }
        }
        let mut total = lookup.total;
        let mut per_name = lookup.per_name.clone();
        let mut created: BTreeSet<&SeriesId> = BTreeSet::new();
        for (item, mut wanted) in needs {
            if refused.contains_key(&item) {
                continue;
            }
            wanted.sort_unstable();
            wanted.dedup();
            wanted.retain(|&group| !created.contains(&groups[group].1));
            let mut new_total = total;
            let mut new_per_name: HashMap<&str, usize> = HashMap::new();
            let mut refusal = None;
            let mut counted: HashSet<&SeriesId> = HashSet::new();
            for &group in &wanted {
                if !counted.insert(&groups[group].1) {
                    continue;
                }
                let series = groups[group].0.0;
                let of_name = new_per_name
                    .entry(series.name.as_str())
                    .or_insert_with(|| per_name.get(&series.name).copied().unwrap_or(0));
                if let Some(max) = limits.total
                    && new_total >= max
                {
                    refusal = Some(format!(
                        "series {series} was not created: livedash holds {total} series, the \
                         most LIVEDASH_MAX_SERIES allows"
                    ));
                    break;
                }
                if let Some(max) = limits.per_metric
                    && *of_name >= max
                {
                    refusal = Some(format!(
                        "series {series} was not created: metric {} has {} series, the most \
                         LIVEDASH_MAX_SERIES_PER_METRIC allows (a label with unbounded values, \
                         such as a user or request id, is the usual cause)",
                        series.name,
                        per_name.get(&series.name).copied().unwrap_or(0)
                    ));
                    break;
                }
                new_total += 1;
                *of_name += 1;
            }
            match refusal {
                Some(reason) => {
                    refused.insert(item, reason);
                }
                None => {
                    total = new_total;
                    for (name, count) in new_per_name {
                        per_name.insert(name.to_owned(), count);
                    }
                    created.extend(wanted.iter().map(|&group| &groups[group].1));
                }
            }
        }
    }

    /// One round trip: the stored kinds of the `kind_unknown` groups' series and, for the caps,
    /// which `unregistered` series the catalog lacks and how many series there are in all and
    /// per name.
    async fn look_up(
        &self,
        groups: &[SeriesGroup<'_>],
        kind_unknown: &[usize],
        unregistered: Option<&[usize]>,
    ) -> Result<Lookup, StorageError> {
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for &group in kind_unknown {
            batch
                .cmd("HGET", &self.keys.meta(&groups[group].1))
                .arg("kind");
        }
        let unregistered = unregistered.unwrap_or_default();
        if kind_unknown.is_empty() && unregistered.is_empty() {
            return Ok(Lookup::default());
        }
        let names: BTreeSet<&str> = unregistered
            .iter()
            .map(|&group| groups[group].0.0.name.as_str())
            .collect();
        if !unregistered.is_empty() {
            let stored = batch.cmd("HMGET", &self.keys.catalog());
            for &group in unregistered {
                stored.arg(groups[group].1.as_str());
            }
            batch.cmd("HLEN", &self.keys.catalog());
            for name in &names {
                batch.cmd("SCARD", &self.keys.name_index(name));
            }
        }
        let replies: Vec<redis::Value> = batch.query(&connection).await?;
        let corrupt = |error: redis::ParsingError| StorageError::Corrupt {
            key: self.keys.catalog(),
            reason: format!("reading series before a write: {error}"),
        };
        let mut lookup = Lookup::default();
        let (kinds, counts) = replies.split_at(kind_unknown.len().min(replies.len()));
        for (&group, kind) in kind_unknown.iter().zip(kinds) {
            let kind: Option<String> = redis::from_redis_value_ref(kind).map_err(corrupt)?;
            lookup.kinds.insert(group, kind);
        }
        if let [stored, total, per_name @ ..] = counts {
            let stored: Vec<Option<String>> =
                redis::from_redis_value_ref(stored).map_err(corrupt)?;
            lookup.total = redis::from_redis_value_ref(total).map_err(corrupt)?;
            for (name, count) in names.iter().zip(per_name) {
                let count: usize = redis::from_redis_value_ref(count).map_err(corrupt)?;
                lookup.per_name.insert((*name).to_owned(), count);
            }
            let mut new: HashSet<&SeriesId> = HashSet::new();
            for (&group, stored) in unregistered.iter().zip(stored) {
                if stored.is_none() {
                    new.insert(&groups[group].1);
                }
            }
            // A series with two kinds in one write has two groups; both need it made.
            lookup.brand_new = groups
                .iter()
                .enumerate()
                .filter(|(_, (_, id, _))| new.contains(id))
                .map(|(group, _)| group)
                .collect();
        }
        Ok(lookup)
    }
}
