//! What this process remembers of series that never changes while they exist: the name and
//! labels of an id (the id is a hash of them, and catalog entries are never removed), and a
//! series' kind (fixed while its meta hash lives; remembered for minutes, as a series that
//! expired whole may come back as another kind). Each query and live feed start would otherwise
//! read the catalog hash, one key on one Redis node, and every series' meta hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::model::{MetricKind, SeriesKey};

use super::keys::SeriesId;

/// Entries kept of each kind before the oldest half is forgotten.
const MAX_ENTRIES: usize = 200_000;
/// How long a series' kind is trusted.
const KIND_TTL: Duration = Duration::from_secs(300);

/// The caches (see the module).
#[derive(Default)]
pub(super) struct SeriesCache {
    keys: Mutex<HashMap<SeriesId, SeriesKey>>,
    kinds: Mutex<HashMap<SeriesId, (MetricKind, Instant)>>,
}

impl SeriesCache {
    /// The series of each of `ids` that is known, and the ids that are not.
    pub(super) fn keys_of(&self, ids: &[SeriesId]) -> (Vec<(SeriesId, SeriesKey)>, Vec<SeriesId>) {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = Vec::with_capacity(ids.len());
        let mut unknown = Vec::new();
        for id in ids {
            match keys.get(id) {
                Some(key) => known.push((id.clone(), key.clone())),
                None => unknown.push(id.clone()),
            }
        }
        (known, unknown)
    }

    pub(super) fn remember_keys(&self, found: &[(SeriesId, SeriesKey)]) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() + found.len() > MAX_ENTRIES {
            keys.clear();
        }
        keys.extend(found.iter().cloned());
    }

    /// The kind of each of `ids`, where known and fresh.
    pub(super) fn kinds_of<'a>(
        &self,
        ids: impl Iterator<Item = &'a SeriesId>,
    ) -> Vec<Option<MetricKind>> {
        let kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        ids.map(|id| {
            kinds
                .get(id)
                .filter(|(_, at)| at.elapsed() < KIND_TTL)
                .map(|(kind, _)| *kind)
        })
        .collect()
    }

    pub(super) fn remember_kinds(&self, found: impl Iterator<Item = (SeriesId, MetricKind)>) {
        let now = Instant::now();
        let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        if kinds.len() > MAX_ENTRIES {
            kinds.retain(|_, (_, at)| at.elapsed() < KIND_TTL);
            if kinds.len() > MAX_ENTRIES / 2 {
                kinds.clear();
            }
        }
        kinds.extend(found.map(|(id, kind)| (id, (kind, now))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known series come from the cache, the others are named for reading.
    #[test]
    fn known_and_unknown() {
        let cache = SeriesCache::default();
        let a = SeriesKey::new("a");
        let (id_a, id_b) = (SeriesId::of(&a), SeriesId::of(&SeriesKey::new("b")));
        cache.remember_keys(&[(id_a.clone(), a.clone())]);
        let (known, unknown) = cache.keys_of(&[id_a.clone(), id_b.clone()]);
        assert_eq!(known, vec![(id_a.clone(), a)]);
        assert_eq!(unknown, vec![id_b.clone()]);
        cache.remember_kinds([(id_b.clone(), MetricKind::Counter)].into_iter());
        assert_eq!(
            cache.kinds_of([&id_a, &id_b].into_iter()),
            vec![None, Some(MetricKind::Counter)]
        );
    }
}
