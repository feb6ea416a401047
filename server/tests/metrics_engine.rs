//! The metrics engine against a real Redis: rollups against brute force, retention, counter
//! totals across restarts, percentiles, unique counts, kinds, and the query API.
//!
//! One file, over 600 lines: its tests share the brute-force reference that each result is
//! compared with, and splitting them would copy it.

mod support;

use std::collections::{BTreeMap, HashSet};

use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::query::{Aggregation, Query, QueryResult, Selector, TimeRange};
use server::storage::keys::RAW_CHUNK_MS;
use support::{RedisServer, Rng, TestApp, now_ms};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn observation(series: &SeriesKey, kind: MetricKind, ts: i64, value: Observed) -> Observation {
    Observation {
        series: series.clone(),
        kind,
        ts,
        value,
    }
}

async fn write_all(app: &TestApp, observations: &[Observation]) {
    for chunk in observations.chunks(2_000) {
        let outcome = app.state.writer.write(chunk.to_vec()).await.unwrap();
        assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
        assert_eq!(outcome.stored, chunk.len());
    }
}

async fn run(app: &TestApp, query: Query, now: i64) -> QueryResult {
    app.state.store.query(&query, now).await.unwrap()
}

fn query(selector: &str, from: i64, to: i64, step_ms: i64, aggregation: Aggregation) -> Query {
    Query {
        selector: Selector::parse(selector).unwrap(),
        range: TimeRange::Absolute { from, to },
        step_ms: Some(step_ms),
        aggregation,
        group_by: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// What a step of brute force holds: the points in it, in arrival order.
fn brute_force(
    points: &[(i64, f64)],
    from: i64,
    to: i64,
    step: i64,
    aggregation: Aggregation,
) -> Vec<(i64, f64)> {
    let mut steps: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for &(ts, value) in points {
        if (from..to).contains(&ts) {
            steps
                .entry(ts - ts.rem_euclid(step))
                .or_default()
                .push((ts, value));
        }
    }
    steps
        .into_iter()
        .map(|(start, points)| {
            let values = points.iter().map(|(_, v)| *v);
            let value = match aggregation {
                Aggregation::Avg => values.sum::<f64>() / points.len() as f64,
                Aggregation::Min => values.fold(f64::INFINITY, f64::min),
                Aggregation::Max => values.fold(f64::NEG_INFINITY, f64::max),
                Aggregation::Sum => values.sum(),
                Aggregation::Count => points.len() as f64,
                // The latest time wins; on a tie, the later arrival.
                Aggregation::Last => {
                    points
                        .iter()
                        .fold(
                            (i64::MIN, 0.0),
                            |best, &(ts, v)| {
                                if ts >= best.0 { (ts, v) } else { best }
                            },
                        )
                        .1
                }
                other => panic!("no brute force for {other:?}"),
            };
            (start, value)
        })
        .collect()
}

/// Every tier's rollups equal a brute-force computation over the raw points, for random
/// points arriving out of order over 30 hours, per series and grouped.
#[tokio::test]
async fn rollups_equal_brute_force() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let mut rng = Rng::new(0x5eed_0001);
    let hosts = ["a", "b", "c"];
    let mut written: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    let mut observations = Vec::new();
    let mut used = HashSet::new();
    while observations.len() < 6_000 {
        let host = hosts[rng.below(3) as usize];
        let ts = now - 1 - rng.below(30 * HOUR as u64) as i64;
        if !used.insert((host, ts)) {
            continue;
        }
        let value = (rng.unit() * 2000.0 - 1000.0).round() / 8.0;
        let series = SeriesKey::new("temperature").with_label("host", host);
        observations.push(observation(
            &series,
            MetricKind::Gauge,
            ts,
            Observed::Number(value),
        ));
        written.entry(host).or_default().push((ts, value));
    }
    // Half in time order, in batches of 1 to 60 points (a bucket stays open over several
    // writes, then moves to its chunk when a newer one opens); the other half in random order
    // (late points for buckets already moved).
    let (in_order, random) = observations.split_at_mut(3_000);
    in_order.sort_by_key(|observation| observation.ts);
    let mut rest = &in_order[..];
    while !rest.is_empty() {
        let (batch, after) = rest.split_at((1 + rng.below(60) as usize).min(rest.len()));
        write_all(&app, batch).await;
        rest = after;
    }
    write_all(&app, random).await;

    let aggregations = [
        Aggregation::Avg,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Sum,
        Aggregation::Count,
        Aggregation::Last,
    ];
    // (tier, step, range): each tier at its own width, over a span it retains.
    let cases = [
        ("raw", SECOND, now - HOUR, now + 1),
        ("10s", 10 * SECOND, now - 6 * HOUR, now + 1),
        ("1m", MINUTE, now - 30 * HOUR, now + 1),
        ("1m", 7 * MINUTE, now - 30 * HOUR, now + 1),
        ("1h", HOUR, now - 30 * HOUR, now + 1),
        ("1d", DAY, now - 30 * HOUR, now + 1),
    ];
    let mut compared = 0;
    for (tier, step, from, to) in cases {
        for aggregation in aggregations {
            let result = run(&app, query("temperature", from, to, step, aggregation), now).await;
            assert_eq!(result.tier, tier);
            let from = result.from;
            assert_eq!(result.series.len(), hosts.len());
            for line in &result.series {
                let host = line.labels["host"].as_str();
                let expected = brute_force(&written[host], from, to, step, aggregation);
                assert_eq!(
                    line.points.len(),
                    expected.len(),
                    "{tier} {aggregation:?} {host}"
                );
                for (got, want) in line.points.iter().zip(&expected) {
                    assert_eq!(got.0, want.0, "{tier} {aggregation:?} {host}");
                    assert!(
                        close(got.1, want.1),
                        "{tier} {aggregation:?} {host} at {}: {} != {}",
                        got.0,
                        got.1,
                        want.1
                    );
                    compared += 1;
                }
            }
            // All hosts combined into one line.
            let mut grouped = query("temperature", from, to, step, aggregation);
            grouped.group_by = Some(vec![]);
            let result = run(&app, grouped, now).await;
            let all: Vec<(i64, f64)> = written.values().flatten().copied().collect();
            let mut all_sorted = all.clone();
            all_sorted.sort_by_key(|(ts, _)| *ts);
            let expected = brute_force(&all_sorted, from, to, step, aggregation);
            assert_eq!(result.series.len(), 1);
            for (got, want) in result.series[0].points.iter().zip(&expected) {
                assert!(
                    close(got.1, want.1),
                    "grouped {tier} {aggregation:?} at {}: {} != {}",
                    got.0,
                    got.1,
                    want.1
                );
            }
            assert_eq!(result.series[0].points.len(), expected.len());
        }
    }
    assert!(compared > 20_000, "only {compared} points compared");

    // A label filter narrows the series.
    let result = run(
        &app,
        query(
            r#"temperature{host=~"a|b"}"#,
            now - HOUR,
            now + 1,
            MINUTE,
            Aggregation::Count,
        ),
        now,
    )
    .await;
    assert_eq!(result.series.len(), 2);
}

/// Points beyond retention are dropped on write and trimmed later; the rest stay.
#[tokio::test]
async fn retention_drops_what_is_older() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "ret:",
        &[
            ("LIVEDASH_RETENTION_RAW", "2s"),
            ("LIVEDASH_RETENTION_10S", "1h"),
        ],
    )
    .await;
    let series = SeriesKey::new("depth");
    let now = now_ms();
    let gauge = |ts, v| observation(&series, MetricKind::Gauge, ts, Observed::Number(v));
    write_all(
        &app,
        &[
            gauge(now - 3 * HOUR, 1.0),
            gauge(now - 30 * MINUTE, 2.0),
            gauge(now - 500, 3.0),
        ],
    )
    .await;

    let tens = run(
        &app,
        query(
            "depth",
            now - 4 * HOUR,
            now + 1,
            10 * SECOND,
            Aggregation::Last,
        ),
        now,
    )
    .await;
    let values: Vec<f64> = tens.series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(values, [2.0, 3.0], "the 10 s tier keeps 1 h");
    let minutes = run(
        &app,
        query("depth", now - 4 * HOUR, now + 1, MINUTE, Aggregation::Last),
        now,
    )
    .await;
    assert_eq!(
        minutes.series[0].points.len(),
        3,
        "the 1 min tier keeps 30 days"
    );

    let raw = run(
        &app,
        query(
            "depth",
            now - 5 * MINUTE,
            now + 1,
            SECOND,
            Aggregation::Last,
        ),
        now,
    )
    .await;
    assert_eq!(
        raw.series[0].points,
        vec![((now - 500) - (now - 500).rem_euclid(SECOND), 3.0)]
    );
    // Two seconds later the raw point is past retention: the next write trims it.
    tokio::time::sleep(std::time::Duration::from_millis(2_600)).await;
    let later = now_ms();
    write_all(&app, &[gauge(later, 4.0)]).await;
    let raw = run(
        &app,
        query(
            "depth",
            now - 5 * MINUTE,
            later + 1,
            SECOND,
            Aggregation::Last,
        ),
        later,
    )
    .await;
    let values: Vec<f64> = raw.series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(values, [4.0]);
    // In Redis: a point already past the retention is not stored raw at all, and a raw chunk
    // expires exactly when its newest possible point leaves the retention.
    let keys = app.state.store.keys();
    let id = server::storage::SeriesId::of(&series);
    let chunk_of = |ts: i64| ts.div_euclid(RAW_CHUNK_MS);
    let mut connection = redis.connection();
    let exists: bool = redis::cmd("EXISTS")
        .arg(keys.raw_chunk(&id, chunk_of(now - 3 * HOUR)))
        .query(&mut connection)
        .unwrap();
    assert!(!exists, "a point older than the raw retention was stored");
    let expires: i64 = redis::cmd("PEXPIRETIME")
        .arg(keys.raw_chunk(&id, chunk_of(later)))
        .query(&mut connection)
        .unwrap();
    assert_eq!(expires, (chunk_of(later) + 1) * RAW_CHUNK_MS + 2_000);
}

