//! livedash as Prometheus is to an existing Alertmanager: a real `prometheus-alertmanager`
//! (Debian's), started on a free port with a generated configuration whose route sends to a
//! test webhook. A livedash alert appears in Alertmanager's `/api/v2/alerts`, reaches the
//! webhook through Alertmanager's own route, and is resolved there when livedash resolves it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{RedisServer, TestApp, free_port, now_ms};

/// An Alertmanager on a free port (clustering off), routing everything to `webhook`; killed
/// on drop.
struct Alertmanager {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start(webhook: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: hook\n  group_by: ['alertname', 'host']\n  \
                 group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\n\
                 receivers:\n  - name: hook\n    webhook_configs:\n      \
                 - url: '{webhook}'\n        send_resolved: true\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager (make test-tools installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = std::process::Command::new("curl")
                .args(["-sf", &format!("{url}/-/ready")])
                .output()
                .is_ok_and(|output| output.status.success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Alertmanager did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// The alerts it holds (active, silenced, inhibited and unprocessed).
    async fn alerts(&self) -> Vec<Value> {
        reqwest::get(format!("{}/api/v2/alerts", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(app: &TestApp, path: &str, body: &Value) -> Value {
    let (status, answer) = support::post_json(app, path, body).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn write(app: &TestApp, value: f64) {
    let body =
        json!({"name": "disk_used", "labels": {"host": "db-1"}, "value": value, "ts": now_ms()});
    assert_eq!(app.ingest(&body.to_string()).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_go_through_an_existing_alertmanager() {
    let redis = RedisServer::start();
    let hook = Receiver::start().await;
    let alertmanager = Alertmanager::start(&format!("{}/am", hook.url));
    let app = TestApp::start(&redis.url()).await;
    post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "team-am", "kind": "alertmanager", "url": alertmanager.url}),
    )
    .await;
    post(
        &app,
        "/api/v1/alerts/rules",
        &json!({
            "name": "DiskFull",
            "source": {"kind": "metric", "selector": "disk_used", "aggregation": {"fn": "last"}, "window_ms": 60000, "group_by": ["host"]},
            "condition": {"op": "above", "critical": {"raise": 90}},
            "summary": "{{ $labels.host }} disk at {{ $value }}%",
            "contact_points": ["team-am"],
        }),
    )
    .await;
    write(&app, 95.0).await;

    // In Alertmanager's own API, with livedash's labels and annotations.
    let deadline = Instant::now() + Duration::from_secs(10);
    let alert = loop {
        let alerts = alertmanager.alerts().await;
        if let Some(alert) = alerts
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "DiskFull")
        {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "the alert never reached Alertmanager"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(alert["labels"]["host"], "db-1");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["annotations"]["summary"], "db-1 disk at 95%");
    assert_eq!(alert["status"]["state"], "active");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/alerts?rule=")
    );

    // Through Alertmanager's route to the webhook.
    let firing = hook.wait_for(1, Duration::from_secs(15)).await;
    let body = firing[0].json();
    assert_eq!(firing[0].path, "/am");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "DiskFull");

    // Resolved in livedash: resolved in Alertmanager, and told through its route.
    write(&app, 40.0).await;
    let both = hook.wait_for(2, Duration::from_secs(15)).await;
    let resolved = both[1].json();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["alerts"][0]["labels"]["host"], "db-1");
    let active: Vec<Value> = alertmanager
        .alerts()
        .await
        .into_iter()
        .filter(|a| a["status"]["state"] == "active")
        .collect();
    assert!(
        active.is_empty(),
        "still active in Alertmanager: {active:?}"
    );
}
