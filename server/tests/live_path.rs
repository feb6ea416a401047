//! The walking skeleton's live path against a real Redis: HTTP ingest → Redis → one
//! subscription per process → WebSocket clients, plus input validation and health checks.

mod support;

use std::time::Duration;

use app::live::{LiveData, ServerMessage};
use app::model::{CurrentValue, MetricKind, SeriesKey};
use redis::Commands as _;
use server::storage::{Keys, SeriesId};
use support::{LiveClient, LiveEvent, RedisServer, TestApp};

use support::now_ms;

/// The current value of `series` as stored in Redis, read without going through livedash.
fn stored(redis: &RedisServer, prefix: &str, series: &SeriesKey) -> Option<(i64, f64)> {
    let key = Keys::new(prefix).meta(&SeriesId::of(series));
    let (ts, value): (Option<i64>, Option<f64>) = redis::cmd("HMGET")
        .arg(&key)
        .arg("ts")
        .arg("v")
        .query(&mut redis.connection())
        .unwrap();
    ts.zip(value)
}

fn catalog_len(redis: &RedisServer, prefix: &str) -> usize {
    redis
        .connection()
        .hlen(Keys::new(prefix).catalog())
        .unwrap()
}

/// A point posted over HTTP is stored in Redis and pushed to a connected WebSocket client.
#[tokio::test]
async fn ingested_point_is_stored_and_pushed() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut live = app.live().await;
    assert_eq!(live.values().await, vec![]);

    let ts = now_ms() - 1000;
    let (status, body) = app
        .ingest(&format!(
            r#"[{{"name":"cpu_usage","labels":{{"host":"a"}},"value":42.5,"ts":{ts}}}]"#
        ))
        .await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(1)));

    let series = SeriesKey::new("cpu_usage").with_label("host", "a");
    assert_eq!(stored(&redis, &app.prefix, &series), Some((ts, 42.5)));
    let expected = CurrentValue {
        series,
        value: 42.5,
        ts,
        kind: Some(MetricKind::Gauge),
    };
    assert_eq!(live.values().await, vec![expected.clone()]);

    // A client connecting afterwards gets it in its snapshot, and so does the first render.
    let mut late = app.live().await;
    assert_eq!(late.values().await, vec![expected]);
    let page = reqwest::get(app.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("cpu_usage"), "{page}");
    assert!(page.contains("42.5"), "{page}");
}

