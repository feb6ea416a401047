//! A batch's users, grouped by site and partition: their visit lists and retention records
//! read, what the batch changes worked out, and written by [`super::script`], again if another
//! writer came in between.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use app::events::Event;
use app::web::{SITE_PROPERTY, URL_PROPERTY};
use futures::future::try_join_all;

use super::cache::Known;
use super::script::APPLY_LUA;
use crate::storage::keys::{name_hash, partition_of};
use crate::storage::retention::plan::{self, Activity, Record, Step};
use crate::storage::retention::{KEPT_MS, Period};
use crate::storage::visits::session::{self, Deltas, Hit, NUMBERS, TIERS, Visit, hits_of};
use crate::storage::visits::{CURRENT_WINDOW_MS, LATENESS_MS, MINUTE_RETENTION_MS};
use crate::storage::{StorageError, Store};

static APPLY: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(APPLY_LUA));

/// Users per script call, so that one call stays brief.
const USERS_PER_CALL: usize = 500;
/// Reads and writes of one group before giving up to other writers.
const ATTEMPTS: usize = 8;

/// A user's events in a batch: the page events (for visits) and all (for retention).
#[derive(Default)]
struct UserBatch<'a> {
    hits: Vec<&'a Event>,
    activity: Activity,
}

/// What was read for a group's users: visit lists (for those with page events) and retention
/// records.
struct Read {
    lists: Vec<Option<String>>,
    records: Vec<Option<String>>,
}

