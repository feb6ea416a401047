//! The catalog against a real Redis: metric names by prefix, series of a selector, label names
//! and values, all bounded and paginated.

mod support;

use serde_json::json;
use support::{RedisServer, TestApp};

async fn get(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(app.url(path)).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Names page by prefix, series page by offset, labels list their values.
#[tokio::test]
async fn names_series_and_labels() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut batch = Vec::new();
    for host in 0..25 {
        for route in ["/", "/cart", "/login"] {
            batch.push(serde_json::json!({
                "kind": "counter", "name": "http_requests_total", "value": 1,
                "labels": {"host": format!("web-{host:02}"), "route": route}
            }));
        }
    }
    for name in ["http_latency_ms", "cpu_usage", "cpu_steal", "memory_used"] {
        batch.push(serde_json::json!({"name": name, "value": 1, "labels": {"host": "web-00"}}));
    }
    let (status, answer) = app
        .ingest(&serde_json::Value::Array(batch).to_string())
        .await;
    assert_eq!(status, 200, "{answer}");

    let (_, page) = get(&app, "/api/v1/series/names?prefix=cpu").await;
    // The editor's autocomplete asks the same through a server function.
    let suggested = app.ok_fn("metric_names", json!({"prefix": "cpu"})).await;
    assert_eq!(suggested, page["names"]);
    assert_eq!(page["names"], serde_json::json!(["cpu_steal", "cpu_usage"]));
    assert_eq!(page["next"], serde_json::Value::Null);
    let (_, first) = get(&app, "/api/v1/series/names?limit=2").await;
    assert_eq!(
        first["names"],
        serde_json::json!(["cpu_steal", "cpu_usage"])
    );
    assert_eq!(first["next"], "cpu_usage");
    let (_, second) = get(&app, "/api/v1/series/names?limit=2&after=cpu_usage").await;
    assert_eq!(
        second["names"],
        serde_json::json!(["http_latency_ms", "http_requests_total"])
    );
    let (_, last) = get(
        &app,
        "/api/v1/series/names?limit=2&after=http_requests_total",
    )
    .await;
    assert_eq!(last["names"], serde_json::json!(["memory_used"]));
    assert_eq!(last["next"], serde_json::Value::Null);

    let (_, page) = get(
        &app,
        "/api/v1/series?match=http_requests_total%7Broute%3D%22%2Fcart%22%7D&limit=10",
    )
    .await;
    assert_eq!(page["total"], 25);
    assert_eq!(page["series"].as_array().unwrap().len(), 10);
    assert_eq!(page["series"][0]["labels"]["host"], "web-00");
    assert_eq!(page["next"], 10);
    let (_, rest) = get(
        &app,
        "/api/v1/series?match=http_requests_total%7Broute%3D%22%2Fcart%22%7D&offset=20&limit=10",
    )
    .await;
    assert_eq!(rest["series"].as_array().unwrap().len(), 5);
    assert_eq!(rest["next"], serde_json::Value::Null);

    let (_, labels) = get(
        &app,
        "/api/v1/series/labels?match=http_requests_total&limit=3",
    )
    .await;
    assert_eq!(
        labels["labels"]["route"],
        serde_json::json!(["/", "/cart", "/login"])
    );
    assert_eq!(
        labels["labels"]["host"],
        serde_json::json!(["web-00", "web-01", "web-02"])
    );
    assert_eq!(labels["truncated"], true);
    let (_, labels) = get(
        &app,
        "/api/v1/series/labels?match=http_requests_total&prefix=web-1",
    )
    .await;
    assert_eq!(labels["labels"]["host"].as_array().unwrap().len(), 10);

    let (status, answer) = get(&app, "/api/v1/series").await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("parameter `match`"),
        "{answer}"
    );
}

/// The current values' listing says what each number is: a counter's running total, a
/// histogram's last observation, a set's distinct members of the last minutes.
#[tokio::test]
async fn current_values_carry_their_kind() {
    use app::model::{MetricKind, SET_LISTING_MINUTES};
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut batch = vec![
        json!({"kind": "gauge", "name": "temp", "value": 21.5}),
        json!({"kind": "counter", "name": "hits_total", "value": 3}),
        json!({"kind": "counter", "name": "hits_total", "value": 4}),
        json!({"kind": "histogram", "name": "rt_ms", "value": 12}),
        json!({"kind": "histogram", "name": "rt_ms", "value": 80}),
    ];
    for user in ["a", "b", "c", "a", "b"] {
        batch.push(json!({"kind": "set", "name": "visitors", "member": user}));
    }
    let (status, answer) = app
        .ingest(&serde_json::Value::Array(batch).to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    let listing = app.state.store.current_values().await.unwrap();
    let of = |name: &str| {
        listing
            .values
            .iter()
            .find(|value| value.series.name == name)
            .unwrap_or_else(|| panic!("{name} missing from {listing:?}"))
    };
    assert_eq!(
        (of("temp").value, of("temp").kind),
        (21.5, Some(MetricKind::Gauge))
    );
    assert_eq!(
        (of("hits_total").value, of("hits_total").kind),
        (7.0, Some(MetricKind::Counter))
    );
    assert_eq!(
        (of("rt_ms").value, of("rt_ms").kind),
        (80.0, Some(MetricKind::Histogram))
    );
    assert_eq!(
        (of("visitors").value, of("visitors").kind),
        (3.0, Some(MetricKind::Set)),
        "distinct members of the last {SET_LISTING_MINUTES} minutes"
    );
}
