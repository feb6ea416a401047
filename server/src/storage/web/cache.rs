//! What this process remembers for web analytics: the salt of the day, the sites registered,
//! and of its users (until one is deleted, see `storage::people`): that the filter of users
//! seen has all their bits, their retention record (the id never changes; the first event only
//! moves earlier, and a move compares with what Redis holds), and the last day and week their
//! activity bits were set for. So a returning user costs neither a `BITFIELD`, a read of their
//! record, nor a bit already set.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::storage::keys::name_hash;
use crate::storage::retention::plan::Record;

/// Users remembered before all are forgotten (each about 150 bytes: some 30 MB at most).
const MAX_USERS: usize = 200_000;

/// What is known of one user on one site.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known {
    pub(crate) seen: bool,
    pub(crate) record: Option<Record>,
    /// The day and the week whose activity bitmaps have the user's bit.
    pub(crate) active: Option<(i64, i64)>,
}

/// The cache (see the module), by site and user.
#[derive(Default)]
pub(crate) struct UserCache {
    users: Mutex<HashMap<(String, String), Known>>,
}

impl UserCache {
    /// What is known of each of `users` on `site`.
    pub(crate) fn get<'a>(
        &self,
        site: &str,
        users: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Known> {
        let known = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = (site.to_owned(), String::new());
        users
            .into_iter()
            .map(|user| {
                user.clone_into(&mut key.1);
                known.get(&key).copied().unwrap_or_default()
            })
            .collect()
    }

    /// Remembers what was learnt of `site`'s users, merged with what is known (another batch
    /// of the same process may have learnt something meanwhile).
    pub(crate) fn learn(&self, site: &str, learnt: &[(&str, Known)]) {
        let mut known = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() + learnt.len() > MAX_USERS {
            known.clear();
        }
        for (user, learnt) in learnt {
            let entry = known
                .entry((site.to_owned(), (*user).to_owned()))
                .or_default();
            entry.seen |= learnt.seen;
            entry.record = match (entry.record, learnt.record) {
                (Some(a), Some(b)) => Some(if b.first < a.first { b } else { a }),
                (a, b) => b.or(a),
            };
            entry.active = entry.active.max(learnt.active);
        }
    }

    /// Forgets, on every site, the user whose id's hash is `member` (what other processes are
    /// told of a deletion: not the id itself).
    pub(crate) fn forget(&self, member: &str) {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, user), _| name_hash(user) != member);
    }
}

/// Sites registered (see `storage::people::sites`) remembered before all are forgotten.
const MAX_SITES: usize = 10_000;

/// The sites this process registered or found registered.
#[derive(Default)]
pub(crate) struct SiteCache(Mutex<HashSet<String>>);

impl SiteCache {
    /// Those of `sites` not known to be registered.
    pub(crate) fn unknown<'a>(&self, sites: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        sites
            .into_iter()
            .filter(|site| !known.contains(*site))
            .map(str::to_owned)
            .collect()
    }

    /// Remembers that `sites` are registered.
    pub(crate) fn learn(&self, sites: Vec<String>) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() + sites.len() > MAX_SITES {
            known.clear();
        }
        known.extend(sites);
    }
}

/// The salt of cookieless ids this process last used, and its day.
#[derive(Default)]
pub(crate) struct SaltCache(Mutex<Option<(i64, [u8; 32])>>);

impl SaltCache {
    pub(crate) fn get(&self, day: i64) -> Option<[u8; 32]> {
        let known = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        known
            .filter(|(known, _)| *known == day)
            .map(|(_, salt)| salt)
    }

    pub(crate) fn set(&self, day: i64, salt: [u8; 32]) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((day, salt));
    }
}
