//! Product analytics against a real Redis: event ingest, rankings, unique users over ranges,
//! funnels against a brute force, experiments (stable weighted assignment, exposures and
//! conversions once per user, the statistics).
//!
//! One file, just over 600 lines: its tests share the event builders and the brute-force funnel.

mod support;

use std::collections::{HashMap, HashSet};

use app::analytics::{VariantCounts, VariantResult, assign_variant};
use app::events::{AnalyticsAnswer, AnalyticsQuery, Event, experiment_rows};
use serde_json::{Value, json};
use support::{RedisServer, Rng, TestApp, now_ms};

/// POSTs `events` to `/api/v1/events`; the status, the answer, and the CORS header.
async fn send(app: &TestApp, body: String) -> (u16, Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/events"))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let origin = response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), origin)
}

/// Sends `events` in batches of 1 000 (in the given order); every one must be accepted.
async fn send_all(app: &TestApp, events: &[Event]) {
    for batch in events.chunks(1_000) {
        let (status, answer, _) = send(app, serde_json::to_string(batch).unwrap()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["accepted"], batch.len());
    }
}

async fn ask(app: &TestApp, query: AnalyticsQuery) -> AnalyticsAnswer {
    let answer = app.ok_fn("analytics", json!({ "query": query })).await;
    serde_json::from_value(answer).unwrap()
}

