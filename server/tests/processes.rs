//! Several livedash processes on one Redis (or Redis Cluster, with `LIVEDASH_TEST_TOPOLOGY`):
//! what they count together equals what one process counts, however their requests interleave;
//! unique counts over many series are one union, not a sum; each process names itself apart.

mod support;

use std::collections::{HashMap, HashSet};

use app::analytics::assign_variant;
use app::events::{AnalyticsAnswer, AnalyticsQuery, Event};
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::query::{Aggregation, Query, Selector, TimeRange};
use serde_json::json;
use support::{RedisServer, Rng, TestApp, now_ms};

/// Three processes sharing one Redis and key prefix.
async fn processes(redis: &RedisServer, prefix: &str) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(TestApp::start_with_prefix(&redis.url(), prefix).await);
    }
    apps
}

async fn send_events(app: &TestApp, events: &[Event]) {
    support::store_events(app, None, &events, events.len()).await;
}

/// The deepest step a user's events reach in order, each within `window_ms` of the first.
fn depth(events: &[(i64, usize)], steps: usize, window_ms: i64) -> usize {
    let mut best = 0;
    for (start, (first_ts, first_step)) in events.iter().enumerate() {
        if *first_step != 0 {
            continue;
        }
        let mut reached = 1;
        for (ts, step) in &events[start + 1..] {
            if *ts - first_ts > window_ms {
                break;
            }
            if *step == reached {
                reached += 1;
            }
        }
        best = best.max(reached.min(steps));
    }
    best
}

/// Users' funnel events sent through three processes at once, each user's events in all three
/// concurrent requests: the step counts equal a brute force over the same events
/// (an in-process lock alone lets two processes count one user's step twice). Exposures and
/// conversions of an experiment, made through all three, are counted once per user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_count_funnels_and_experiments_as_one() {
    let redis = RedisServer::start();
    let apps = processes(&redis, "together:").await;
    let window_ms = 3_600_000;
    let names = ["visit", "signup", "activate", "purchase"];
    let created = apps[0]
        .ok_fn(
            "change_analytics",
            json!({"change": {"CreateFunnel": {"funnel": {
                "name": "Together",
                "steps": names.iter().map(|name| json!({"event": name})).collect::<Vec<_>>(),
                "window_ms": window_ms
            }, "backfill": false}}}),
        )
        .await;
    let funnel = created["funnels"][0]["id"].as_str().unwrap().to_owned();
    let created = apps[1]
        .ok_fn(
            "change_analytics",
            json!({"change": {"CreateExperiment": {"experiment": {
                "id": "button", "name": "Button",
                "variants": [{"name": "control", "weight": 1}, {"name": "green", "weight": 1}],
                "goal_event": "purchase"
            }}}}),
        )
        .await;
    assert_eq!(created["experiments"][0]["id"], "button");
    let experiment = "button";

    let now = now_ms();
    let mut rng = Rng::new(7);
    let users: Vec<String> = (0..150).map(|user| format!("user-{user}")).collect();
    // Rounds of events: in each, every user sends one event through each process, and the
    // three processes' requests run at once, so each user moves in all three together.
    let mut sent: Vec<Event> = Vec::new();
    for round in 0..6_i64 {
        let mut per_process: Vec<Vec<Event>> = vec![Vec::new(); apps.len()];
        for user in &users {
            for events in &mut per_process {
                let step = rng.below(names.len() as u64) as usize;
                let event = Event {
                    event: names[step].to_owned(),
                    user_id: user.clone(),
                    ts: now - 50 * 60_000 + round * 60_000 + rng.below(50_000) as i64,
                    properties: Default::default(),
                };
                events.push(event.clone());
                sent.push(event);
            }
        }
        futures::future::join_all(
            apps.iter()
                .zip(&per_process)
                .filter(|(_, events)| !events.is_empty())
                .map(|(app, events)| send_events(app, events)),
        )
        .await;
        // Exposures through every process at once, each user once per round.
        futures::future::join_all(users.iter().enumerate().map(|(index, user)| {
            let store = &apps[(index + round as usize) % apps.len()].state.store;
            async move { store.assign(experiment, user, true).await.unwrap() }
        }))
        .await;
    }

    let mut by_user: HashMap<&str, Vec<(i64, usize)>> = HashMap::new();
    for event in &sent {
        let step = names.iter().position(|name| *name == event.event).unwrap();
        by_user
            .entry(&event.user_id)
            .or_default()
            .push((event.ts, step));
    }
    let mut expected = vec![0_u64; names.len()];
    for events in by_user.values_mut() {
        events.sort_by_key(|(ts, _)| *ts);
        for reached in &mut expected[..depth(events, names.len(), window_ms)] {
            *reached += 1;
        }
    }
    assert!(expected[1] > 0, "a telling sample: {expected:?}");
    for app in &apps {
        let answer = app
            .ok_fn(
                "analytics",
                json!({"query": AnalyticsQuery::Funnel { id: funnel.clone() }}),
            )
            .await;
        match serde_json::from_value(answer).unwrap() {
            AnalyticsAnswer::Funnel(report) => assert_eq!(report.users, expected),
            other => panic!("not a funnel: {other:?}"),
        }
    }

    // Every user was exposed once round 0's events were in: those who purchased in a later
    // round converted, each once.
    let mut counts = [(0_u64, 0_u64); 2];
    let later_rounds = now - 50 * 60_000 + 60_000;
    for user in &users {
        let variant = assign_variant(experiment, user, &[1, 1]).unwrap();
        counts[variant].0 += 1;
        if sent
            .iter()
            .any(|e| e.user_id == *user && e.event == "purchase" && e.ts >= later_rounds)
        {
            counts[variant].1 += 1;
        }
    }
    let answer = apps[2]
        .ok_fn(
            "analytics",
            json!({"query": AnalyticsQuery::Experiment { id: experiment.to_owned() }}),
        )
        .await;
    let AnalyticsAnswer::Experiment(report) = serde_json::from_value(answer).unwrap() else {
        panic!("not an experiment");
    };
    let counted: Vec<(u64, u64)> = report
        .rows
        .iter()
        .map(|row| (row.users, row.conversions))
        .collect();
    assert_eq!(counted, counts.to_vec(), "each user once");
    assert!(counts[0].1 + counts[1].1 > 0, "a telling sample");
}

