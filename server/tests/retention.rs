//! Retention against a real Redis and a brute force: cohorts by first-seen day and week, and
//! each cohort's users active in every later period, exact, with events sent out of order
//! (a user's earliest event arriving last moves them to an earlier cohort) by two processes.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use app::events::Event;
use server::storage::retention::{Cohort, Period};
use support::{RedisServer, Rng, TestApp, now_ms};

const DAY_MS: i64 = 86_400_000;

fn brute_force(events: &[Event], period: Period, cohorts: usize, now: i64) -> Vec<Cohort> {
    let mut users: BTreeMap<&str, (i64, BTreeSet<i64>)> = BTreeMap::new();
    for event in events {
        let user = users
            .entry(&event.user_id)
            .or_insert((event.ts, BTreeSet::new()));
        user.0 = user.0.min(event.ts);
        user.1.insert(period.of(event.ts));
    }
    let last = period.of(now);
    (last - cohorts as i64 + 1..=last)
        .map(|c| {
            let members: Vec<&BTreeSet<i64>> = users
                .values()
                .filter(|(first, _)| period.of(*first) == c)
                .map(|(_, active)| active)
                .collect();
            Cohort {
                start: period.start(c),
                users: members.len() as u64,
                active: (c..=last)
                    .map(|p| members.iter().filter(|active| active.contains(&p)).count() as u64)
                    .collect(),
            }
        })
        .collect()
}

#[tokio::test]
async fn retention_tables_match_a_brute_force() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "retention:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "retention:").await;
    let now = now_ms();
    let mut rng = Rng::new(11);
    let mut events = Vec::new();
    for user in 0..400 {
        // Each user arrives some day in the last five weeks and comes back now and then.
        let mut ts = now - rng.between(0, 35 * DAY_MS);
        while ts <= now {
            events.push(Event {
                event: "page_view".to_owned(),
                user_id: format!("user-{user}"),
                ts,
                properties: std::iter::once(("site".to_owned(), "site.test".to_owned())).collect(),
            });
            ts += rng.between(DAY_MS / 4, 9 * DAY_MS);
        }
    }
    for index in (1..events.len()).rev() {
        events.swap(index, rng.below(index as u64 + 1) as usize);
    }
    for (n, batch) in events.chunks(300).enumerate() {
        let store = if n % 2 == 0 {
            &first.state.store
        } else {
            &second.state.store
        };
        store.record_web(batch, now).await.unwrap();
    }
    for (period, cohorts) in [(Period::Day, 36), (Period::Week, 6)] {
        let table = first
            .state
            .store
            .retention_table("site.test", period, cohorts, now)
            .await
            .unwrap();
        let expected = brute_force(&events, period, cohorts, now);
        assert!(expected.iter().map(|c| c.users).sum::<u64>() == 400);
        assert!(
            expected
                .iter()
                .any(|c| c.active.iter().skip(1).any(|a| *a > 0))
        );
        assert_eq!(table, expected, "{period:?}");
    }
    let other = first
        .state
        .store
        .retention_table("other.test", Period::Week, 3, now)
        .await
        .unwrap();
    assert!(
        other
            .iter()
            .all(|c| c.users == 0 && c.active.iter().all(|a| *a == 0))
    );
}
