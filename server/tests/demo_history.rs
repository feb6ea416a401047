//! `--demo`'s history against a real Redis: on a Redis without demo data, the last 24 hours of
//! simulated traffic are written before the demo goes live, so that a day of any demo series has
//! data throughout and the funnel, experiment and unique-visitor widgets show numbers on first
//! load; it is written once per Redis, however many processes start, and not again on a restart.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use app::events::{AnalyticsAnswer, AnalyticsQuery};
use app::query::{Aggregation, Query, QueryResult, Selector, TimeRange};
use serde_json::json;
use support::{RedisServer, TestApp, now_ms};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// Requests the demo simulates in an hour at full load, over its three services: 60 a second
/// each. An hour of history holds at most this many, and at least 65 % of it (the quietest
/// time of the simulated day): twice the history would hold more.
const FULL_LOAD_REQUESTS_PER_HOUR: f64 = 3.0 * 60.0 * 3_600.0;

/// Waits until the demo's history is written; how it went, as the marker says.
async fn history_written(app: &TestApp) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = app.state.store.demo_history().await.unwrap();
        match state.as_deref() {
            Some(done) if done.starts_with("done") => return done.to_owned(),
            Some(ended) if ended.starts_with("failed") || ended.starts_with("stopped") => {
                panic!("the demo's history was not written: {ended}")
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the demo's history was not written within 120 s: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn ask(app: &TestApp, query: AnalyticsQuery) -> AnalyticsAnswer {
    let answer = app.ok_fn("analytics", json!({ "query": query })).await;
    serde_json::from_value(answer).unwrap()
}

/// One line combining every series of `selector` over `[from, to)` at `step_ms`.
async fn line(
    app: &TestApp,
    selector: &str,
    aggregation: Aggregation,
    (from, to, step_ms): (i64, i64, i64),
) -> (QueryResult, Vec<(i64, f64)>) {
    let query = Query {
        selector: Selector::parse(selector).unwrap(),
        range: TimeRange::Absolute { from, to },
        step_ms: Some(step_ms),
        aggregation,
        group_by: Some(Vec::new()),
    };
    let result = app.state.store.query(&query, now_ms()).await.unwrap();
    assert!(result.series.len() <= 1, "{selector}: {result:?}");
    let points = result
        .series
        .first()
        .map(|series| series.points.clone())
        .unwrap_or_default();
    (result, points)
}

/// Asserts that a point of `points` (steps of `step_ms`) covers each time of `times`.
fn covers(what: &str, points: &[(i64, f64)], step_ms: i64, times: impl Iterator<Item = i64>) {
    let starts: BTreeSet<i64> = points.iter().map(|(start, _)| *start).collect();
    for at in times {
        let covered = starts
            .range(..=at)
            .next_back()
            .is_some_and(|start| at < start + step_ms);
        assert!(
            covered,
            "{what}: no point at {at} ({} ms ago); steps with data: {}",
            now_ms() - at,
            starts.len()
        );
    }
}

/// Sums per hour of the requests and page views over the whole hours of `[from, to)`, which
/// only the history wrote; each within what one history holds.
async fn history_hours(app: &TestApp, from: i64, to: i64) -> (Vec<(i64, f64)>, Vec<(i64, f64)>) {
    let from = from + (HOUR - from.rem_euclid(HOUR)) % HOUR;
    let to = to - to.rem_euclid(HOUR);
    assert!(to - from >= 20 * HOUR);
    let (_, requests) = line(
        app,
        "http_requests_total",
        Aggregation::Sum,
        (from, to, HOUR),
    )
    .await;
    assert_eq!(requests.len() as i64, (to - from) / HOUR, "{requests:?}");
    for (start, sum) in &requests {
        assert!(
            *sum <= FULL_LOAD_REQUESTS_PER_HOUR && *sum >= 0.6 * FULL_LOAD_REQUESTS_PER_HOUR,
            "the hour from {start} holds {sum} requests: not one history's"
        );
    }
    let (_, page_views) = line(
        app,
        "events{event=\"page_view\"}",
        Aggregation::Sum,
        (from, to, HOUR),
    )
    .await;
    assert_eq!(page_views.len(), requests.len(), "{page_views:?}");
    assert!(page_views.iter().all(|(_, sum)| *sum > 0.0));
    (requests, page_views)
}

/// The demo dashboards (by title) and the demo funnels (by name).
async fn demo_definitions(app: &TestApp) -> (usize, usize) {
    let dashboards = app
        .state
        .store
        .list_dashboards()
        .await
        .unwrap()
        .into_iter()
        .filter(|summary| summary.title == "Product analytics (demo)")
        .count();
    let funnels = app
        .state
        .store
        .definitions()
        .await
        .unwrap()
        .funnels
        .into_iter()
        .filter(|funnel| funnel.name == "Sign-up (demo)")
        .count();
    (dashboards, funnels)
}

/// After `--demo` starts on an empty Redis, a day of a demo series has data in every hour (and
/// every minute), and the funnel, the experiment, unique visitors and top pages show numbers
/// that only the history can have made; a restart on the same Redis writes no second history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_with_a_day_of_history() {
    let redis = RedisServer::start();
    let demo = [("LIVEDASH_DEMO", "on")];
    let started = now_ms();
    let first = TestApp::start_with(&redis.url(), "demo:", &demo).await;
    let marker = history_written(&first).await;
    let now = now_ms();

    // Every hour of the last 24 has requests, and every minute has response times.
    let (result, requests) = line(
        &first,
        "http_requests_total",
        Aggregation::Rate,
        (now - 24 * HOUR, now, HOUR),
    )
    .await;
    assert_eq!(result.step_ms, HOUR);
    covers(
        "requests per hour",
        &requests,
        HOUR,
        (0..24)
            .map(|hours| now - hours * HOUR - 1)
            .chain([now - 24 * HOUR + MINUTE]),
    );
    assert!(requests.iter().all(|(_, rate)| *rate > 0.0), "{requests:?}");
    let (result, p99) = line(
        &first,
        "http_request_duration_ms",
        Aggregation::Quantile { q: 0.99 },
        (now - 24 * HOUR, now, MINUTE),
    )
    .await;
    assert_eq!(result.step_ms, MINUTE);
    covers(
        "p99 response time per minute",
        &p99,
        MINUTE,
        (1..24 * 60).map(|minutes| now - minutes * MINUTE),
    );
    assert!(
        p99.iter().all(|(_, ms)| *ms > 1.0 && *ms < 100_000.0),
        "{p99:?}"
    );

    // The analytics widgets, asked as the dashboard asks them.
    let dashboards = first.state.store.list_dashboards().await.unwrap();
    let summary = dashboards
        .iter()
        .find(|summary| summary.title == "Product analytics (demo)")
        .expect("the demo dashboard");
    let dashboard = first.state.store.dashboard(&summary.id).await.unwrap();
    let source = |id: &str| {
        dashboard
            .widgets
            .iter()
            .find(|widget| widget.id == id)
            .and_then(|widget| widget.source.clone())
            .unwrap_or_else(|| panic!("no {id} widget"))
    };

    let AnalyticsAnswer::Funnel(funnel) = ask(
        &first,
        AnalyticsQuery::Funnel {
            id: source("funnel").id,
        },
    )
    .await
    else {
        panic!("not a funnel report")
    };
    // Live traffic alone brings about five people a second to the pricing page.
    assert!(funnel.users[0] > 2_000, "{:?}", funnel.users);
    assert!(
        funnel.users[1] > 0 && funnel.users[2] > 0,
        "{:?}",
        funnel.users
    );
    assert!(funnel.users[0] >= funnel.users[1] && funnel.users[1] >= funnel.users[2]);
    assert!(funnel.median_ms[1].is_some() && funnel.median_ms[2].is_some());
    let counts_from = funnel
        .funnel
        .counts_from_ms
        .expect("counts from the history");
    assert!(
        counts_from <= started - 24 * HOUR + MINUTE && counts_from > started - 25 * HOUR,
        "counts from {counts_from}, started at {started}"
    );

    let AnalyticsAnswer::Experiment(experiment) = ask(
        &first,
        AnalyticsQuery::Experiment {
            id: source("experiment").id,
        },
    )
    .await
    else {
        panic!("not an experiment report")
    };
    assert_eq!(experiment.rows.len(), 2);
    for row in &experiment.rows {
        assert!(
            row.users > 500 && row.conversions > 0,
            "{}: {} users, {} conversions",
            row.name,
            row.users,
            row.conversions
        );
    }

    let AnalyticsAnswer::Uniques { users } = ask(
        &first,
        AnalyticsQuery::Uniques {
            event: String::new(),
            from: now - 24 * HOUR,
            to: now,
        },
    )
    .await
    else {
        panic!("not a unique count")
    };
    assert!(users > 10_000, "{users} unique visitors over 24 hours");
    // Hours before the demo started: the history's alone.
    let AnalyticsAnswer::Uniques { users: earlier } = ask(
        &first,
        AnalyticsQuery::Uniques {
            event: String::new(),
            from: started - 24 * HOUR,
            to: started - 2 * HOUR,
        },
    )
    .await
    else {
        panic!("not a unique count")
    };
    assert!(
        earlier > 5_000,
        "{earlier} unique visitors before the start"
    );

    let AnalyticsAnswer::Top { entries, total } = ask(
        &first,
        AnalyticsQuery::Top {
            event: "page_view".into(),
            property: "path".into(),
            from: started - 24 * HOUR,
            to: started - 2 * HOUR,
            limit: 10,
        },
    )
    .await
    else {
        panic!("not a ranking")
    };
    assert!(total > 10_000, "{total} page views before the start");
    assert!(
        entries.iter().any(|(path, _)| path == "/pricing"),
        "{entries:?}"
    );

    // A restart on the same Redis: no second history.
    let (requests_before, page_views_before) =
        history_hours(&first, started - 23 * HOUR, started - HOUR).await;
    assert_eq!(demo_definitions(&first).await, (1, 1));
    first.stop().await;
    let restarted = now_ms();
    let second = TestApp::start_with(&redis.url(), "demo:", &demo).await;
    // Its demo has gone past the point where it would have claimed the history once it writes
    // live traffic.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listing = second.state.store.current_values().await.unwrap();
        if listing
            .values
            .iter()
            .any(|value| value.series.name == "http_requests_total" && value.ts >= restarted)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted demo writes nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        second.state.store.demo_history().await.unwrap().as_deref(),
        Some(marker.as_str())
    );
    let (requests_after, page_views_after) =
        history_hours(&second, started - 23 * HOUR, started - HOUR).await;
    assert_eq!(requests_after, requests_before);
    assert_eq!(page_views_after, page_views_before);
    assert_eq!(demo_definitions(&second).await, (1, 1));
    second.stop().await;
}

/// Two processes starting at once on an empty Redis write one history between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_write_one_history() {
    let redis = RedisServer::start();
    let demo = [("LIVEDASH_DEMO", "on")];
    let url = redis.url();
    let started = now_ms();
    let (a, b) = tokio::join!(
        TestApp::start_with(&url, "both:", &demo),
        TestApp::start_with(&url, "both:", &demo),
    );
    history_written(&a).await;
    // Each hour holds what one history writes, not twice that.
    history_hours(&b, started - 23 * HOUR, started - HOUR).await;
    b.stop().await;
    a.stop().await;
}
