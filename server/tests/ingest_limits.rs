//! The ingest paths' limits and refusals against a real Redis: items per request and the body
//! limit on every ingest endpoint, each refused whole with a 413 that names the limit, its value
//! and its variable in the endpoint's own format; an item refused by storage leaves nothing
//! behind; values whose sums could overflow are refused; duplicate keys, duplicate fields and a
//! line that is not UTF-8.

mod support;

use std::io::Write;

use app::model::SeriesKey;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use support::{RedisServer, TestApp};

/// POSTs `body` to `path`; the status and the answer, as JSON when it is JSON.
async fn post(app: &TestApp, path: &str, body: Vec<u8>, gzip: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json");
    let body = if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&body).unwrap();
        request = request.header("content-encoding", "gzip");
        encoder.finish().unwrap()
    } else {
        body
    };
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every series livedash holds.
async fn stored_series(app: &TestApp) -> Vec<SeriesKey> {
    let listing = app.state.store.current_values().await.unwrap();
    listing
        .values
        .into_iter()
        .map(|value| value.series)
        .collect()
}

/// The number of points `name` holds over the last hour.
async fn point_count(app: &TestApp, name: &str) -> f64 {
    let response = reqwest::get(app.url(&format!(
        "/api/v1/query?query={name}&agg=count&range=1h&step=1h"
    )))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|series| series["points"].as_array().unwrap().clone())
        .map(|point| point[1].as_f64().unwrap_or(0.0))
        .sum()
}

fn json_samples(count: usize, name: &str) -> Vec<u8> {
    let items: Vec<String> = (0..count)
        .map(|i| format!(r#"{{"name":"{name}","labels":{{"i":"{i}"}},"value":{i}}}"#))
        .collect();
    format!("[{}]", items.join(",")).into_bytes()
}

fn events(count: usize, event: &str) -> Vec<u8> {
    let items: Vec<String> = (0..count)
        .map(|i| format!(r#"{{"event":"{event}","user_id":"u{i}"}}"#))
        .collect();
    format!("[{}]", items.join(",")).into_bytes()
}

/// More samples or events than one request may hold are refused whole, with a 413 naming the
/// limit, its value and its variable, in each endpoint's format; nothing of them is stored.
#[tokio::test]
async fn item_limits_on_every_ingest_path() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "items:",
        &[
            ("LIVEDASH_MAX_BATCH_SAMPLES", "3"),
            ("LIVEDASH_MAX_BATCH_EVENTS", "2"),
        ],
    )
    .await;

    let (status, answer) = post(&app, "/api/v1/ingest", json_samples(4, "over"), false).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        answer,
        serde_json::json!({
            "error": "a request holds at most 3 samples (the limit LIVEDASH_MAX_BATCH_SAMPLES \
                      sets), got 4; send several smaller batches",
            "accepted": 0
        })
    );
    let (status, answer) = post(&app, "/api/v1/ingest", json_samples(3, "within"), false).await;
    assert_eq!((status, &answer["accepted"]), (200, &Value::from(3)));

    // Line protocol counts samples, one per numeric field: 2 lines, 4 samples.
    let lines = b"cpu a=1,b=2\ncpu c=3,d=4\n".to_vec();
    let (status, answer) = post(&app, "/api/v2/write?bucket=b", lines.clone(), false).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["code"], "request too large");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "a request holds at most 3 samples (the limit LIVEDASH_MAX_BATCH_SAMPLES sets)"
        ),
        "{message}"
    );
    let (status, answer) = post(&app, "/write?db=x", lines, true).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("at most 3 samples (the limit LIVEDASH_MAX_BATCH_SAMPLES sets)"),
        "{answer}"
    );
    let (status, answer) = post(&app, "/api/v2/write", b"cpu a=1,b=2,c=3".to_vec(), false).await;
    assert_eq!(status, 204, "{answer}");

    let (status, answer) = post(&app, "/api/v1/events", events(3, "signup"), false).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        answer["error"],
        "a request holds at most 2 events (the limit LIVEDASH_MAX_BATCH_EVENTS sets), got 3; \
         send several smaller batches"
    );
    let (status, answer) = post(&app, "/api/v1/events", events(2, "visit"), false).await;
    assert_eq!(status, 200, "{answer}");

    let names: Vec<String> = stored_series(&app)
        .await
        .into_iter()
        .map(|series| series.name)
        .collect();
    assert!(!names.iter().any(|name| name == "over"), "{names:?}");
    assert_eq!(names.iter().filter(|name| *name == "within").count(), 3);
    assert_eq!(
        names.iter().filter(|name| name.starts_with("cpu_")).count(),
        3
    );
    assert_eq!(names.iter().filter(|name| *name == "events").count(), 1);
}

