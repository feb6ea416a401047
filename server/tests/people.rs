//! People against a real Redis: each person's summary and timeline checked against a brute
//! force over random events, and a deletion that leaves no trace of the id (every key and
//! value of every node scanned) while everyone else's data stays.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use app::events::Event;
use app::people::{Person, TIMELINE_LEN};
use app::random::Rng;
use serde_json::{Value, json};
use server::storage::keys::{name_hash, partition_of};
use support::{RedisServer, TestApp};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
/// The person deleted: a quote and an `@`, so the id is escaped in JSON.
const ALICE: &str = "alice \"al\" o'hara@example.com";
const MINUTE: i64 = 60_000;
const TIMEOUT: i64 = 30 * MINUTE;

/// POSTs `events` from Firefox through `app`.
async fn send(app: &TestApp, events: &[Value]) {
    support::store_events(app, Some(FIREFOX), &events, events.len()).await;
}

/// `GET` or `DELETE` `/api/v1/people/{id}`: the status and the answer.
async fn people(app: &TestApp, method: reqwest::Method, id: &str) -> (u16, Value) {
    let path = format!("/api/v1/people/{}", urlencoding(id));
    let response = reqwest::Client::new()
        .request(method, app.url(&path))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn export(app: &TestApp, id: &str) -> Person {
    let (status, answer) = people(app, reqwest::Method::GET, id).await;
    assert_eq!(status, 200, "{answer}");
    serde_json::from_value(answer).unwrap()
}

/// A random day of events for `users` on two sites and from a backend, in time order: page
/// views and clicks with addresses (some from a campaign link), and signups and purchases
/// without.
fn random_events(rng: &mut Rng, users: &[&str], start: i64) -> Vec<Value> {
    let mut events = Vec::new();
    for user in users {
        let mut ts = start + rng.between(0, 30 * MINUTE);
        for _ in 0..rng.between(5, 60) {
            // Mostly within a visit, sometimes after the timeout.
            ts += if rng.chance(0.15) {
                rng.between(TIMEOUT + 1, 3 * TIMEOUT)
            } else {
                rng.between(1_000, 10 * MINUTE)
            };
            let site = if rng.chance(0.5) {
                "shop.example"
            } else {
                "blog.example"
            };
            let path = ["/", "/pricing", "/docs", "/blog/redis"][rng.below(4) as usize];
            let campaign = if rng.chance(0.3) {
                "?utm_source=newsletter&utm_medium=email&utm_campaign=launch"
            } else {
                ""
            };
            let url = format!("https://{site}{path}{campaign}");
            let event = match rng.below(10) {
                0 => {
                    json!({"event": "signup", "user_id": user, "ts": ts, "properties": {"plan": "pro"}})
                }
                1 => {
                    json!({"event": "purchase", "user_id": user, "ts": ts, "properties": {"amount": "12"}})
                }
                2 => json!({"event": "click", "user_id": user, "ts": ts,
                    "properties": {"path": path, "url": url}}),
                _ => json!({"event": "page_view", "user_id": user, "ts": ts,
                    "properties": {"path": path, "url": url}}),
            };
            events.push(event);
        }
    }
    events.sort_by_key(|event| event["ts"].as_i64());
    events
}

/// What a person's summary must be, from their events alone.
fn brute_force(user: &str, events: &[Value]) -> Person {
    let mine: Vec<&Value> = events.iter().filter(|e| e["user_id"] == user).collect();
    let mut person = Person {
        user_id: user.to_owned(),
        first_seen: mine
            .iter()
            .map(|e| e["ts"].as_i64().unwrap())
            .min()
            .unwrap(),
        last_seen: mine
            .iter()
            .map(|e| e["ts"].as_i64().unwrap())
            .max()
            .unwrap(),
        ..Person::default()
    };
    for event in &mine {
        *person
            .events
            .entry(event["event"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // Visits per site: events with an address, a new one after more than the timeout.
    let mut by_site: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for event in &mine {
        if let Some(url) = event["properties"]["url"].as_str() {
            let site = url.split('/').nth(2).unwrap().to_owned();
            by_site
                .entry(site)
                .or_default()
                .push(event["ts"].as_i64().unwrap());
        }
    }
    for times in by_site.values_mut() {
        times.sort_unstable();
        person.visits += 1 + times.windows(2).filter(|w| w[1] - w[0] > TIMEOUT).count() as i64;
    }
    let first_page = mine
        .iter()
        .filter(|e| e["properties"]["url"].is_string())
        .min_by_key(|e| e["ts"].as_i64())
        .unwrap();
    person.first_source = if first_page["properties"]["url"]
        .as_str()
        .unwrap()
        .contains("utm_")
    {
        [
            ("channel", "email"),
            ("utm_source", "newsletter"),
            ("utm_medium", "email"),
            ("utm_campaign", "launch"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    } else {
        [("channel".to_owned(), "direct".to_owned())].into()
    };
    person
}

/// The export holds what the brute force says, and the newest events, newest first.
fn check(person: &Person, expected: &Person, events: &[Value]) {
    assert_eq!(
        (
            &person.user_id,
            person.first_seen,
            person.last_seen,
            person.visits,
            &person.events,
            &person.first_source
        ),
        (
            &expected.user_id,
            expected.first_seen,
            expected.last_seen,
            expected.visits,
            &expected.events,
            &expected.first_source
        )
    );
    let mut newest: Vec<i64> = events
        .iter()
        .filter(|e| e["user_id"] == expected.user_id.as_str())
        .map(|e| e["ts"].as_i64().unwrap())
        .collect();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    newest.truncate(TIMELINE_LEN);
    let shown: Vec<i64> = person.timeline.iter().map(|e| e.ts).collect();
    assert_eq!(shown, newest);
    assert!(
        person
            .timeline
            .iter()
            .all(|e: &Event| e.user_id == expected.user_id)
    );
}

/// Two processes take a day of random events for 30 people, some through each; every
/// person's export matches the brute force. Deleting one leaves no trace of their id, or of
/// its hash, anywhere in Redis; the others' exports, the log's other events and the counts
/// stay; and the other process forgets them too (their return makes them a new user there).
#[tokio::test]
async fn people_match_the_brute_force_and_a_deletion_leaves_no_trace() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let other = TestApp::start_with_prefix(&redis.url(), &app.prefix).await;
    let funnel = json!({"name": "Buy", "steps": [{"event": "page_view"}, {"event": "purchase"}],
        "window_ms": 86_400_000});
    app.ok_fn(
        "change_analytics",
        json!({"change": {"CreateFunnel": {"funnel": funnel, "backfill": false}}}),
    )
    .await;
    let experiment = json!({"id": "cta", "name": "CTA", "goal_event": "purchase",
        "variants": [{"name": "control", "weight": 50}, {"name": "bold", "weight": 50}]});
    app.ok_fn(
        "change_analytics",
        json!({"change": {"CreateExperiment": {"experiment": experiment}}}),
    )
    .await;

    let names: Vec<String> = (0..29).map(|n| format!("person-{n}")).collect();
    let mut users: Vec<&str> = names.iter().map(String::as_str).collect();
    users.push(ALICE);
    let now = support::now_ms();
    let mut rng = Rng::new(7);
    let events = random_events(&mut rng, &users, now - 20 * 3_600_000);
    for user in &users {
        let (status, _) = people(&app, reqwest::Method::POST, user).await;
        assert_eq!(status, 405);
        let assign = format!(
            "/api/v1/experiments/cta/assign?user_id={}",
            urlencoding(user)
        );
        let response = reqwest::get(app.url(&assign)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    for (index, chunk) in events.chunks(40).enumerate() {
        send(if index % 2 == 0 { &app } else { &other }, chunk).await;
    }

    for user in &users {
        let expected = brute_force(user, &events);
        check(&export(&app, user).await, &expected, &events);
    }
    let bob = export(&other, "person-3").await;
    let (status, answer) = people(&app, reqwest::Method::GET, "nobody").await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer.to_string().contains("nobody"), "{answer}");

    let escaped = serde_json::to_string(ALICE).unwrap();
    let escaped = &escaped[1..escaped.len() - 1];
    let hash = name_hash(ALICE);
    let before = redis.everything();
    for trace in [ALICE, escaped, hash.as_str()] {
        assert!(before.contains(trace), "{trace} was never stored");
    }
    let alices = events.iter().filter(|e| e["user_id"] == ALICE).count();
    // Her sites: those of her pages, and "" for events without one.
    let her_sites: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["user_id"] == ALICE)
        .map(|e| {
            e["properties"]["url"]
                .as_str()
                .map_or("", |u| u.split('/').nth(2).unwrap())
        })
        .collect();
    let logged_before = logged(&redis, &app);
    let sites_before = retention_users(&app, &["shop.example", "blog.example", ""]).await;

    let (status, answer) = people(&app, reqwest::Method::DELETE, ALICE).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["person"], json!(true), "{answer}");
    assert_eq!(answer["logged_events"], json!(alices), "{answer}");
    assert_eq!(answer["sites"], json!(her_sites.len()), "{answer}");

    let after = redis.everything();
    for trace in [ALICE, escaped, hash.as_str(), "o'hara"] {
        assert!(!after.contains(trace), "{trace} is still stored");
    }
    let (status, _) = people(&app, reqwest::Method::GET, ALICE).await;
    assert_eq!(status, 404);
    assert_eq!(export(&other, "person-3").await, bob);
    assert_eq!(logged(&redis, &app), logged_before - alices);
    let sites_after = retention_users(&app, &["shop.example", "blog.example", ""]).await;
    assert_eq!(sites_after + her_sites.len() as u64, sites_before);

    // Asking again finds nothing more.
    let (status, answer) = people(&app, reqwest::Method::DELETE, ALICE).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"person": false, "sites": 0, "logged_events": 0})
    );

    // The other process was told: when she comes back through it, she is a new user again
    // (a process that still remembered her would not record her anew).
    let ids = format!(
        "{}r:ids",
        app.state.store.keys().visits_base(
            "shop.example",
            partition_of(ALICE, app.state.store.partitions())
        )
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ts = now;
    loop {
        ts += 1;
        send(
            &other,
            &[json!({"event": "page_view", "user_id": ALICE, "ts": ts,
                "properties": {"path": "/", "url": "https://shop.example/"}})],
        )
        .await;
        let known: bool = redis::cmd("HEXISTS")
            .arg(&ids)
            .arg(&hash)
            .query(&mut redis.connection())
            .unwrap();
        if known {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other process still remembers the deleted person"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many events the raw log holds.
fn logged(redis: &RedisServer, app: &TestApp) -> usize {
    let entries: Vec<(String, BTreeMap<String, String>)> = redis::cmd("XRANGE")
        .arg(app.state.store.keys().event_log())
        .arg("-")
        .arg("+")
        .query(&mut redis.connection())
        .unwrap();
    entries
        .iter()
        .map(|(_, fields)| {
            serde_json::from_str::<Vec<Event>>(&fields["b"])
                .unwrap()
                .len()
        })
        .sum()
}

/// Users in the daily cohorts of the last two days, over `sites`.
async fn retention_users(app: &TestApp, sites: &[&str]) -> u64 {
    let mut users = 0;
    let now = support::now_ms();
    for site in sites {
        let table = app
            .state
            .store
            .retention_table(site, server::storage::retention::Period::Day, 3, now)
            .await
            .unwrap();
        users += table.iter().map(|cohort| cohort.users).sum::<u64>();
    }
    users
}