/// A counter's running total is kept in Redis, so it continues across a livedash restart;
/// rate and sum are computed from the increments.
#[tokio::test]
async fn counter_total_survives_restart() {
    let redis = RedisServer::start();
    let series = SeriesKey::new("requests_total").with_label("route", "/api");
    let now = now_ms();
    // Three increments inside one minute that is already over.
    let minute = now - now.rem_euclid(MINUTE) - 3 * MINUTE;
    let increment = |ts, v| observation(&series, MetricKind::Counter, ts, Observed::Number(v));
    let first = TestApp::start_with(&redis.url(), "ctr:", &[]).await;
    write_all(
        &first,
        &[
            increment(minute + 10_000, 5.0),
            increment(minute + 20_000, 7.0),
        ],
    )
    .await;
    first.stop().await;

    let second = TestApp::start_with(&redis.url(), "ctr:", &[]).await;
    write_all(&second, &[increment(minute + 30_000, 3.0)]).await;
    let listing = second.state.store.current_values().await.unwrap();
    let total = listing.values.iter().find(|v| v.series == series).unwrap();
    assert_eq!(total.value, 15.0);

    let window = |aggregation| {
        query(
            "requests_total",
            minute,
            minute + MINUTE,
            MINUTE,
            aggregation,
        )
    };
    let sum = run(&second, window(Aggregation::Sum), now).await;
    assert_eq!(sum.series[0].points, vec![(minute, 15.0)]);
    let last = run(&second, window(Aggregation::Last), now).await;
    assert_eq!(last.series[0].points, vec![(minute, 15.0)]);
    let rate = run(&second, window(Aggregation::Rate), now).await;
    assert_eq!(rate.series[0].points, vec![(minute, 15.0 / 60.0)]);
    let gauge_like = run(&second, window(Aggregation::Max), now).await;
    assert_eq!(
        gauge_like.series[0].points,
        vec![(minute, 7.0)],
        "the largest increment"
    );
}

