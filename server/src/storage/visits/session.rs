//! One user's visits, as pure logic: how an event joins, extends, merges or starts a visit,
//! and what that changes in the counts of the minute and the hour each visit started in.
//!
//! A user's visits of the last hours are kept as a list: start `s`, end `e`, page views `pv`,
//! engaged `g` (any event other than a page view), entry page `en` at `ent`, exit page `ex` at
//! `ext`, and the first event's dimensions `d` (joined by tabs) at `ds`. An event within the
//! timeout of a visit joins it; one between two visits, within the timeout of both, joins them
//! into one. When an event changes a visit, the visit's old counts are taken back and its new
//! ones added; an event that only moves the end and the exit (the usual page view) changes a
//! handful of counts by differences.

use std::collections::HashMap;

use app::events::{Event, PAGE_VIEW};
use serde::{Deserialize, Serialize};

/// The dimensions counted per visit, from its first event, in the order of a visit's `d`
/// (each an event property of the same name, `referrer_host` counted as `referrer`).
pub const DIMENSIONS: [&str; 11] = [
    "channel",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "os",
    "device",
    "visitor",
];

/// The count buckets: the letter in their keys and their width, ms.
pub const TIERS: [(&str, i64); 2] = [("m", 60_000), ("h", 3_600_000)];

/// The numbers counted per bucket, in the order of [`Numbers`].
pub const NUMBERS: [&str; 4] = ["visits", "pageviews", "duration", "bounces"];

/// One visit, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub s: i64,
    pub e: i64,
    pub pv: i64,
    pub g: i64,
    pub en: String,
    pub ent: i64,
    pub ex: String,
    pub ext: i64,
    pub d: String,
    pub ds: i64,
}

/// One event of a user, as visits see it.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub ts: i64,
    /// A page view (anything else is engagement).
    pub page: bool,
    pub path: &'a str,
    /// The event's values of [`DIMENSIONS`], joined by tabs.
    pub dimensions: String,
}

/// A bucket: its tier (an index into [`TIERS`]) and start.
pub type Bucket = (usize, i64);
/// Changes of [`NUMBERS`] in one bucket.
pub type Numbers = [i64; 4];

/// What a batch changes in the counts, summed over its users.
#[derive(Debug, Default)]
pub struct Deltas {
    pub numbers: HashMap<Bucket, Numbers>,
    /// Per bucket and ranked dimension (`entry`, `exit` or one of [`DIMENSIONS`]): each value's
    /// change.
    pub ranks: HashMap<(Bucket, &'static str), HashMap<String, i64>>,
    /// The change in the number of visits (in any bucket): what a user's part of it is, read
    /// before and after their events.
    pub visits: i64,
}

/// The bucket of `tier` that `ts` falls in.
pub fn bucket(tier: usize, ts: i64) -> Bucket {
    (tier, ts - ts.rem_euclid(TIERS[tier].1))
}

/// 1 when `visit` bounced (at most one page view, no engagement), else 0.
pub fn bounce(visit: &Visit) -> i64 {
    i64::from(visit.pv <= 1 && visit.g == 0)
}

impl Deltas {
    fn rank(&mut self, at: Bucket, dimension: &'static str, value: &str, sign: i64) {
        if value.is_empty() || sign == 0 {
            return;
        }
        let values = self.ranks.entry((at, dimension)).or_default();
        match values.get_mut(value) {
            Some(count) => *count += sign,
            None => {
                values.insert(value.to_owned(), sign);
            }
        }
    }

    /// Counts a page view of `path` at `ts` in the `page` ranking of its buckets: pages are
    /// ranked by when they were viewed, not by their visit's start.
    pub fn page_view(&mut self, ts: i64, path: &str) {
        for tier in 0..TIERS.len() {
            self.rank(bucket(tier, ts), "page", path, 1);
        }
    }

    /// Adds (`sign` 1) or takes back (-1) all of `visit`'s counts.
    fn count(&mut self, visit: &Visit, sign: i64) {
        self.visits += sign;
        for tier in 0..TIERS.len() {
            let at = bucket(tier, visit.s);
            let numbers = self.numbers.entry(at).or_default();
            numbers[0] += sign;
            numbers[1] += sign * visit.pv;
            numbers[2] += sign * (visit.e - visit.s);
            numbers[3] += sign * bounce(visit);
            self.rank(at, "entry", &visit.en, sign);
            self.rank(at, "exit", &visit.ex, sign);
            for (dimension, value) in DIMENSIONS.into_iter().zip(visit.d.split('\t')) {
                self.rank(at, dimension, value, sign);
            }
        }
    }

