//! livedash's own metrics and the Overview dashboard, against a real Redis.

mod support;

use std::time::{Duration, Instant};

use support::{RedisServer, TestApp};

/// With its own metrics on, livedash records them at the interval, and two processes starting
/// on one Redis make one Overview dashboard between them.
#[tokio::test]
async fn own_metrics_and_one_overview() {
    let redis = RedisServer::start();
    let vars = [("LIVEDASH_SELF_METRICS", "1s")];
    let first = TestApp::start_with(&redis.url(), "own:", &vars).await;
    let second = TestApp::start_with(&redis.url(), "own:", &vars).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    let names = loop {
        let listing = first.state.store.current_values().await.unwrap();
        let names: Vec<String> = listing
            .values
            .iter()
            .map(|value| value.series.name.clone())
            .collect();
        if names.iter().any(|name| name == "livedash_memory_bytes") || Instant::now() > deadline {
            break names;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for name in [
        "livedash_points_stored_total",
        "livedash_live_viewers",
        "livedash_live_queries",
        "livedash_memory_bytes",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    let memory = first
        .state
        .store
        .current_values()
        .await
        .unwrap()
        .values
        .into_iter()
        .find(|value| value.series.name == "livedash_memory_bytes")
        .unwrap();
    assert!(memory.value > 1e6, "resident memory {}", memory.value);
    assert!(memory.series.labels.contains_key("instance"));

    // It is made in the background at start; wait for it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let dashboards = loop {
        let dashboards = first.state.store.list_dashboards().await.unwrap();
        if !dashboards.is_empty() || Instant::now() > deadline {
            break dashboards;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Both processes have had their chance to make one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dashboards = first
        .state
        .store
        .list_dashboards()
        .await
        .unwrap_or(dashboards);
    let overviews: Vec<_> = dashboards
        .iter()
        .filter(|summary| summary.title == "Overview")
        .collect();
    assert_eq!(overviews.len(), 1, "{dashboards:?}");
    let overview = first.state.store.dashboard(&overviews[0].id).await.unwrap();
    assert!(overview.widgets.len() >= 4);
    second.stop().await;
    first.stop().await;
}
