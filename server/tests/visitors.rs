//! New and returning users against a real Redis and an exact set: the filter of users seen
//! never calls a returning user new, calls new users returning no more often than its target
//! over a million users, and calls a new user new exactly once however many processes see it.

mod support;

use app::events::Event;
use server::storage::seen::VISITOR_PROPERTY;
use support::{RedisServer, TestApp, now_ms};

fn events(users: impl Iterator<Item = String>, ts: i64) -> Vec<Event> {
    users
        .map(|user_id| Event {
            event: "page_view".to_owned(),
            user_id,
            ts,
            properties: std::iter::once(("site".to_owned(), "site.test".to_owned())).collect(),
        })
        .collect()
}

fn returning(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|event| event.properties[VISITOR_PROPERTY] == "returning")
        .count()
}

/// A million new users, then some of them again: against the exact set (every user new the
/// first time, returning after), the only errors are new users called returning, at a rate
/// within the configured 1 %; the filter's own estimate of its rate, once full, is near it.
#[tokio::test]
async fn a_million_users_stay_within_the_false_positive_target() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "seen:",
        &[
            ("LIVEDASH_EXPECTED_USERS", "1000000"),
            ("LIVEDASH_NEW_USER_ERROR", "1%"),
        ],
    )
    .await;
    let store = &app.state.store;
    let now = now_ms();
    let mut false_positives = 0;
    for chunk in 0..50 {
        let mut batch = events(
            (chunk * 20_000..(chunk + 1) * 20_000).map(|n| format!("u{n}")),
            now,
        );
        store.mark_visitors(&mut batch).await.unwrap();
        false_positives += returning(&batch);
    }
    let rate = false_positives as f64 / 1e6;
    assert!(
        rate > 0.0 && rate <= 0.01,
        "{false_positives} false positives in 1 000 000"
    );

    // No false negatives: every user seen is returning.
    let mut again = events((0..1_000_000).step_by(50).map(|n| format!("u{n}")), now);
    store.mark_visitors(&mut again).await.unwrap();
    assert_eq!(returning(&again), again.len());

    let filter = store.seen_filter("site.test").await.unwrap();
    assert_eq!(filter.target_rate, 0.01);
    assert!(
        (0.008..=0.0105).contains(&filter.false_positive_rate),
        "{filter:?}"
    );
    // Another site has a filter of its own.
    let mut elsewhere = events(std::iter::once("u1".to_owned()), now);
    elsewhere[0]
        .properties
        .insert("site".to_owned(), "other.test".to_owned());
    store.mark_visitors(&mut elsewhere).await.unwrap();
    assert_eq!(elsewhere[0].properties[VISITOR_PROPERTY], "new");
}

/// Two processes given the same new users at the same moment call each of them new once; all
/// of a new user's events in a batch are new.
#[tokio::test]
async fn a_new_user_is_new_once_across_processes() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "race:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "race:").await;
    let now = now_ms();
    let users = || (0..2_000).map(|n| format!("racer-{n}"));
    let mut one = events(users().chain(users()), now);
    let mut other = events(users(), now);
    let (a, b) = tokio::join!(
        first.state.store.mark_visitors(&mut one),
        second.state.store.mark_visitors(&mut other)
    );
    a.unwrap();
    b.unwrap();
    for n in 0..2_000 {
        let first_says = &one[n].properties[VISITOR_PROPERTY];
        assert_eq!(first_says, &one[n + 2_000].properties[VISITOR_PROPERTY]);
        let second_says = &other[n].properties[VISITOR_PROPERTY];
        assert_ne!(
            first_says, second_says,
            "racer-{n}: exactly one process calls it new"
        );
    }
}
