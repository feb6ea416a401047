//! Whether an event's user was seen before: a Bloom filter per site, kept in Redis bitmaps
//! (stock Redis has no `BF.*`), so each event knows at ingest whether its user is new.
//!
//! The filter is sized from the expected users and the target false-positive rate
//! (`LIVEDASH_EXPECTED_USERS`, `LIVEDASH_NEW_USER_ERROR`) and cut in one part per change-log
//! partition, each under the hash tag of the site's visits in that partition, so no key takes
//! every event on a cluster. One `BITFIELD` per part sets a batch's users' bits and answers
//! their old values, atomically: a user whose bits were all set already was seen, and two
//! processes given the same new user at once cannot both call it new. A false positive calls a new user returning, never the reverse;
//! the rate a filter has reached is measured from its bits set ([`Store::seen_filter`]).

mod shape;

use std::collections::{BTreeSet, HashMap, HashSet};

use app::events::Event;
use futures::future::try_join_all;
use serde::Serialize;

pub use shape::Shape;

use crate::storage::keys::partition_of;
use crate::storage::web::cache::Known;
use crate::storage::{StorageError, Store};
use app::web::SITE_PROPERTY as SITE;

/// The property that says whether an event's user was seen before: `new` or `returning`.
pub const VISITOR_PROPERTY: &str = "visitor";

/// Users per `BITFIELD`.
const USERS_PER_CALL: usize = 500;

/// A site's filter as measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FilterState {
    pub bits: u64,
    pub hashes: u32,
    pub bits_set: u64,
    /// The chance that a new user is taken for a returning one now.
    pub false_positive_rate: f64,
    /// The rate it was sized for, at the expected number of users.
    pub target_rate: f64,
}

fn target_rate(settings: &crate::config::EventSettings) -> f64 {
    f64::from(settings.new_user_error_ppm) / 1e6
}

impl Store {
    fn seen_shape(&self) -> Shape {
        let settings = &self.events.settings;
        Shape::for_users(settings.expected_users, target_rate(settings)).part(self.log.count())
    }

    /// Tells each event whether its user was seen before on its site (the `visitor` property,
    /// `new` or `returning`, where the sender did not set it), and marks them seen. Every event
    /// of a user first seen in this batch is `new`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn mark_visitors(&self, events: &mut [Event]) -> Result<(), StorageError> {
        let partitions = self.log.count();
        let mut groups: HashMap<(&str, usize), BTreeSet<&str>> = HashMap::new();
        for event in events.iter() {
            let site = event.properties.get(SITE).map_or("", String::as_str);
            groups
                .entry((site, partition_of(&event.user_id, partitions)))
                .or_default()
                .insert(&event.user_id);
        }
        let calls = groups.iter().flat_map(|((site, partition), users)| {
            // Users this process saw marked: their bits stay set.
            let known = self.events.users.get(site, users.iter().copied());
            let unknown: Vec<&str> = users
                .iter()
                .zip(known)
                .filter(|(_, known)| !known.seen)
                .map(|(user, _)| *user)
                .collect();
            let chunks: Vec<Vec<&str>> =
                unknown.chunks(USERS_PER_CALL).map(<[_]>::to_vec).collect();
            chunks
                .into_iter()
                .map(move |chunk| self.test_and_set(site, *partition, chunk))
        });
        let mut new: HashSet<(String, String)> = HashSet::new();
        for answers in try_join_all(calls).await? {
            new.extend(
                answers
                    .into_iter()
                    .map(|(s, u)| (s.to_owned(), u.to_owned())),
            );
        }
        for event in events.iter_mut() {
            let site = event.properties.get(SITE).cloned().unwrap_or_default();
            let visitor = if new.contains(&(site, event.user_id.clone())) {
                "new"
            } else {
                "returning"
            };
            event
                .properties
                .entry(VISITOR_PROPERTY.to_owned())
                .or_insert_with(|| visitor.to_owned());
        }
        Ok(())
    }

    /// Sets `users`' bits in `site`'s filter part `partition`; answers those that were new
    /// (not all their bits set before).
    async fn test_and_set<'a>(
        &self,
        site: &'a str,
        partition: usize,
        users: Vec<&'a str>,
    ) -> Result<Vec<(&'a str, &'a str)>, StorageError> {
        let shape = self.seen_shape();
        let mut bitfield = redis::cmd("BITFIELD");
        bitfield.arg(format!("{}seen", self.keys.visits_base(site, partition)));
        let mut counts = Vec::with_capacity(users.len());
        for user in &users {
            // A bit two of the user's hashes share is set once: its second old value would be
            // the first's.
            let mut positions = shape.positions(user);
            positions.sort_unstable();
            positions.dedup();
            counts.push(positions.len());
            for position in positions {
                bitfield.arg("SET").arg("u1").arg(position).arg(1);
            }
        }
        let old: Vec<i64> = bitfield.query_async(&mut self.connection()).await?;
        let mut old = old.into_iter();
        let new: Vec<(&str, &str)> = users
            .iter()
            .zip(counts)
            // Every old bit is taken, so the next user's start where they should.
            .filter(|(_, count)| old.by_ref().take(*count).filter(|bit| *bit == 1).count() < *count)
            .map(|(user, _)| (site, *user))
            .collect();
        let seen = Known {
            seen: true,
            ..Known::default()
        };
        let learnt: Vec<(&str, Known)> = users.iter().map(|user| (*user, seen)).collect();
        self.events.users.learn(site, &learnt);
        Ok(new)
    }

    /// How full `site`'s filter is, and the false-positive rate that gives.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn seen_filter(&self, site: &str) -> Result<FilterState, StorageError> {
        let shape = self.seen_shape();
        let counts = (0..self.log.count()).map(|partition| async move {
            let key = format!("{}seen", self.keys.visits_base(site, partition));
            let set: u64 = redis::cmd("BITCOUNT")
                .arg(key)
                .query_async(&mut self.connection())
                .await?;
            Ok::<_, StorageError>(set)
        });
        let counts = try_join_all(counts).await?;
        let parts = counts.len().max(1) as f64;
        Ok(FilterState {
            bits: shape.bits * counts.len() as u64,
            hashes: shape.hashes,
            bits_set: counts.iter().sum(),
            // Users spread evenly over the parts: the mean of the parts' rates.
            false_positive_rate: counts
                .iter()
                .map(|set| shape.false_positive_rate(*set))
                .sum::<f64>()
                / parts,
            target_rate: target_rate(&self.events.settings),
        })
    }
}