/// A body over `LIVEDASH_MAX_BODY_BYTES` is refused with a 413 that names the limit, in each
/// endpoint's format; on the InfluxDB endpoints also when it is over only once decompressed.
#[tokio::test]
async fn body_limit_refusals_name_the_variable() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "body:",
        &[("LIVEDASH_MAX_BODY_BYTES", "1000")],
    )
    .await;
    let json = json_samples(40, "big");
    assert!(json.len() > 1000);
    for path in ["/api/v1/ingest", "/api/v1/events"] {
        let (status, answer) = post(&app, path, json.clone(), false).await;
        assert_eq!(status, 413, "{path}: {answer}");
        assert_eq!(
            answer,
            serde_json::json!({
                "error": "the request body is over 1000 bytes, the limit \
                          LIVEDASH_MAX_BODY_BYTES sets; send smaller batches",
                "accepted": 0
            }),
            "{path}"
        );
    }
    let lines: Vec<u8> = (0..100)
        .flat_map(|i| format!("m,host=h{i} v={i}\n").into_bytes())
        .collect();
    assert!(lines.len() > 1000);
    for gzip in [false, true] {
        let (status, answer) = post(&app, "/api/v2/write?bucket=b", lines.clone(), gzip).await;
        assert_eq!(status, 413, "gzip {gzip}: {answer}");
        assert_eq!(
            answer,
            serde_json::json!({
                "code": "request too large",
                "message": "the request body is over 1000 bytes (counted after \
                            decompression), the limit LIVEDASH_MAX_BODY_BYTES sets; send \
                            smaller batches"
            })
        );
        let (status, answer) = post(&app, "/write?db=x", lines.clone(), gzip).await;
        assert_eq!(status, 413, "gzip {gzip}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("the request body is over 1000 bytes"),
            "{answer}"
        );
    }
    // A body that does not decompress is a 400 in InfluxDB's format.
    let response = reqwest::Client::new()
        .post(app.url("/api/v2/write"))
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "invalid");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("could not read the request body"),
        "{answer}"
    );
    assert!(stored_series(&app).await.is_empty());
}

/// When the series cap falls between an event's two series, the event is refused and nothing
/// of it is stored, however often it is retried; the slot it did not use is still free.
#[tokio::test]
async fn a_refused_event_leaves_nothing_behind() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(&redis.url(), "event:", &[("LIVEDASH_MAX_SERIES", "3")]).await;
    let (status, answer) = post(&app, "/api/v1/ingest", json_samples(2, "fill"), false).await;
    assert_eq!(status, 200, "{answer}");
    for _ in 0..3 {
        let (status, answer) = post(&app, "/api/v1/events", events(1, "signup"), false).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"], "1 of 1 items rejected; nothing was stored");
        let reason = answer["rejected"][0]["error"].as_str().unwrap();
        assert!(reason.contains("LIVEDASH_MAX_SERIES"), "{reason}");
    }
    let names: Vec<String> = stored_series(&app)
        .await
        .into_iter()
        .map(|series| series.name)
        .collect();
    assert_eq!(names, ["fill", "fill"], "the event left {names:?}");
    let (status, answer) = post(
        &app,
        "/api/v1/ingest",
        br#"{"name":"third","value":1}"#.to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200, "the refused event took a slot: {answer}");
}

