//! StatsD over UDP against a real Redis: packets of every type land in the right series, and
//! malformed lines never stop the listener.

mod support;

use std::time::Duration;

use app::query::{Aggregation, Query, Selector, TimeRange};
use support::{RedisServer, TestApp};

async fn send(app: &TestApp, packets: &[&str]) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for packet in packets {
        socket
            .send_to(packet.as_bytes(), app.statsd_addr.unwrap())
            .await
            .unwrap();
    }
}

async fn value(app: &TestApp, selector: &str, aggregation: Aggregation) -> Option<f64> {
    let query = Query {
        selector: Selector::parse(selector).unwrap(),
        range: TimeRange::Last { ms: 60_000 },
        step_ms: Some(60_000),
        aggregation,
        group_by: Some(vec![]),
    };
    let result = app
        .state
        .store
        .query(&query, support::now_ms())
        .await
        .ok()?;
    let points: Vec<f64> = result.series.first()?.points.iter().map(|p| p.1).collect();
    match aggregation {
        Aggregation::Sum | Aggregation::Count => Some(points.iter().sum()),
        _ => points.last().copied(),
    }
}

/// Waits until `check` holds (UDP gives no acknowledgement).
async fn eventually(mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("StatsD data did not arrive");
}

/// Counters (with sample rates), gauges (with changes), timers, histograms and sets, several
/// per packet, with DogStatsD tags.
#[tokio::test]
async fn every_type_lands_in_its_series() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "sd:",
        &[("LIVEDASH_STATSD_ADDR", "127.0.0.1:0")],
    )
    .await;
    send(
        &app,
        &[
            "shop.orders:1|c\nshop.orders:2|c|#region:eu\nshop.orders:1|c|@0.25|#region:eu",
            "queue.depth:10|g\nqueue.depth:+5|g\nqueue.depth:-3|g",
            "http.latency:120|ms|#route:/cart\nhttp.latency:80|ms|#route:/cart\npayload:512|h",
            "visitors:alice|s\nvisitors:bob|s\nvisitors:alice|s",
            "this is not statsd\nbad:1|q\nshop.orders:0|c",
        ],
    )
    .await;
    eventually(async || value(&app, "visitors", Aggregation::Unique).await == Some(2.0)).await;
    assert_eq!(
        value(&app, r#"shop_orders{region="eu"}"#, Aggregation::Sum).await,
        Some(6.0)
    );
    assert_eq!(
        value(&app, "shop_orders", Aggregation::Sum).await,
        Some(7.0)
    );
    assert_eq!(
        value(&app, "queue_depth", Aggregation::Last).await,
        Some(12.0)
    );
    assert_eq!(
        value(&app, r#"http_latency{route="/cart"}"#, Aggregation::Count).await,
        Some(2.0)
    );
    let p50 = value(&app, "http_latency", Aggregation::Quantile { q: 0.0 })
        .await
        .unwrap();
    assert!((p50 - 80.0).abs() <= 0.8, "{p50}");
    assert_eq!(value(&app, "payload", Aggregation::Max).await, Some(512.0));

    // The listener is still there after the malformed lines.
    send(&app, &["after.garbage:4|g"]).await;
    eventually(async || value(&app, "after_garbage", Aggregation::Last).await == Some(4.0)).await;
}