impl Store {
    /// Moves the users of `events` through their visits (page events: with a `site` and a
    /// `url`) and their retention cohorts and activity (every event, per site). Call after the
    /// events themselves were stored.
    ///
    /// Answers each user's change in their number of visits (those it changed), summed over
    /// sites.
    ///
    /// # Errors
    /// Redis failed, or other writers kept changing the same users' data.
    pub async fn record_web<'a>(
        &self,
        events: &'a [Event],
        now_ms: i64,
    ) -> Result<HashMap<&'a str, i64>, StorageError> {
        let partitions = self.log.count();
        let mut groups: HashMap<(&str, usize), BTreeMap<&str, UserBatch>> = HashMap::new();
        for event in events {
            let site = event
                .properties
                .get(SITE_PROPERTY)
                .map_or("", String::as_str);
            let user = groups
                .entry((site, partition_of(&event.user_id, partitions)))
                .or_default()
                .entry(event.user_id.as_str())
                .or_default();
            user.activity.note(event.ts);
            if !site.is_empty() && event.properties.contains_key(URL_PROPERTY) {
                user.hits.push(event);
            }
        }
        let calls = groups.iter().flat_map(|((site, partition), users)| {
            let users: Vec<(&str, &UserBatch)> = users.iter().map(|(u, b)| (*u, b)).collect();
            users
                .chunks(USERS_PER_CALL)
                .map(|chunk| self.record_users(site, *partition, chunk.to_vec(), now_ms))
                .collect::<Vec<_>>()
        });
        let mut visits: HashMap<&str, i64> = HashMap::new();
        for changed in try_join_all(calls).await? {
            for (user, change) in changed {
                *visits.entry(user).or_default() += change;
            }
        }
        Ok(visits)
    }

    /// Records `users` of `site` in `partition`; answers the change in the number of visits of
    /// those it changed.
    async fn record_users<'a>(
        &self,
        site: &str,
        partition: usize,
        users: Vec<(&'a str, &UserBatch<'_>)>,
        now_ms: i64,
    ) -> Result<Vec<(&'a str, i64)>, StorageError> {
        let base = self.keys.visits_base(site, partition);
        let members: Vec<String> = users.iter().map(|(user, _)| name_hash(user)).collect();
        // The users with page events, by their index in `users`.
        let lists: Vec<usize> = (0..users.len())
            .filter(|index| !users[*index].1.hits.is_empty())
            .collect();
        let hits: Vec<Vec<Hit>> = lists
            .iter()
            .map(|index| hits_of(&users[*index].1.hits))
            .collect();
        let ids = format!("{base}r:ids");
        let generations = Generations::new(&base, now_ms, self.list_generation_ms());
        let cache = &self.events.users;
        for attempt in 0..ATTEMPTS {
            // What this process remembers is tried first; after a conflict, Redis is read.
            let known = if attempt == 0 {
                cache.get(site, users.iter().map(|(user, _)| *user))
            } else {
                vec![Known::default(); users.len()]
            };
            let read = self
                .read_users(&lists, &generations, &ids, &members, &known)
                .await?;
            let mut invocation = APPLY.prepare_invoke();
            invocation
                .key(format!("{base}cur"))
                .key(&ids)
                .key(&generations.current)
                .key(&generations.previous)
                .arg(&base)
                .arg(generations.expire_at)
                .arg(now_ms - CURRENT_WINDOW_MS)
                .arg(KEPT_MS);
            let (deltas, visits) =
                self.visits_arguments(&mut invocation, &lists, &hits, &read.lists, &members);
            let steps =
                retention_arguments(&mut invocation, &users, &members, &read.records, &known);
            numbers_and_rankings(&mut invocation, &deltas, self.retention.hour_ms());
            visitors_argument(
                &mut invocation,
                &lists,
                &hits,
                &members,
                self.retention.hour_ms(),
            );
            let answer: Vec<i64> = invocation.invoke_async(&mut self.connection()).await?;
            if answer.first() == Some(&0) {
                cache.learn(site, &learnt(&users, &steps, &answer[1..]));
                return Ok(visits
                    .into_iter()
                    .map(|(index, change)| (users[index].0, change))
                    .collect());
            }
            crate::telemetry::metrics().web_write_retried();
        }
        Err(StorageError::Contended { key: base })
    }

    /// Reads the visit lists of the users at `lists` (from the current generation, else the
    /// previous one) and the retention records `known` does not have.
    async fn read_users(
        &self,
        lists: &[usize],
        generations: &Generations,
        ids: &str,
        members: &[String],
        known: &[Known],
    ) -> Result<Read, StorageError> {
        let unknown: Vec<&String> = members
            .iter()
            .zip(known)
            .filter(|(_, known)| known.record.is_none())
            .map(|(member, _)| member)
            .collect();
        let visitors: Vec<&String> = lists.iter().map(|index| &members[*index]).collect();
        let mut pipe = redis::pipe();
        if !unknown.is_empty() {
            pipe.cmd("HMGET").arg(ids).arg(&unknown);
        }
        if !visitors.is_empty() {
            pipe.cmd("HMGET").arg(&generations.current).arg(&visitors);
            pipe.cmd("HMGET").arg(&generations.previous).arg(&visitors);
        }
        let mut replies: Vec<Vec<Option<String>>> = if unknown.is_empty() && visitors.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut self.connection()).await?
        };
        let read_lists = if visitors.is_empty() {
            Vec::new()
        } else {
            let previous = replies.pop().unwrap_or_default();
            let current = replies.pop().unwrap_or_default();
            current
                .into_iter()
                .zip(previous)
                .map(|(current, previous)| current.or(previous))
                .collect()
        };
        let mut read_records = replies.pop().unwrap_or_default().into_iter();
        let records = known
            .iter()
            .map(|known| match known.record {
                Some(record) => Some(record.encode()),
                None => read_records.next().flatten(),
            })
            .collect();
        Ok(Read {
            lists: read_lists,
            records,
        })
    }

    /// How long one generation of visit lists lasts: a list is kept from its last write for
    /// at least this long, past the lateness and the timeout.
    pub(super) fn list_generation_ms(&self) -> i64 {
        LATENESS_MS + self.events.settings.visit_timeout_ms + 3_600_000
    }

    /// The sections of [`APPLY_LUA`] for visits (the lists and current visitors); answers what
    /// they change in the counts, and in the number of visits of each user they change it for
    /// (by index in the group).
    fn visits_arguments(
        &self,
        invocation: &mut redis::ScriptInvocation<'_>,
        lists: &[usize],
        hits: &[Vec<Hit>],
        stored: &[Option<String>],
        members: &[String],
    ) -> (Deltas, Vec<(usize, i64)>) {
        let timeout = self.events.settings.visit_timeout_ms;
        let mut deltas = Deltas::default();
        let mut visits_changed = Vec::new();
        let mut current = Vec::with_capacity(lists.len());
        invocation.arg(lists.len());
        for ((index, hits), read) in lists.iter().zip(hits).zip(stored) {
            let member = &members[*index];
            let mut visits: Vec<Visit> = read.as_deref().map_or_else(Vec::new, |read| {
                // A list livedash cannot read must not refuse the user's events: their visits
                // start again.
                serde_json::from_str(read).unwrap_or_else(|error| {
                    tracing::warn!(%error, member, "unreadable visit list replaced");
                    Vec::new()
                })
            });
            let before = deltas.visits;
            let latest = session::advance(&mut visits, hits, timeout, LATENESS_MS, &mut deltas);
            if deltas.visits != before {
                visits_changed.push((*index, deltas.visits - before));
            }
            invocation
                .arg(member)
                .arg(read.as_deref().unwrap_or(""))
                .arg(serde_json::to_string(&visits).unwrap_or_default());
            current.push((latest, member));
        }
        invocation.arg(current.len());
        for (latest, member) in current {
            invocation.arg(latest).arg(member);
        }
        for hit in hits.iter().flatten().filter(|hit| hit.page) {
            deltas.page_view(hit.ts, hit.path);
        }
        deltas.prune();
        (deltas, visits_changed)
    }
}

