//! `GET /metrics` read by the real Prometheus tools: `promtool check metrics` on what livedash
//! serves, and a `prometheus` server scraping livedash; and who may read the metrics.

mod support;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{RedisServer, TestApp, free_port, make_token, start_with_admin};

/// `GET /metrics` with these headers: status, content type, body.
async fn metrics(app: &TestApp, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(app.url("/metrics"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The value of the sample line that starts with `series ` in an exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{series} ")))
        .and_then(|value| value.trim().parse().ok())
}

/// A `prometheus` server on a free port, scraping `target` every second; killed on drop.
struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: livedash\n    metrics_path: /metrics\n    \
                 authorization:\n      credentials: {token}\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "`prometheus` runs (Debian's prometheus package; `make test-tools` installs it)",
            );
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The value of an instant query's first result, if it has one.
    async fn value(&self, query: &str) -> Option<f64> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let answer: Value = response.json().await.ok()?;
        answer["data"]["result"][0]["value"][1]
            .as_str()?
            .parse()
            .ok()
    }

    /// Waits until `query` has a value that `accept` takes; the last value seen.
    async fn wait_for(&self, query: &str, accept: impl Fn(f64) -> bool) -> Option<f64> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while Instant::now() < deadline {
            last = self.value(query).await;
            if last.is_some_and(&accept) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        last
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn promtool_accepts_the_metrics_and_prometheus_scrapes_them() {
    let redis = RedisServer::start();
    let app = start_with_admin(&redis, "prom:", &[]).await;
    let ingest = make_token(
        &app,
        json!({"role": "ingest", "label": "writer", "scope": "metrics"}),
    )
    .await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .header("authorization", format!("Bearer {ingest}"))
        .body(r#"[{"name":"prom_probe","value":1},{"name":"prom_probe","value":2},{"name":"prom_probe","value":3}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().await.unwrap()
    );

    let (status, content_type, text) = metrics(&app, &[]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    for family in [
        "# TYPE livedash_ingest_accepted_total counter",
        "# TYPE livedash_ingest_duration_seconds histogram",
        "# TYPE livedash_query_duration_seconds histogram",
        "# TYPE livedash_redis_request_duration_seconds histogram",
        "# TYPE livedash_redis_errors_total counter",
        "# TYPE livedash_live_viewers gauge",
        "# TYPE livedash_live_slow_clients_closed_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE livedash_build_info gauge",
        "# HELP livedash_ingest_refused_total ",
    ] {
        assert!(text.contains(family), "{family} missing from\n{text}");
    }
    assert_eq!(
        sample(&text, r#"livedash_ingest_accepted_total{protocol="json"}"#),
        Some(3.0),
        "{text}"
    );
    assert!(
        sample(&text, "livedash_redis_request_duration_seconds_count").is_some_and(|n| n > 0.0),
        "{text}"
    );

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`promtool` runs (Debian's prometheus package; `make test-tools` installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let (status, content_type, open) = metrics(
        &app,
        &[(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3",
        )],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(
        open.contains("# TYPE livedash_ingest_accepted counter"),
        "{open}"
    );

    let prometheus = Prometheus::start(&app.addr.to_string(), &ingest);
    let up = prometheus
        .wait_for(r#"up{job="livedash"}"#, |v| v == 1.0)
        .await;
    assert_eq!(up, Some(1.0), "Prometheus never scraped livedash");
    let accepted = prometheus
        .wait_for(
            r#"livedash_ingest_accepted_total{job="livedash",protocol="json"}"#,
            |v| v >= 3.0,
        )
        .await;
    assert_eq!(accepted, Some(3.0));
    let memory = prometheus
        .wait_for(r#"process_resident_memory_bytes{job="livedash"}"#, |v| {
            v > 1e6
        })
        .await;
    assert!(memory.is_some_and(|bytes| bytes > 1e6), "{memory:?}");
}

/// From another machine (a client address forwarded by a trusted proxy), the metrics need a
/// token of any role; from this one, or with access control off, none.
#[tokio::test]
async fn metrics_from_afar_need_a_token() {
    let redis = RedisServer::start();
    let app = start_with_admin(&redis, "far:", &[("LIVEDASH_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let afar = ("x-forwarded-for", "203.0.113.7");
    let (status, _, body) = metrics(&app, &[afar]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token of any role"), "{body}");
    let (status, _, _) = metrics(
        &app,
        &[
            afar,
            ("authorization", "Bearer not-a-real-token-at-all-0000"),
        ],
    )
    .await;
    assert_eq!(status, 401);

    let viewer = make_token(&app, json!({"role": "viewer", "label": "grafana"})).await;
    let ingest = make_token(
        &app,
        json!({"role": "ingest", "label": "scraper", "scope": "events"}),
    )
    .await;
    for token in [&viewer, &ingest] {
        let bearer = format!("Bearer {token}");
        let (status, _, body) = metrics(&app, &[afar, ("authorization", &bearer)]).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("livedash_build_info"), "{body}");
    }
    let (status, _, _) = metrics(&app, &[]).await;
    assert_eq!(status, 200, "from this machine, no token is needed");

    let open = TestApp::start_with(
        &redis.url(),
        "open:",
        &[
            ("LIVEDASH_AUTH", "off"),
            ("LIVEDASH_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let (status, _, _) = metrics(&open, &[afar]).await;
    assert_eq!(status, 200, "with access control off, anyone may read them");
}