/// Percentiles over ranges spanning many buckets are within 1% of the exact quantile.
#[tokio::test]
async fn percentiles_within_one_percent() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let start = now - now.rem_euclid(12 * HOUR) - 12 * HOUR;
    let series = SeriesKey::new("response_ms").with_label("route", "/checkout");
    let mut rng = Rng::new(42);
    let mut values = Vec::new();
    let mut observations = Vec::new();
    for i in 0..20_000_i64 {
        // Log-normal-ish latencies with a slow tail.
        let base = (rng.unit() * 3.0 + rng.unit() * 2.0).exp();
        let value = if rng.below(50) == 0 {
            base * 40.0
        } else {
            base
        };
        let ts = start + (i * 10 * HOUR / 20_000) + rng.below(1000) as i64;
        values.push((ts, value));
        observations.push(observation(
            &series,
            MetricKind::Histogram,
            ts,
            Observed::Number(value),
        ));
    }
    write_all(&app, &observations).await;

    let lower_rank =
        |sorted: &[f64], q: f64| sorted[(q * (sorted.len() - 1) as f64).floor() as usize];
    let mut all: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
    all.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
        // One step over 10 hours of 1 h buckets.
        let result = run(
            &app,
            query(
                "response_ms",
                start,
                start + 12 * HOUR,
                12 * HOUR,
                Aggregation::Quantile { q },
            ),
            now,
        )
        .await;
        assert_eq!(result.tier, "1h");
        let got = result.series[0].points[0].1;
        let exact = lower_rank(&all, q);
        assert!(
            (got - exact).abs() <= 0.01 * exact,
            "q={q}: {got} vs exact {exact}"
        );
    }
    // Per-hour quantiles from 1-minute buckets (60 merged per step).
    let result = run(
        &app,
        query(
            "response_ms",
            start,
            start + 10 * HOUR,
            HOUR,
            Aggregation::Quantile { q: 0.95 },
        ),
        now,
    )
    .await;
    assert_eq!(result.tier, "1h");
    let per_minute = run(
        &app,
        query(
            "response_ms",
            start,
            start + 10 * HOUR,
            59 * MINUTE,
            Aggregation::Quantile { q: 0.95 },
        ),
        now,
    )
    .await;
    assert_eq!(per_minute.tier, "1m");
    for line in [&result, &per_minute] {
        let step = line.step_ms;
        for (step_start, got) in &line.series[0].points {
            let mut window: Vec<f64> = values
                .iter()
                .filter(|(ts, _)| (*step_start..step_start + step).contains(ts))
                .map(|(_, v)| *v)
                .collect();
            window.sort_by(f64::total_cmp);
            let exact = lower_rank(&window, 0.95);
            assert!(
                (got - exact).abs() <= 0.01 * exact,
                "step {step_start}: {got} vs {exact}"
            );
        }
    }
}