/// The two hashes of visit lists a write can find a user's in: lists are written to the
/// current generation's (and taken out of the previous one's), and each hash expires at the end
/// of the generation after its own, so a list lives a generation at least after its last write
/// without a key per user.
struct Generations {
    current: String,
    previous: String,
    /// When the current generation's hash expires, ms.
    expire_at: i64,
}

impl Generations {
    fn new(base: &str, now_ms: i64, length_ms: i64) -> Self {
        let generation = now_ms.div_euclid(length_ms);
        Self {
            current: format!("{base}v:{generation}"),
            previous: format!("{base}v:{}", generation - 1),
            expire_at: (generation + 2) * length_ms,
        }
    }
}

/// The numbers and rankings sections of [`APPLY_LUA`]: one hash per bucket, one sorted set per
/// bucket and ranking.
fn numbers_and_rankings(invocation: &mut redis::ScriptInvocation<'_>, deltas: &Deltas, hour: i64) {
    let name = |(tier, start): (usize, i64)| format!("{}:{start}", TIERS[tier].0);
    let ttl = |(tier, _): (usize, i64)| if tier == 0 { MINUTE_RETENTION_MS } else { hour };
    invocation.arg(deltas.numbers.len());
    for (bucket, numbers) in &deltas.numbers {
        let changed: Vec<(&str, i64)> = NUMBERS
            .into_iter()
            .zip(*numbers)
            .filter(|(_, delta)| *delta != 0)
            .collect();
        invocation
            .arg(name(*bucket))
            .arg(ttl(*bucket))
            .arg(changed.len());
        for (field, delta) in changed {
            invocation.arg(field).arg(delta);
        }
    }
    invocation.arg(deltas.ranks.len());
    for ((bucket, ranking), values) in &deltas.ranks {
        invocation
            .arg(format!("{}:{ranking}", name(*bucket)))
            .arg(ttl(*bucket))
            .arg(values.len());
        for (value, delta) in values {
            invocation.arg(value).arg(delta);
        }
    }
}