fn event(name: &str, user: &str, ts: i64, properties: &[(&str, &str)]) -> Event {
    Event {
        event: name.into(),
        user_id: user.into(),
        ts,
        properties: properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// Good events are stored beside bad ones, which are named; any origin may send; rankings and
/// the latest events reflect what was sent.
#[tokio::test]
async fn events_are_taken_ranked_and_listed() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let body = json!([
        {"event": "page_view", "user_id": "u1", "properties": {"path": "/"}},
        {"event": "page_view", "user_id": "u2", "properties": {"path": "/pricing", "n": 2}},
        {"event": "page_view", "user_id": "u3", "properties": {"path": "/"}},
        {"event": "", "user_id": "u4"},
        {"event": "signup", "user_id": "u5", "properties": {"deep": [1]}},
        {"event": "signup", "user_id": "u6", "ts": 12}
    ]);
    let (status, answer, origin) = send(&app, body.to_string()).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(origin.as_deref(), Some("*"));
    assert_eq!(answer["accepted"], 3);
    let rejected: Vec<(u64, String)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["index"].as_u64().unwrap(),
                item["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 3);
    assert!(rejected[0].1.contains("item 3") && rejected[0].1.contains("\"event\""));
    assert!(rejected[1].1.contains("property \"deep\""));
    assert!(rejected[2].1.contains("\"ts\""));
    let (status, answer, _) = send(&app, "[{\"event\":".into()).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("malformed JSON"));

    let top = ask(
        &app,
        AnalyticsQuery::Top {
            event: "page_view".into(),
            property: "path".into(),
            from: now - 60_000,
            to: now + 60_000,
            limit: 10,
        },
    )
    .await;
    assert_eq!(
        top,
        AnalyticsAnswer::Top {
            entries: vec![("/".into(), 2), ("/pricing".into(), 1)],
            total: 3
        }
    );
    let names = ask(
        &app,
        AnalyticsQuery::Top {
            event: String::new(),
            property: String::new(),
            from: now - 60_000,
            to: now + 60_000,
            limit: 10,
        },
    )
    .await;
    assert_eq!(
        names,
        AnalyticsAnswer::Top {
            entries: vec![("page_view".into(), 3)],
            total: 3
        }
    );
    let AnalyticsAnswer::Latest { events } = ask(
        &app,
        AnalyticsQuery::Latest {
            event: String::new(),
            limit: 2,
        },
    )
    .await
    else {
        panic!("not a listing");
    };
    // Newest first: the batch's last good event, then the one before.
    let users: Vec<&str> = events.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(users, ["u3", "u2"]);
    assert_eq!(events[1].properties.get("n").map(String::as_str), Some("2"));
    // Counts are series like any other: the counter of page views holds 3.
    let query = app
        .ok_fn(
            "query",
            json!({"query": {
                "selector": {"name": "events", "matchers": [{"label": "event", "op": "=", "value": "page_view"}]},
                "range": {"last": {"ms": 600_000}}, "aggregation": {"fn": "sum"}, "group_by": [],
                "step_ms": 600_000
            }}),
        )
        .await;
    let total: f64 = query["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point[1].as_f64().unwrap())
        .sum();
    assert_eq!(total, 3.0);
}

/// Unique users over a range are the union of the buckets' HyperLogLogs: users who come back
/// in several hours count once, within 2 %.
#[tokio::test]
async fn unique_users_over_ranges_within_two_percent() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let start = now - 4 * 3_600_000;
    let mut rng = Rng::new(7);
    let mut events = Vec::new();
    let mut seen = HashSet::new();
    // 30 000 visits by 12 000 users over four hours: most come back.
    for index in 0..30_000_i64 {
        let user = format!("user-{}", rng.below(12_000));
        let ts = start + index * (4 * 3_600_000 / 30_000);
        seen.insert(user.clone());
        events.push(event("page_view", &user, ts, &[("path", "/")]));
    }
    send_all(&app, &events).await;
    let AnalyticsAnswer::Uniques { users } = ask(
        &app,
        AnalyticsQuery::Uniques {
            event: String::new(),
            from: start,
            to: now + 1,
        },
    )
    .await
    else {
        panic!("not a count");
    };
    let exact = seen.len() as f64;
    let error = (users as f64 - exact).abs() / exact;
    assert!(error <= 0.02, "{users} against {exact}: {error:.4}");
    // The last hour alone.
    let last_hour: HashSet<&str> = events
        .iter()
        .filter(|e| e.ts >= now - 3_600_000)
        .map(|e| e.user_id.as_str())
        .collect();
    let AnalyticsAnswer::Uniques { users } = ask(
        &app,
        AnalyticsQuery::Uniques {
            event: "page_view".into(),
            from: now - 3_600_000,
            to: now + 1,
        },
    )
    .await
    else {
        panic!("not a count");
    };
    let exact = last_hour.len() as f64;
    // Buckets at the range's start are read whole (10 s wide here): allow for them.
    let error = (users as f64 - exact).abs() / exact;
    assert!(error <= 0.02, "{users} against {exact}: {error:.4}");
}

/// The deepest step one user reaches, by brute force: every subsequence of their events is
/// tried. `steps[i]` says which funnel steps event `i` matches.
fn brute_force_depth(events: &[(i64, Vec<usize>)], step_count: usize, window_ms: i64) -> usize {
    fn extend(
        events: &[(i64, Vec<usize>)],
        after: usize,
        step: usize,
        start_ts: i64,
        step_count: usize,
        window_ms: i64,
    ) -> usize {
        if step == step_count {
            return step;
        }
        let mut best = step;
        for index in after..events.len() {
            let (ts, steps) = &events[index];
            if steps.contains(&step) && ts - start_ts <= window_ms {
                best = best.max(extend(
                    events,
                    index + 1,
                    step + 1,
                    start_ts,
                    step_count,
                    window_ms,
                ));
            }
        }
        best
    }
    let mut best = 0;
    for (index, (ts, steps)) in events.iter().enumerate() {
        if steps.contains(&0) {
            best = best.max(extend(events, index + 1, 1, *ts, step_count, window_ms));
        }
    }
    best
}

/// Funnel counts equal a brute force over random event sequences with steps out of order,
/// repeated steps and expired windows, both when counted as events arrive and when backfilled
/// from the raw log.
#[tokio::test]
async fn funnels_equal_a_brute_force() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let window_ms = 30 * 60_000;
    let funnel = json!({
        "name": "Sign-up",
        "steps": [
            {"event": "page_view", "filter": ["path", "/pricing"]},
            {"event": "signup_started"},
            {"event": "signup_completed"},
            {"event": "purchase"}
        ],
        "window_ms": window_ms
    });
    let created = app
        .ok_fn(
            "change_analytics",
            json!({"change": {"CreateFunnel": {"funnel": funnel.clone(), "backfill": false}}}),
        )
        .await;
    let live_id = created["funnels"][0]["id"].as_str().unwrap().to_owned();

    let now = now_ms();
    let start = now - 3 * 3_600_000;
    let mut rng = Rng::new(42);
    let kinds: [(&str, &[(&str, &str)]); 6] = [
        ("page_view", &[("path", "/pricing")]),
        ("page_view", &[("path", "/")]),
        ("signup_started", &[]),
        ("signup_completed", &[]),
        ("purchase", &[]),
        ("logout", &[]),
    ];
    let mut events = Vec::new();
    for user in 0..600 {
        let user = format!("u{user}");
        let count = 1 + rng.below(9);
        // Some users act within minutes, some over hours (their windows expire).
        let spread = if rng.below(2) == 0 {
            20 * 60_000
        } else {
            3 * 3_600_000
        };
        for _ in 0..count {
            let (name, properties) = kinds[rng.below(kinds.len() as u64) as usize];
            let ts = start + rng.below(spread) as i64;
            events.push(event(name, &user, ts, properties));
        }
    }
    events.sort_by_key(|e| e.ts);
    send_all(&app, &events).await;

    let steps = |event: &Event| -> Vec<usize> {
        let mut matched = Vec::new();
        if event.event == "page_view"
            && event.properties.get("path").map(String::as_str) == Some("/pricing")
        {
            matched.push(0);
        }
        for (index, name) in ["signup_started", "signup_completed", "purchase"]
            .iter()
            .enumerate()
        {
            if event.event == *name {
                matched.push(index + 1);
            }
        }
        matched
    };
    let mut by_user: HashMap<&str, Vec<(i64, Vec<usize>)>> = HashMap::new();
    for event in &events {
        by_user
            .entry(&event.user_id)
            .or_default()
            .push((event.ts, steps(event)));
    }
    let mut expected = vec![0_u64; 4];
    for user_events in by_user.values() {
        let depth = brute_force_depth(user_events, 4, window_ms);
        for reached in &mut expected[..depth] {
            *reached += 1;
        }
    }
    assert!(
        expected[3] > 0 && expected[0] > expected[3],
        "a telling sample: {expected:?}"
    );

    let report = |answer: AnalyticsAnswer| match answer {
        AnalyticsAnswer::Funnel(report) => report,
        other => panic!("not a funnel: {other:?}"),
    };
    let live = report(ask(&app, AnalyticsQuery::Funnel { id: live_id }).await);
    assert_eq!(live.users, expected, "counted as events arrived");
    for (step, median) in live.median_ms.iter().enumerate().skip(1) {
        let median = median.expect("a median time for every reached step");
        assert!(
            median >= 0.0 && median <= window_ms as f64,
            "step {step}: {median}"
        );
    }

    let backfilled = app
        .ok_fn(
            "change_analytics",
            json!({"change": {"CreateFunnel": {"funnel": funnel, "backfill": true}}}),
        )
        .await;
    let funnels = backfilled["funnels"].as_array().unwrap();
    let backfilled = funnels
        .iter()
        .find(|f| !f["counts_from_ms"].is_null())
        .unwrap();
    assert_eq!(backfilled["counts_from_ms"], events[0].ts);
    let id = backfilled["id"].as_str().unwrap().to_owned();
    let again = report(ask(&app, AnalyticsQuery::Funnel { id }).await);
    assert_eq!(again.users, expected, "backfilled from the raw log");
}

