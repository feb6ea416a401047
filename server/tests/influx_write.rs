//! The InfluxDB-compatible write endpoints against a real Redis: the 2.x and 1.x paths,
//! precisions, gzip bodies, tokens, partial writes, and the probes clients call.

mod support;

use std::io::Write;

use app::model::SeriesKey;
use flate2::Compression;
use flate2::write::GzEncoder;
use support::{RedisServer, TestApp};

async fn post(app: &TestApp, path: &str, body: Vec<u8>, gzip: bool) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .header("authorization", "Token any-token")
        .header("content-type", "text/plain; charset=utf-8");
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
    (status, response.text().await.unwrap())
}

async fn current(app: &TestApp, series: &SeriesKey) -> Option<(i64, f64)> {
    let listing = app.state.store.current_values().await.unwrap();
    listing
        .values
        .into_iter()
        .find(|v| &v.series == series)
        .map(|v| (v.ts, v.value))
}

/// A 2.x write with org, bucket, precision and a gzip body is stored, one series per field,
/// and pushed live.
#[tokio::test]
async fn v2_write_with_gzip_and_precision() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut live = app.live().await;
    live.message().await;
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = format!(
        "cpu,host=web-1,cpu=cpu-total usage_idle=97.5,usage_user=1.25 {now_s}\n\
         mem,host=web-1 used=123456789i,available_percent=41.5 {now_s}\n"
    );
    let (status, answer) = post(
        &app,
        "/api/v2/write?org=acme&bucket=telegraf&precision=s",
        body.into_bytes(),
        true,
    )
    .await;
    assert_eq!(status, 204, "{answer}");
    let ts = i64::try_from(now_s).unwrap() * 1000;
    let idle = SeriesKey::new("cpu_usage_idle")
        .with_label("cpu", "cpu-total")
        .with_label("host", "web-1");
    assert_eq!(current(&app, &idle).await, Some((ts, 97.5)));
    let used = SeriesKey::new("mem_used").with_label("host", "web-1");
    assert_eq!(current(&app, &used).await, Some((ts, 123_456_789.0)));
    assert_eq!(live.values().await.len(), 4);
}

/// A 1.x write with `db` and millisecond precision is stored.
#[tokio::test]
async fn v1_write() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let ts = support::now_ms() - 10;
    let (status, answer) = post(
        &app,
        "/write?db=telegraf&precision=ms",
        format!("disk,path=/ used_percent=71.25 {ts}").into_bytes(),
        false,
    )
    .await;
    assert_eq!(status, 204, "{answer}");
    let series = SeriesKey::new("disk_used_percent").with_label("path", "/");
    assert_eq!(current(&app, &series).await, Some((ts, 71.25)));
}

/// Bad lines are refused with their numbers in InfluxDB's error shape; good lines are stored;
/// a line with one bad field is not stored at all.
#[tokio::test]
async fn partial_writes_name_the_lines() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let body = "good v=1\nbroken v=\nalso_good v=2\nhalf ok=1,__bad=oops\n";
    let (status, answer) = post(&app, "/api/v2/write?bucket=b", body.into(), false).await;
    assert_eq!(status, 400);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["code"], "invalid");
    assert_eq!(answer["line"], 2);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("partial write: 2 line(s) rejected, 2 point(s)"),
        "{message}"
    );
    assert!(
        message.contains("line 2: field \"v\": missing value"),
        "{message}"
    );
    assert!(message.contains("line 4: field \"__bad\""), "{message}");
    assert!(current(&app, &SeriesKey::new("good_v")).await.is_some());
    assert!(
        current(&app, &SeriesKey::new("also_good_v"))
            .await
            .is_some()
    );
    assert!(current(&app, &SeriesKey::new("half_ok")).await.is_none());

    let (status, answer) = post(&app, "/write?db=x", b"broken v=\n".to_vec(), false).await;
    assert_eq!(status, 400);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("line 1"),
        "{answer}"
    );

    let (status, answer) = post(
        &app,
        "/api/v2/write?precision=days",
        b"m v=1".to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer.contains("precision \\\"days\\\""), "{answer}");
}

/// The probes InfluxDB clients and Telegraf call answer like InfluxDB.
#[tokio::test]
async fn ping_and_health() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let ping = reqwest::get(app.url("/ping")).await.unwrap();
    assert_eq!(ping.status(), 204);
    assert!(ping.headers().contains_key("x-influxdb-version"));
    let health: serde_json::Value = reqwest::get(app.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "pass");
}