/// Unique counts union the buckets' HyperLogLogs: within 2% of the exact count for 100 000
/// members over a week of hourly buckets.
#[tokio::test]
async fn unique_counts_within_two_percent() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let now = now_ms();
    let week_start = now - 7 * DAY;
    let series = SeriesKey::new("visitors");
    let mut rng = Rng::new(7);
    let mut observations = Vec::new();
    let mut last_20h = HashSet::new();
    for member in 0..100_000_u32 {
        for _ in 0..=rng.below(2) {
            let ts = week_start + 1 + rng.below((7 * DAY - 2) as u64) as i64;
            if ts >= now - 20 * HOUR {
                last_20h.insert(member);
            }
            observations.push(observation(
                &series,
                MetricKind::Set,
                ts,
                Observed::Member(format!("user-{member}")),
            ));
        }
    }
    write_all(&app, &observations).await;

    // A step of whole days that holds the whole week in one step, so one union answers.
    let step = (8..)
        .map(|days| days * DAY)
        .find(|step| week_start.div_euclid(*step) == now.div_euclid(*step))
        .unwrap();
    let week = run(
        &app,
        query("visitors", week_start, now + 1, step, Aggregation::Unique),
        now,
    )
    .await;
    let total: f64 = week.series[0].points.iter().map(|p| p.1).sum();
    assert_eq!(week.series[0].points.len(), 1, "{week:?}");
    assert!((total - 100_000.0).abs() <= 2_000.0, "week: {total}");

    let hours = run(
        &app,
        query(
            "visitors",
            now - 20 * HOUR,
            now + 1,
            20 * HOUR,
            Aggregation::Unique,
        ),
        now,
    )
    .await;
    assert_eq!(hours.tier, "1h");
    let counted: f64 = hours.series[0].points.iter().map(|p| p.1).sum();
    let exact = last_20h.len() as f64;
    // The 20 h range may start inside a step; compare the union over the whole steps read.
    assert!(
        counted >= exact * 0.98,
        "20 h: {counted} vs at least {exact}"
    );

    // The hourly buckets of the whole week exist, and their union is right too.
    let id = server::storage::SeriesId::of(&series);
    let keys: Vec<String> = (0..=7 * 24)
        .map(|h| {
            let start = week_start - week_start.rem_euclid(HOUR) + h * HOUR;
            app.state.store.keys().set_bucket(&id, "1h", start)
        })
        .collect();
    let union: f64 = redis::cmd("PFCOUNT")
        .arg(&keys)
        .query(&mut redis.connection())
        .unwrap();
    assert!(
        (union - 100_000.0).abs() <= 2_000.0,
        "hourly union: {union}"
    );
}