/// Unique members over many series (one union of every series' buckets, on a cluster read from
/// many slots and merged in livedash) are within 2 % of the exact count, far from the sum of
/// per-series counts.
#[tokio::test]
async fn unique_counts_over_many_series_are_one_union() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    // All within the previous whole hour: one step of the query holds them.
    let hour = now - now.rem_euclid(3_600_000) - 3_600_000;
    let mut rng = Rng::new(11);
    let mut members = HashSet::new();
    let mut observations = Vec::new();
    let mut sum_of_series = 0;
    for page in 0..40 {
        let series = SeriesKey::new("readers").with_label("page", format!("p{page}"));
        let mut of_series = HashSet::new();
        for _ in 0..1_500 {
            // Members shared between pages: a sum would count them once per page.
            let member = format!("reader-{}", rng.below(20_000));
            of_series.insert(member.clone());
            members.insert(member.clone());
            observations.push(Observation {
                series: series.clone(),
                kind: MetricKind::Set,
                ts: hour + rng.below(50 * 60_000) as i64,
                value: Observed::Member(member),
            });
        }
        sum_of_series += of_series.len();
    }
    for chunk in observations.chunks(5_000) {
        let outcome = app.state.writer.write(chunk.to_vec()).await.unwrap();
        assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    }
    let query = Query {
        selector: Selector::parse("readers").unwrap(),
        range: TimeRange::Absolute {
            from: hour,
            to: hour + 3_600_000,
        },
        step_ms: Some(3_600_000),
        aggregation: Aggregation::Unique,
        group_by: Some(Vec::new()),
    };
    let result = app.state.store.query(&query, now).await.unwrap();
    assert_eq!(result.series.len(), 1);
    assert_eq!(
        result.series[0].points.len(),
        1,
        "{:?}",
        result.series[0].points
    );
    let counted = result.series[0].points[0].1;
    let exact = members.len() as f64;
    assert!(
        (counted - exact).abs() <= exact * 0.02,
        "{counted} against {exact} (a sum would say {sum_of_series})"
    );
}

/// Each process writes its own metrics under its own instance name: `LIVEDASH_INSTANCE`, or by
/// default the host's name with the port (the process id when the port is the system's choice).
#[tokio::test]
async fn processes_name_themselves_apart() {
    let redis = RedisServer::start();
    let prefix = "instances:";
    let a = TestApp::start_with(&redis.url(), prefix, &[("LIVEDASH_SELF_METRICS", "1s")]).await;
    let _b = TestApp::start_with(
        &redis.url(),
        prefix,
        &[
            ("LIVEDASH_SELF_METRICS", "1s"),
            ("LIVEDASH_INSTANCE", "web-3"),
        ],
    )
    .await;
    let default = format!("/{}", std::process::id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = a
            .state
            .store
            .list_series(&Selector::parse("livedash_memory_bytes").unwrap(), 0, 10)
            .await
            .unwrap();
        let instances: Vec<&str> = page
            .series
            .iter()
            .filter_map(|series| series.labels.get("instance").map(String::as_str))
            .collect();
        if instances.len() == 2
            && instances.contains(&"web-3")
            && instances.iter().any(|name| name.ends_with(&default))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "instances seen: {instances:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Processes on one Redis and prefix must keep their keys alike: one started with another
/// retention is refused at start, naming why; on a prefix of its own it starts.
#[tokio::test]
async fn a_process_with_another_layout_is_refused() {
    let redis = RedisServer::start();
    let _running = TestApp::start_with_prefix(&redis.url(), "layout:").await;
    let other = |prefix: &str| {
        server::testing::config(&[
            ("REDIS_URL", redis.url()),
            ("LIVEDASH_KEY_PREFIX", prefix.to_owned()),
            ("LIVEDASH_ADDR", "127.0.0.1:0".into()),
            ("LIVEDASH_STATSD_ADDR", "off".into()),
            ("LIVEDASH_RETENTION_RAW", "2h".into()),
        ])
    };
    let error = server::Livedash::start(other("layout:"))
        .await
        .err()
        .expect("another layout refused");
    assert!(error.to_string().contains("LIVEDASH_RETENTION_"), "{error}");
    assert!(server::Livedash::start(other("layout-2h:")).await.is_ok());
}