/// An older point never replaces a newer current value, and is not pushed.
#[tokio::test]
async fn late_points_do_not_roll_values_back() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut live = app.live().await;
    live.message().await;
    let now = now_ms();
    let series = SeriesKey::new("queue_depth");

    app.ingest(&format!(r#"{{"name":"queue_depth","value":7,"ts":{now}}}"#))
        .await;
    assert_eq!(live.values().await.len(), 1);
    let (status, _) = app
        .ingest(&format!(
            r#"{{"name":"queue_depth","value":3,"ts":{}}}"#,
            now - 5000
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored(&redis, &app.prefix, &series), Some((now, 7.0)));
    assert!(live.next(Duration::from_millis(300)).await.is_none());

    // Within one batch, the newest point of each series wins whatever the order.
    app.ingest(&format!(
        r#"[{{"name":"queue_depth","value":9,"ts":{}}},{{"name":"queue_depth","value":8,"ts":{}}}]"#,
        now + 20,
        now + 10
    ))
    .await;
    assert_eq!(stored(&redis, &app.prefix, &series), Some((now + 20, 9.0)));
}

/// Bad input gets a 400 naming the item and the problem, and nothing of a refused item is
/// stored, while the good items of the same batch are.
#[tokio::test]
async fn bad_input_is_refused_by_item() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let too_long = "n".repeat(201);
    let cases = [
        ("[{\"name\":\"x\",\"value\":1", "malformed JSON at line 1"),
        (
            r#"[{"name":"x","value":NaN}]"#,
            "malformed JSON at line 1, column 22",
        ),
        // Items are read one by one: a number out of range refuses its item only.
        (
            r#"[{"name":"x","value":1e999}]"#,
            "item 0: number out of range",
        ),
        (r#"[{"name":"x"}]"#, "item 0: field `value`: missing"),
        (
            r#"[{"name":"x","value":"NaN"}]"#,
            "item 0: invalid type: string \"NaN\"",
        ),
        (
            r#"[{"name":"x","value":"Infinity"}]"#,
            "item 0: invalid type",
        ),
        (
            r#"[{"name":"","value":1}]"#,
            "item 0: field `name`: must not be empty",
        ),
        (
            &format!(r#"[{{"name":"{too_long}","value":1}}]"#),
            "item 0: field `name`: 201 bytes is longer than the limit of 200",
        ),
        (r#"[{"name":"a b","value":1}]"#, "item 0: field `name`"),
        (r#""hello""#, "expected a JSON array of samples"),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.ingest(body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let mut message = answer["error"].as_str().unwrap().to_owned();
        for rejected in answer["rejected"].as_array().into_iter().flatten() {
            message.push('\n');
            message.push_str(rejected["error"].as_str().unwrap());
        }
        assert!(
            message.contains(expected),
            "{body}: {message} lacks {expected}"
        );
    }
    assert_eq!(catalog_len(&redis, &app.prefix), 0, "nothing was stored");

    let (status, answer) = app
        .ingest(
            r#"[{"name":"good","value":1},{"name":"bad","value":null},{"name":"good2","value":2}]"#,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["rejected"][0]["index"], 1);
    assert!(
        answer["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("item 1: field `value`: missing"),
        "{answer}"
    );
    assert_eq!(
        answer["error"],
        "1 of 3 items rejected; 2 accepted and stored"
    );
    assert!(stored(&redis, &app.prefix, &SeriesKey::new("good")).is_some());
    assert!(stored(&redis, &app.prefix, &SeriesKey::new("good2")).is_some());
    assert!(stored(&redis, &app.prefix, &SeriesKey::new("bad")).is_none());
    assert_eq!(catalog_len(&redis, &app.prefix), 2);
}

/// Waits up to `within` for a snapshot or delta of `viewer` carrying the series `name`; panics
/// with `failure` otherwise.
async fn wait_for_value(viewer: &mut LiveClient, name: &str, within: Duration, failure: &str) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let remaining = deadline - tokio::time::Instant::now();
        match viewer.next(remaining).await {
            Some(LiveEvent::Message(
                ServerMessage::Delta {
                    data: LiveData::Latest { values, .. },
                    ..
                }
                | ServerMessage::Snapshot {
                    data: LiveData::Latest { values, .. },
                    ..
                },
            )) if values.iter().any(|v| v.series.name == name) => return,
            Some(LiveEvent::Message(_)) => {}
            other => panic!("{failure}: {other:?}"),
        }
    }
}

/// Two livedash processes on one Redis: a write taken by one reaches a viewer of the other.
#[tokio::test]
async fn a_write_to_one_process_reaches_viewers_of_another() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "shared:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "shared:").await;
    let mut viewer = second.live().await;
    viewer.message().await;
    let (status, _) = first.ingest(r#"{"name":"orders_total","value":12}"#).await;
    assert_eq!(status, 200);
    let values = viewer.values().await;
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].series.name, "orders_total");
    assert_eq!(values[0].value, 12.0);
}

/// After Redis restarts under a live subscription, the hub re-subscribes, viewers get a fresh
/// snapshot, and new writes flow again.
#[tokio::test]
async fn live_stream_recovers_after_redis_restart() {
    let mut redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut viewer = app.live().await;
    viewer.message().await;
    redis.restart();
    // Writes may be refused until the connection is re-made; they must never be acknowledged
    // without being stored.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = app.ingest(r#"{"name":"after_restart","value":1}"#).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored(&redis, &app.prefix, &SeriesKey::new("after_restart")).is_some());
    // The viewer sees the value, through a resync snapshot or an update, whichever came first.
    wait_for_value(
        &mut viewer,
        "after_restart",
        Duration::from_secs(10),
        "viewer did not recover",
    )
    .await;
}

/// A viewer whose feed started before the process's first live subscription (Redis refused
/// it for a while) still gets what was written before that subscription was made.
#[tokio::test]
async fn writes_before_the_first_subscription_reach_viewers() {
    let redis = RedisServer::start();
    let acl = |rules: &[&str]| {
        let _: Vec<()> =
            redis.on_every_node(redis::cmd("ACL").arg("SETUSER").arg("default").arg(rules));
    };
    acl(&["-subscribe", "-ssubscribe"]);
    let app = TestApp::start(&redis.url()).await;
    let mut viewer = app.live().await;
    viewer.message().await;
    let (status, answer) = app
        .ingest(r#"{"name":"before_subscribed","value":1}"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    acl(&["+subscribe", "+ssubscribe"]);
    wait_for_value(
        &mut viewer,
        "before_subscribed",
        Duration::from_secs(15),
        "the viewer never got the write",
    )
    .await;
}

/// Shutting down closes open sockets with "going away" and a reason.
#[tokio::test]
async fn shutdown_closes_sockets_with_a_reason() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut viewer = app.live().await;
    viewer.message().await;
    app.stop().await;
    match viewer.next(Duration::from_secs(5)).await {
        Some(LiveEvent::Closed { code, reason }) => {
            assert_eq!(code, 1001);
            assert_eq!(reason, "server shutting down");
        }
        other => panic!("expected a close, got {other:?}"),
    }
}

/// `/healthz` answers while the process runs; `/readyz` only while Redis answers.
#[tokio::test]
async fn health_and_readiness() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );

    let nowhere = format!("redis://127.0.0.1:{}/", support::free_port());
    let orphan = TestApp::start(&nowhere).await;
    let ready = reqwest::get(orphan.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "unavailable"
    );
    let health = reqwest::get(orphan.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, answer) = orphan.ingest(r#"{"name":"x","value":1}"#).await;
    assert_eq!(status, 503, "{answer}");
}