/// A line of several fields is one item too: refused by the series cap or by a series of
/// another kind, none of its fields is stored.
#[tokio::test]
async fn a_refused_line_leaves_nothing_behind() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(&redis.url(), "line:", &[("LIVEDASH_MAX_SERIES", "3")]).await;
    let (status, answer) = post(
        &app,
        "/api/v1/ingest",
        br#"{"kind":"counter","name":"disk_b","value":1}"#.to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // disk_b is a counter: the line's gauge disk_a must not be stored without it.
    let (status, answer) = post(&app, "/write?db=x", b"disk a=1,b=2\n".to_vec(), false).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.starts_with("partial write: 1 line(s) rejected, 0 point(s)"),
        "{message}"
    );
    assert!(
        message.contains("series disk_b is a counter; this sample is a gauge"),
        "{message}"
    );
    // Three new series, two free slots: the whole line is refused.
    let (status, answer) = post(&app, "/write?db=x", b"net a=1,b=2,c=3\n".to_vec(), false).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("LIVEDASH_MAX_SERIES"),
        "{answer}"
    );
    let names: Vec<String> = stored_series(&app)
        .await
        .into_iter()
        .map(|series| series.name)
        .collect();
    assert_eq!(names, ["disk_b"], "refused lines left {names:?}");
    let (status, answer) = post(&app, "/write?db=x", b"net a=1,b=2\n".to_vec(), false).await;
    assert_eq!(status, 204, "{answer}");
}

/// Values whose sums cannot be represented are refused on every path, saying why, so a
/// counter's total never becomes infinite.
#[tokio::test]
async fn values_that_could_overflow_are_refused() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let (status, answer) = post(
        &app,
        "/api/v1/ingest",
        br#"[{"kind":"counter","name":"huge","value":1e308},{"kind":"counter","name":"huge","value":1e308}]"#
            .to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["rejected"][0]["error"],
        "item 0: field `value`: 1e308 is beyond ±1e100, the largest magnitude livedash stores \
         (so that totals and sums of values stay finite)"
    );
    let (status, answer) = post(&app, "/api/v2/write", b"big v=1e300\n".to_vec(), false).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("1e300 is beyond ±1e100"),
        "{answer}"
    );
    assert!(stored_series(&app).await.is_empty());
    // At the largest magnitude, totals stay finite.
    let (status, answer) = post(
        &app,
        "/api/v1/ingest",
        br#"[{"kind":"counter","name":"large","value":1e100},{"kind":"counter","name":"large","value":1e100}]"#
            .to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let values = app.state.store.current_values().await.unwrap().values;
    assert_eq!(values[0].value, 2e100);
}

/// A key given twice refuses its item, naming the key: top-level fields, labels and event
/// properties. In line protocol, a field given twice keeps its last value (as InfluxDB does),
/// stored once.
#[tokio::test]
async fn duplicate_keys() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let (status, answer) = post(
        &app,
        "/api/v1/ingest",
        br#"[{"name":"a","value":1,"value":2},{"name":"b","labels":{"h":"x","h":"y"},"value":1}]"#
            .to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["rejected"][0]["error"],
        "item 0: duplicate field `value`"
    );
    assert_eq!(
        answer["rejected"][1]["error"],
        "item 1: field `labels`: key \"h\" appears twice"
    );
    let (status, answer) = post(
        &app,
        "/api/v1/events",
        br#"{"event":"e","user_id":"u","properties":{"path":"/a","path":"/b"}}"#.to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["rejected"][0]["error"],
        "item 0: field `properties`: property \"path\" appears twice"
    );
    assert!(stored_series(&app).await.is_empty());

    let (status, answer) = post(&app, "/api/v2/write", b"dup v=1,v=2\n".to_vec(), false).await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(point_count(&app, "dup_v").await, 1.0);
    let values = app.state.store.current_values().await.unwrap().values;
    assert_eq!(values[0].value, 2.0);
}

/// A line that is not UTF-8 is refused alone, like any bad line; the good lines around it are
/// stored.
#[tokio::test]
async fn a_line_that_is_not_utf8_refuses_only_itself() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let body = b"good v=1\nbad,host=\xff\xfe v=2\nalso_good v=3\n".to_vec();
    let (status, answer) = post(&app, "/api/v2/write", body, false).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["line"], 2);
    assert_eq!(
        answer["message"],
        "partial write: 1 line(s) rejected, 2 point(s) from the other lines stored; line 2: not \
         UTF-8 (an invalid byte at column 10)"
    );
    let mut names: Vec<String> = stored_series(&app)
        .await
        .into_iter()
        .map(|series| series.name)
        .collect();
    names.sort();
    assert_eq!(names, ["also_good_v", "good_v"]);
}