/// A series keeps its kind: samples of another kind are refused with a message, others kept.
#[tokio::test]
async fn kinds_do_not_mix() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let (status, _) = app.ingest(r#"{"name":"jobs","value":1}"#).await;
    assert_eq!(status, 200);
    let (status, answer) = app
        .ingest(r#"[{"kind":"counter","name":"jobs","value":1},{"kind":"counter","name":"jobs_done","value":2}]"#)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"][0]["index"], 0);
    assert_eq!(
        answer["rejected"][0]["error"],
        "item 0: series jobs is a gauge; this sample is a counter"
    );
}

async fn get(app: &TestApp, path: String) -> (u16, serde_json::Value) {
    let response = reqwest::get(app.url(&path)).await.unwrap();
    (
        response.status().as_u16(),
        response.json::<serde_json::Value>().await.unwrap(),
    )
}

/// The HTTP query API answers with the query result, and names bad parameters.
#[tokio::test]
async fn query_api() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let (status, _) = app
        .ingest(r#"[{"name":"load","labels":{"host":"a"},"value":1.5},{"name":"load","labels":{"host":"b"},"value":2.5},{"kind":"histogram","name":"lat","value":12}]"#)
        .await;
    assert_eq!(status, 200);
    let (status, answer) = get(
        &app,
        "/api/v1/query?query=load&agg=max&range=5m&step=1m&group_by=".into(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["tier"], "1m");
    assert_eq!(
        answer["series"][0]["points"][0][1], 2.5,
        "the open bucket is included: {answer}"
    );
    let (status, answer) = get(
        &app,
        "/api/v1/query?query=load%7Bhost%3D%22a%22%7D&agg=last&range=5m".into(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["series"][0]["labels"]["host"], "a");
    let (status, answer) = get(
        &app,
        "/api/v1/query?query=lat&agg=p99&range=1h&step=1h".into(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let p99 = answer["series"][0]["points"][0][1].as_f64().unwrap();
    assert!((p99 - 12.0).abs() <= 0.12, "{answer}");

    for (path, expected) in [
        ("/api/v1/query?agg=avg", "parameter `query`"),
        ("/api/v1/query?query=load&agg=mean", "parameter `agg`"),
        (
            "/api/v1/query?query=load&agg=rate",
            "rate does not apply to load{host=\"a\"}, a gauge",
        ),
        (
            "/api/v1/query?query=load%7Bhost%3D~%22(%22%7D",
            "invalid regular expression",
        ),
        (
            "/api/v1/query?query=load&range=30d&step=1s",
            "points; a line has at most",
        ),
    ] {
        let (status, answer) = get(&app, path.into()).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{path}: {answer}"
        );
    }
}

/// Concurrent writes are combined into one storage write, and each request still gets its own
/// stored count and its own refused items, at its own indices.
#[tokio::test]
async fn concurrent_writes_get_their_own_outcome() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let gauge = SeriesKey::new("shared_kind");
    let now = now_ms();
    write_all(
        &app,
        &[observation(
            &gauge,
            MetricKind::Gauge,
            now - 100,
            Observed::Number(1.0),
        )],
    )
    .await;
    let requests: Vec<_> = (0..20_i64)
        .map(|request| {
            let writer = app.state.writer.clone();
            let own = SeriesKey::new("own").with_label("request", request.to_string());
            let mut batch: Vec<Observation> = (0..50)
                .map(|i| {
                    observation(
                        &own,
                        MetricKind::Gauge,
                        now - 1000 + i,
                        Observed::Number(i as f64),
                    )
                })
                .collect();
            // Odd requests also carry a counter sample for the gauge series, at index 7.
            if request % 2 == 1 {
                batch.insert(
                    7,
                    observation(&gauge, MetricKind::Counter, now, Observed::Number(1.0)),
                );
            }
            tokio::spawn(async move { (request, writer.write(batch).await.unwrap()) })
        })
        .collect();
    for handle in requests {
        let (request, outcome) = handle.await.unwrap();
        assert_eq!(outcome.stored, 50, "request {request}");
        if request % 2 == 1 {
            assert_eq!(outcome.refused.len(), 1, "request {request}");
            assert_eq!(outcome.refused[0].0, 7);
            assert!(
                outcome.refused[0].1.contains("is a gauge"),
                "{:?}",
                outcome.refused
            );
        } else {
            assert!(outcome.refused.is_empty(), "request {request}");
        }
    }
    let count = run(
        &app,
        query("own", now - 2000, now + 1, 10_000, Aggregation::Count),
        now,
    )
    .await;
    let total: f64 = count
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .sum();
    assert_eq!(total, 20.0 * 50.0);
}

/// A `__name__` matcher chooses among the catalog's metric names, as in PromQL: an exact one is
/// the name itself, a pattern reads every metric it matches (each line named by `__name__`),
/// and a selector that names no metric is refused, saying what is missing.
#[tokio::test]
async fn name_matchers_choose_metrics() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let (status, answer) = app
        .ingest(
            r#"[
            {"kind":"counter","name":"http_requests_total","labels":{"route":"/api"},"value":3},
            {"kind":"counter","name":"http_requests_total","labels":{"route":"/"},"value":1},
            {"kind":"counter","name":"http_errors_total","labels":{"route":"/api"},"value":2},
            {"name":"httpd_up","labels":{"route":"/api"},"value":1},
            {"name":"go_goroutines","labels":{"route":"/api"},"value":7}
        ]"#,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let now = now_ms();
    let sum = |selector: &str| {
        query(
            selector,
            now - MINUTE,
            now + SECOND,
            MINUTE,
            Aggregation::Sum,
        )
    };
    // Each line as (its `__name__` label, its route).
    let lines = |result: &QueryResult| -> Vec<(String, String)> {
        result
            .series
            .iter()
            .map(|line| {
                let label = |name: &str| line.labels.get(name).cloned().unwrap_or_default();
                (label("__name__"), label("route"))
            })
            .collect()
    };
    let pair = |name: &str, route: &str| (name.to_owned(), route.to_owned());

    // An exact `__name__` is the name.
    let plain = run(&app, sum("http_requests_total"), now).await;
    assert_eq!(plain.series.len(), 2);
    assert_eq!(
        run(&app, sum(r#"{__name__="http_requests_total"}"#), now).await,
        plain
    );
    // A fixed name with a pattern besides: one metric, lines as usual.
    let both = run(
        &app,
        sum(r#"http_requests_total{__name__=~".*_total", route="/"}"#),
        now,
    )
    .await;
    assert_eq!(lines(&both), [pair("", "/")]);

    // Patterns choose among the names; each line names its metric.
    assert_eq!(
        lines(&run(&app, sum(r#"{__name__=~"http_.*"}"#), now).await),
        [
            pair("http_errors_total", "/api"),
            pair("http_requests_total", "/"),
            pair("http_requests_total", "/api"),
        ]
    );
    assert_eq!(
        lines(&run(&app, sum(r#"{__name__=~"http.*", route="/api"}"#), now).await),
        [
            pair("http_errors_total", "/api"),
            pair("http_requests_total", "/api"),
            pair("httpd_up", "/api"),
        ]
    );
    assert_eq!(
        lines(&run(&app, sum(r#"{__name__!~"http.*"}"#), now).await),
        [pair("go_goroutines", "/api")]
    );
    assert_eq!(
        lines(
            &run(
                &app,
                sum(r#"{__name__!="http_errors_total", __name__=~"http_.*", route="/api"}"#),
                now
            )
            .await
        ),
        [pair("http_requests_total", "/api")]
    );
    assert!(
        run(&app, sum(r#"{__name__=~"nothing_.*"}"#), now)
            .await
            .series
            .is_empty()
    );
    // Grouped by `__name__`: one line per metric.
    let mut grouped = sum(r#"{__name__=~"http_.*"}"#);
    grouped.group_by = Some(vec!["__name__".into()]);
    assert_eq!(
        lines(&run(&app, grouped, now).await),
        [
            pair("http_errors_total", ""),
            pair("http_requests_total", "")
        ]
    );

    // What cannot be answered says why.
    let refused = |query: Query| {
        let store = app.state.store.clone();
        async move { store.query(&query, now).await.unwrap_err().to_string() }
    };
    let mut latest = sum(r#"{__name__=~"http.*"}"#);
    latest.aggregation = Aggregation::Last;
    let problem = refused(latest).await;
    assert!(problem.contains("different kinds"), "{problem}");
    let mut unnamed = sum("x");
    unnamed.selector = Selector {
        name: String::new(),
        matchers: Selector::parse(r#"x{route="/api"}"#).unwrap().matchers,
    };
    let problem = refused(unnamed).await;
    assert!(
        problem.contains("expected a metric name, or a __name__ matcher"),
        "{problem}"
    );
    let problem = refused(sum(r#"{__name__=~"("}"#)).await;
    assert!(problem.contains("invalid regular expression"), "{problem}");

    // The HTTP API and the catalog read the same selectors.
    let (status, answer) = get(
        &app,
        "/api/v1/query?query=%7B__name__%3D~%22http_.*%22%7D&agg=sum&range=5m".into(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["series"].as_array().unwrap().len(), 3, "{answer}");
    assert_eq!(
        answer["series"][0]["labels"]["__name__"],
        "http_errors_total"
    );
    let (status, answer) = get(
        &app,
        "/api/v1/query?query=%7Broute%3D%22%2Fapi%22%7D&agg=sum&range=5m".into(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("__name__ matcher"),
        "{answer}"
    );
    let (status, page) = get(
        &app,
        "/api/v1/series?match=%7B__name__%3D~%22http_.*%22%2Croute%3D%22%2Fapi%22%7D&limit=10"
            .into(),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2, "{page}");
}