    /// `old` became `new`: by differences when its start and first event stayed.
    fn change(&mut self, old: &Visit, new: &Visit) {
        if old.s != new.s || old.ds != new.ds {
            self.count(old, -1);
            self.count(new, 1);
            return;
        }
        for tier in 0..TIERS.len() {
            let at = bucket(tier, new.s);
            let numbers = self.numbers.entry(at).or_default();
            numbers[1] += new.pv - old.pv;
            numbers[2] += (new.e - new.s) - (old.e - old.s);
            numbers[3] += bounce(new) - bounce(old);
            if old.en != new.en {
                self.rank(at, "entry", &old.en, -1);
                self.rank(at, "entry", &new.en, 1);
            }
            if old.ex != new.ex {
                self.rank(at, "exit", &old.ex, -1);
                self.rank(at, "exit", &new.ex, 1);
            }
        }
    }

    /// Drops the changes that cancelled out.
    pub fn prune(&mut self) {
        self.numbers
            .retain(|_, numbers| numbers.iter().any(|n| *n != 0));
        self.ranks.retain(|_, values| {
            values.retain(|_, delta| *delta != 0);
            !values.is_empty()
        });
    }
}

/// `a` and `b` as one visit; ties go to `b` (the one recorded first).
fn merge(a: Visit, b: &Visit) -> Visit {
    let (en, ent) = if !b.en.is_empty() && (a.en.is_empty() || b.ent <= a.ent) {
        (b.en.clone(), b.ent)
    } else {
        (a.en, a.ent)
    };
    let (ex, ext) = if !b.ex.is_empty() && (a.ex.is_empty() || b.ext >= a.ext) {
        (b.ex.clone(), b.ext)
    } else {
        (a.ex, a.ext)
    };
    let (d, ds) = if b.ds <= a.ds {
        (b.d.clone(), b.ds)
    } else {
        (a.d, a.ds)
    };
    Visit {
        s: a.s.min(b.s),
        e: a.e.max(b.e),
        pv: a.pv + b.pv,
        g: a.g.max(b.g),
        en,
        ent,
        ex,
        ext,
        d,
        ds,
    }
}

/// Moves `visits` (one user's) through `hits` (in time order) and notes what changes in
/// `deltas`. Events more than `horizon` older than the user's latest count as visits of their
/// own; visits that ended longer ago than that are forgotten. Answers the user's latest event.
pub fn advance(
    visits: &mut Vec<Visit>,
    hits: &[Hit<'_>],
    timeout: i64,
    horizon: i64,
    deltas: &mut Deltas,
) -> i64 {
    let mut latest = visits.iter().map(|v| v.e).max().unwrap_or(0);
    for hit in hits {
        let path = if hit.page { hit.path } else { "" };
        let mut visit = Visit {
            s: hit.ts,
            e: hit.ts,
            pv: i64::from(hit.page),
            g: i64::from(!hit.page),
            en: path.to_owned(),
            ent: hit.ts,
            ex: path.to_owned(),
            ext: hit.ts,
            d: hit.dimensions.clone(),
            ds: hit.ts,
        };
        if hit.ts < latest - horizon {
            deltas.count(&visit, 1);
            continue;
        }
        let (joined, mut kept): (Vec<Visit>, Vec<Visit>) = std::mem::take(visits)
            .into_iter()
            .partition(|old| hit.ts >= old.s - timeout && hit.ts <= old.e + timeout);
        for old in &joined {
            visit = merge(visit, old);
        }
        if let [old] = joined.as_slice() {
            deltas.change(old, &visit);
        } else {
            for old in &joined {
                deltas.count(old, -1);
            }
            deltas.count(&visit, 1);
        }
        latest = latest.max(visit.e);
        kept.push(visit);
        *visits = kept;
    }
    visits.retain(|v| v.e >= latest - horizon - timeout);
    latest
}

/// A user's page events in time order, as visits see them.
pub fn hits_of<'a>(events: &[&'a Event]) -> Vec<Hit<'a>> {
    let mut events = events.to_vec();
    events.sort_by_key(|event| event.ts);
    events
        .into_iter()
        .map(|event| Hit {
            ts: event.ts,
            page: event.event == PAGE_VIEW,
            path: event.properties.get("path").map_or("", String::as_str),
            dimensions: dimensions(event),
        })
        .collect()
}

/// `event`'s values of [`DIMENSIONS`], joined by tabs (a tab in a value becomes a space).
fn dimensions(event: &Event) -> String {
    let mut joined = String::new();
    for (index, dimension) in DIMENSIONS.into_iter().enumerate() {
        if index > 0 {
            joined.push('\t');
        }
        let property = if dimension == "referrer" {
            "referrer_host"
        } else {
            dimension
        };
        if let Some(value) = event.properties.get(property) {
            joined.extend(value.chars().map(|c| if c == '\t' { ' ' } else { c }));
        }
    }
    joined
}

#[cfg(test)]
mod tests;