/// The visitors section of [`APPLY_LUA`]: per bucket, the users with a page view in it (for
/// its HyperLogLog of visitors, `<bucket>:u`).
fn visitors_argument(
    invocation: &mut redis::ScriptInvocation<'_>,
    lists: &[usize],
    hits: &[Vec<Hit>],
    members: &[String],
    hour: i64,
) {
    let mut buckets: BTreeMap<(usize, i64), BTreeSet<&str>> = BTreeMap::new();
    for (index, hits) in lists.iter().zip(hits) {
        for hit in hits.iter().filter(|hit| hit.page) {
            for tier in 0..TIERS.len() {
                buckets
                    .entry(session::bucket(tier, hit.ts))
                    .or_default()
                    .insert(&members[*index]);
            }
        }
    }
    invocation.arg(buckets.len());
    for ((tier, start), users) in buckets {
        let ttl = if tier == 0 { MINUTE_RETENTION_MS } else { hour };
        invocation
            .arg(format!("{}:{start}:u", TIERS[tier].0))
            .arg(ttl)
            .arg(users.len())
            .arg(users.into_iter().collect::<Vec<_>>());
    }
}

/// The retention sections of [`APPLY_LUA`]: new users, cohort moves and activity bits (but
/// those `known` to be set already). Answers each user's step.
fn retention_arguments(
    invocation: &mut redis::ScriptInvocation<'_>,
    users: &[(&str, &UserBatch)],
    members: &[String],
    records: &[Option<String>],
    known: &[Known],
) -> Vec<Step> {
    let mut steps = Vec::with_capacity(users.len());
    let mut new = Vec::new();
    let mut moves = Vec::new();
    let mut bits: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for ((((_, batch), member), stored), known) in users.iter().zip(members).zip(records).zip(known)
    {
        let activity = &batch.activity;
        let step = plan::step(stored.as_deref().and_then(Record::decode), activity);
        steps.push(step);
        let id = match step {
            Step::New { first } => {
                new.push((member, first, activity));
                continue;
            }
            Step::Move { from, first } => {
                moves.push((member, stored, from, first));
                from.id
            }
            Step::Stay { record } => record.id,
        };
        let (day, week) = known.active.unwrap_or((i64::MIN, i64::MIN));
        for set in activity.days.iter().filter(|d| **d != day) {
            bits.entry(format!("r:a:d:{set}")).or_default().push(id);
        }
        for set in activity.weeks.iter().filter(|w| **w != week) {
            bits.entry(format!("r:a:w:{set}")).or_default().push(id);
        }
    }
    invocation.arg(new.len());
    for (member, first, activity) in new {
        invocation
            .arg(member)
            .arg(first)
            .arg(Period::Day.of(first))
            .arg(Period::Week.of(first))
            .arg(activity.days.len())
            .arg(activity.days.iter().collect::<Vec<_>>())
            .arg(activity.weeks.len())
            .arg(activity.weeks.iter().collect::<Vec<_>>());
    }
    invocation.arg(moves.len());
    for (member, stored, from, first) in moves {
        let to = Record { id: from.id, first };
        invocation
            .arg(member)
            .arg(stored.as_deref().unwrap_or(""))
            .arg(to.encode())
            .arg(from.id)
            .arg(Period::Day.of(from.first))
            .arg(Period::Week.of(from.first))
            .arg(Period::Day.of(first))
            .arg(Period::Week.of(first));
    }
    invocation.arg(bits.len());
    for (bitmap, ids) in bits {
        invocation.arg(bitmap).arg(ids.len()).arg(ids);
    }
    steps
}

/// What a written batch tells of its users: their record (`ids` those the script gave
/// the new ones, in order) and the latest day and week of their activity, now set.
fn learnt<'a>(
    users: &[(&'a str, &UserBatch)],
    steps: &[Step],
    ids: &[i64],
) -> Vec<(&'a str, Known)> {
    let mut ids = ids.iter().map(|id| u64::try_from(*id).unwrap_or_default());
    users
        .iter()
        .zip(steps)
        .map(|((user, batch), step)| {
            let record = match *step {
                Step::New { first } => ids.next().map(|id| Record { id, first }),
                Step::Move { from, first } => Some(Record { id: from.id, first }),
                Step::Stay { record } => Some(record),
            };
            let active = batch
                .activity
                .days
                .last()
                .copied()
                .zip(batch.activity.weeks.last().copied());
            (
                *user,
                // Seen is `mark_visitors`' to learn.
                Known {
                    seen: false,
                    record,
                    active,
                },
            )
        })
        .collect()
}