/// Rows equal up to the last bits a float loses in JSON.
fn assert_rows_match(rows: &[VariantResult], reference: &[VariantResult]) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300);
    let close_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (a, b) => a == b,
    };
    let close_pair = |a: Option<(f64, f64)>, b: Option<(f64, f64)>| match (a, b) {
        (Some(a), Some(b)) => close(a.0, b.0) && close(a.1, b.1),
        (a, b) => a == b,
    };
    assert_eq!(rows.len(), reference.len());
    for (row, want) in rows.iter().zip(reference) {
        assert!(
            row.name == want.name
                && (row.users, row.conversions) == (want.users, want.conversions)
                && close_opt(row.rate, want.rate)
                && close_pair(Some(row.rate_interval), Some(want.rate_interval))
                && close_opt(row.difference, want.difference)
                && close_pair(row.difference_interval, want.difference_interval)
                && close_opt(row.p_value, want.p_value)
                && close_opt(row.always_valid_p_value, want.always_valid_p_value)
                && row.warning == want.warning,
            "{row:?}\n against {want:?}"
        );
    }
}

/// Assignment is stable (every call, every process) and splits by weight within 1 % over
/// 100 000 users; exposures and conversions count once per user, and only conversions of
/// exposed users; the results carry the reference statistics of their counts.
#[tokio::test]
async fn experiments_assign_stably_and_count_once() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let other = TestApp::start_with_prefix(&redis.url(), &app.prefix).await;
    let experiment = json!({
        "id": "button-colour", "name": "Button colour", "goal_event": "purchase",
        "variants": [{"name": "control", "weight": 20}, {"name": "green", "weight": 30}, {"name": "red", "weight": 50}]
    });
    app.ok_fn(
        "change_analytics",
        json!({"change": {"CreateExperiment": {"experiment": experiment.clone()}}}),
    )
    .await;
    let (status, answer) = app
        .call_fn(
            "change_analytics",
            json!({"change": {"CreateExperiment": {"experiment": experiment}}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer.to_string().contains("exists already"), "{answer}");

    // The split, through the store (one round trip each, pipelined).
    let store = &app.state.store;
    let mut split: HashMap<String, u64> = HashMap::new();
    let users: Vec<String> = (0..100_000).map(|user| format!("user-{user}")).collect();
    for chunk in users.chunks(5_000) {
        let variants = futures::future::join_all(
            chunk
                .iter()
                .map(|user| store.assign("button-colour", user, false)),
        )
        .await;
        for variant in variants {
            *split.entry(variant.unwrap()).or_default() += 1;
        }
    }
    for (name, weight) in [("control", 0.2), ("green", 0.3), ("red", 0.5)] {
        let share = split[name] as f64 / 100_000.0;
        assert!((share - weight).abs() <= 0.01, "{name}: {share}");
    }

    // Through HTTP, from two processes, twice: the same variant, the same as the published
    // hash gives; 600 users exposed (some twice).
    let client = reqwest::Client::new();
    let mut exposed: HashMap<String, usize> = HashMap::new();
    for user in 0..600 {
        let user_id = format!("visitor-{user}");
        let mut seen = Vec::new();
        for server in [&app, &other, &app] {
            let answer: Value = client
                .get(server.url(&format!(
                    "/api/v1/experiments/button-colour/assign?user_id={user_id}"
                )))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            seen.push(answer["variant"].as_str().unwrap().to_owned());
        }
        assert!(
            seen.windows(2).all(|pair| pair[0] == pair[1]),
            "{user_id}: {seen:?}"
        );
        let index = assign_variant("button-colour", &user_id, &[20, 30, 50]).unwrap();
        assert_eq!(seen[0], ["control", "green", "red"][index]);
        exposed.insert(user_id, index);
    }
    let response = client
        .get(app.url("/api/v1/experiments/button-colour/assign"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = client
        .get(app.url("/api/v1/experiments/nope/assign?user_id=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // Goal events: every third exposed user buys (some twice); strangers buy too.
    let now = now_ms();
    let mut events = Vec::new();
    let mut converted = [0_u64; 3];
    for (position, (user, index)) in exposed.iter().enumerate() {
        if position % 3 == 0 {
            events.push(event("purchase", user, now, &[]));
            events.push(event("purchase", user, now, &[]));
            converted[*index] += 1;
        }
    }
    for stranger in 0..50 {
        events.push(event("purchase", &format!("stranger-{stranger}"), now, &[]));
    }
    send_all(&app, &events).await;
    let mut users = [0_u64; 3];
    for index in exposed.values() {
        users[*index] += 1;
    }
    let AnalyticsAnswer::Experiment(report) = ask(
        &app,
        AnalyticsQuery::Experiment {
            id: "button-colour".into(),
        },
    )
    .await
    else {
        panic!("not an experiment");
    };
    let counts: Vec<VariantCounts> = (0..3)
        .map(|i| VariantCounts::new(users[i], converted[i]))
        .collect();
    let reference = experiment_rows(&report.experiment, &counts, &[None, None, None]);
    assert_rows_match(&report.rows, &reference);
    // The running minimum of the always-valid p-value is kept between looks.
    let AnalyticsAnswer::Experiment(again) = ask(
        &app,
        AnalyticsQuery::Experiment {
            id: "button-colour".into(),
        },
    )
    .await
    else {
        panic!("not an experiment");
    };
    assert_rows_match(&again.rows, &reference);
    other.stop().await;
}

/// A heatmap counts every observation once, in the row of its value, whatever the step: the
/// sketches of buckets (and of series) merge.
#[tokio::test]
async fn heatmaps_merge_sketches_over_any_range() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let start = now - 2 * 3_600_000;
    let mut rng = Rng::new(3);
    let mut samples = Vec::new();
    let mut values = Vec::new();
    for index in 0..6_000_i64 {
        // Two services; response times from 1 ms to about 3 s.
        let value = (rng.unit() * 8.0).exp();
        values.push(value);
        samples.push(json!({
            "kind": "histogram", "name": "rt_ms", "labels": {"service": if index % 2 == 0 { "a" } else { "b" }},
            "value": value, "ts": start + index * 1_000
        }));
    }
    for batch in samples.chunks(2_000) {
        let (status, answer) = app.ingest(&Value::Array(batch.to_vec()).to_string()).await;
        assert_eq!(status, 200, "{answer}");
    }
    let mut totals = Vec::new();
    for step_ms in [60_000, 600_000, 3_600_000] {
        let AnalyticsAnswer::Heatmap(heatmap) = ask(
            &app,
            AnalyticsQuery::Heatmap {
                selector: "rt_ms".into(),
                from: start,
                to: now + 1,
                step_ms,
            },
        )
        .await
        else {
            panic!("not a heatmap");
        };
        assert_eq!(heatmap.step_ms, step_ms);
        assert_eq!(heatmap.bounds.len(), 25);
        let total: u64 = heatmap.columns.iter().flat_map(|(_, c)| c.iter()).sum();
        totals.push(total);
        // Each row holds the observations whose values lie in it (1 % either side, the sketch's
        // accuracy, may cross a boundary).
        let mut per_row = [0_u64; 24];
        for (_, counts) in &heatmap.columns {
            for (row, count) in counts.iter().enumerate() {
                per_row[row] += count;
            }
        }
        for (row, count) in per_row.iter().enumerate() {
            let (low, high) = (heatmap.bounds[row], heatmap.bounds[row + 1]);
            let inside = values
                .iter()
                .filter(|v| **v >= low * 1.01 && **v < high * 0.99)
                .count() as u64;
            let around = values
                .iter()
                .filter(|v| **v >= low * 0.99 && **v < high * 1.01)
                .count() as u64;
            assert!(
                (inside..=around).contains(count),
                "row {row}: {count} not in {inside}..={around}"
            );
        }
    }
    assert_eq!(totals, vec![6_000; 3]);
    let (status, _) = app
        .ingest(&json!([{"name": "rt_gauge", "value": 1.0}]).to_string())
        .await;
    assert_eq!(status, 200);
    let (status, answer) = app
        .call_fn(
            "analytics",
            json!({"query": {"Heatmap": {"selector": "rt_gauge", "from": start, "to": now + 1, "step_ms": 60_000}}}),
        )
        .await;
    assert_eq!(status, 400, "a heatmap needs a histogram: {answer}");
    assert!(answer.to_string().contains("histogram"), "{answer}");
}
