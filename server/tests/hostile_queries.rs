//! Queries as a hostile or sloppy client sends them, against the real binary under an
//! address-space limit (so a runaway allocation fails the test, not the machine): ranges and
//! durations at the edges of `i64`, over HTTP, the server function and a share link; server
//! functions given bad or oversize bodies; every refusal a quick 4xx naming what is wrong, and
//! livedash's memory unchanged afterwards.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::process::Process;

/// Virtual memory livedash may use: ample for its threads, mimalloc's reservations and the
/// managed Redis, far below what the unbounded queries once allocated (24 GB).
const ADDRESS_SPACE: u64 = 3 * 1024 * 1024 * 1024;
/// Resident memory the whole barrage may add.
const MEMORY_SLACK: u64 = 64 * 1024 * 1024;

/// One request; status and body (a JSON string when the body is not JSON).
async fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{method} {url}: no answer ({error}); did livedash die?"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A raw body to a server function.
async fn raw_fn(process: &Process, endpoint: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(process.url(&format!("/api/fn/{endpoint}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Sends only the head of a server function request declaring a `length`-byte body; the whole
/// answer as text.
async fn declared_oversize(process: &Process, endpoint: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", process.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/fn/{endpoint} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn query_fn_body(range: Value, aggregation: &str, share: Option<&str>) -> Value {
    json!({
        "query": {
            "selector": {"name": "dash_metric", "matchers": [{"label": "host", "op": "=", "value": "a"}]},
            "range": range,
            "aggregation": {"fn": aggregation},
        },
        "share": share,
    })
}

/// The refusal text of an answer, whatever its shape (`{"error"}`, `{"Invalid"}`).
fn message(answer: &Value) -> String {
    answer
        .get("error")
        .or_else(|| answer.get("Invalid"))
        .and_then(Value::as_str)
        .map_or_else(|| answer.to_string(), str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_are_refused_quickly_without_memory() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_owned();
    let mut process = tokio::task::spawn_blocking(move || {
        Process::start_with(
            &dir,
            &[("LIVEDASH_MAX_BODY_BYTES", "1048576")],
            Some(ADDRESS_SPACE),
        )
    })
    .await
    .unwrap();

    // Some data, a dashboard that shows it, and a share link to that dashboard.
    let now = support::now_ms();
    let points: Vec<Value> = (0..50)
        .map(|i| json!({"name": "dash_metric", "labels": {"host": "a"}, "value": i, "ts": now - i * 60_000}))
        .collect();
    let (status, answer) = call(
        "POST",
        &process.url("/api/v1/ingest"),
        Some(Value::Array(points)),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, created) = call(
        "POST",
        &process.url("/api/fn/create_dashboard"),
        Some(json!({"dashboard": {"title": "Shared", "widgets": [{
            "id": "m", "kind": "line", "title": "M",
            "layout": {"x": 0, "y": 0, "w": 6, "h": 6},
            "query": {"selector": "dash_metric{host=\"a\"}", "aggregation": {"fn": "avg"}}
        }]}, "summary": ""})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, link) = call(
        "POST",
        &process.url("/api/fn/create_share_link"),
        Some(json!({"id": created["id"], "label": "probe", "expires_in_ms": null})),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let share = link["token"].as_str().unwrap().to_owned();

    let before = process.resident_bytes();
    let started = Instant::now();

    // Over HTTP: each parameter at fault is named.
    let q = "/api/v1/query?query=dash_metric%7Bhost%3D%22a%22%7D";
    for (params, parameter) in [
        ("&from=-9223372036854775808&to=9223372036854775807", "from"),
        ("&from=0&to=10000000000000000", "to"),
        ("&from=0&to=1e16", "to"),
        ("&agg=unique&from=0&to=1000000000000000", "to"),
        ("&range=9223372036854775807ms", "range"),
        ("&range=106751991167d", "range"),
        ("&step=9223372036854775807ms", "step"),
        ("&range=1h&step=-5s", "step"),
        ("&from=5&to=5", "to"),
    ] {
        let (status, answer) = call("GET", &process.url(&format!("{q}{params}")), None).await;
        assert_eq!(status, 400, "{params}: {answer}");
        let text = message(&answer);
        assert!(
            text.contains(&format!("`{parameter}`")),
            "{params}: names `{parameter}`: {text}"
        );
    }
    // Ranges far wider than storage holds, but within bounds, read only what storage holds.
    for params in [
        "&from=0&to=253402300799999",
        "&range=100y",
        "&from=-253402300799999&to=253402300799999&agg=max",
    ] {
        let (status, answer) = call("GET", &process.url(&format!("{q}{params}")), None).await;
        assert_eq!(status, 200, "{params}: {answer}");
        let points = answer["series"][0]["points"].as_array().unwrap();
        assert!(!points.is_empty(), "{params}: the data is found: {answer}");
    }

    // The server function, signed in and through a share link (no sign-in at all).
    for share in [None, Some(share.as_str())] {
        for (range, aggregation) in [
            (
                json!({"absolute": {"from": i64::MIN, "to": i64::MAX}}),
                "avg",
            ),
            (
                json!({"absolute": {"from": 0, "to": 1_000_000_000_000_000_i64}}),
                "avg",
            ),
            (json!({"last": {"ms": i64::MAX}}), "avg"),
            (
                json!({"last": {"ms": 9_223_372_036_854_775_000_i64}}),
                "max",
            ),
        ] {
            let (status, answer) = call(
                "POST",
                &process.url("/api/fn/query"),
                Some(query_fn_body(range.clone(), aggregation, share)),
            )
            .await;
            assert_eq!(status, 400, "{range} share={share:?}: {answer}");
            assert!(
                message(&answer).contains("parameter `"),
                "{range}: {answer}"
            );
        }
        let (status, answer) = call(
            "POST",
            &process.url("/api/fn/query"),
            Some(query_fn_body(
                json!({"absolute": {"from": 0, "to": now + 1}}),
                "avg",
                share,
            )),
        )
        .await;
        assert_eq!(status, 200, "share={share:?}: {answer}");
    }

    // Quickly: no refusal above did any reading (a generous bound for a busy machine).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(process.running(), "livedash is still up");
    let after = process.resident_bytes();
    assert!(
        after < before + MEMORY_SLACK,
        "resident memory grew from {before} to {after} bytes"
    );
    let (status, _) = call("GET", &process.url("/readyz"), None).await;
    assert_eq!(status, 200);
}

/// Server functions given bodies that are not their arguments: a 400 (or a 413 over the body
/// limit) that says what is wrong, also without signing in (the share link's function), never
/// a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_refuse_bad_bodies_with_400() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_owned();
    let process = tokio::task::spawn_blocking(move || {
        Process::start_with(&dir, &[("LIVEDASH_MAX_BODY_BYTES", "1048576")], None)
    })
    .await
    .unwrap();
    for (body, expected, says) in [
        (
            b"{\"token\": \"abc".to_vec(),
            400,
            "arguments could not be read",
        ),
        (
            b"{\"token\": 5}".to_vec(),
            400,
            "arguments could not be read",
        ),
        (b"[]".to_vec(), 400, "arguments could not be read"),
    ] {
        let (status, answer) = raw_fn(&process, "shared_dashboard", body.clone()).await;
        assert_eq!(status, expected, "{answer}");
        assert!(message(&answer).contains(says), "{answer}");
    }
    // A body over the limit, declared: refused before it is read. Only the head is sent, so
    // the client reads the refusal instead of a reset while it would still be sending.
    let answer = declared_oversize(&process, "shared_dashboard", 2 * 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("LIVEDASH_MAX_BODY_BYTES"), "{answer}");
    let (status, answer) = raw_fn(
        &process,
        "query",
        b"{\"query\": {\"selector\": 3}}".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    drop(process);
}
