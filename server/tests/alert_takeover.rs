//! A livedash process killed with SIGKILL while a notification is on its way: another process
//! on the same Redis takes the delivery over and sends it with the same id.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::process::{Process, request};
use support::receiver::Receiver;
use support::{RedisServer, now_ms};

/// Starts the livedash binary with `env` (blocking, so on a blocking thread).
async fn start(data: &tempfile::TempDir, env: &[(&str, &str)]) -> Process {
    let dir = data.path().to_owned();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Process::start_with(&dir, &env, None)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_processs_notification_is_delivered_by_another_with_the_same_id() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    // The first request is held without an answer: the sender is "mid-delivery" when killed.
    receiver.hold(1);
    let url = redis.url();
    let env = [
        ("REDIS_URL", url.as_str()),
        ("LIVEDASH_KEY_PREFIX", "takeover:"),
        ("LIVEDASH_ALERT_CLAIM_AFTER", "2s"),
        ("LIVEDASH_SELF_METRICS", "off"),
    ];
    let data = tempfile::tempdir().unwrap();
    let mut first = start(&data, &env).await;
    let base = first.url("");
    let call = |method: &'static str, path: String, body: String| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            request(method, &format!("{base}{path}"), &body).unwrap()
        })
    };
    let (status, _) = call(
        "POST",
        "/api/v1/alerts/contact-points".into(),
        json!({"name": "ops", "kind": "webhook", "url": format!("{}/hook", receiver.url)})
            .to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let (status, _) = call(
        "POST",
        "/api/v1/alerts/rules".into(),
        json!({
            "name": "queue deep",
            "source": {"kind": "metric", "selector": "queue_depth", "aggregation": {"fn": "last"}, "window_ms": 60000},
            "condition": {"op": "above", "critical": {"raise": 100}},
            "contact_points": ["ops"],
        })
        .to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let (status, _) = call(
        "POST",
        "/api/v1/ingest".into(),
        json!({"name": "queue_depth", "value": 500, "ts": now_ms()}).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let held = receiver.wait_for(1, Duration::from_secs(10)).await;
    let id = held[0].header("webhook-id");
    assert!(!id.is_empty());

    // Killed while the receiver holds its request; a second process takes over.
    first.kill();
    let killed = Instant::now();
    let data2 = tempfile::tempdir().unwrap();
    let second = start(&data2, &env).await;
    let both = receiver.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(both[1].header("webhook-id"), id, "resent with the same id");
    assert_eq!(both[1].body, held[0].body, "the same notification");
    assert!(
        killed.elapsed() >= Duration::from_millis(1_900),
        "taken over only once idle"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.received().len(),
        2,
        "acknowledged after the second delivery"
    );
    drop(second);
}
