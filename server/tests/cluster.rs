//! livedash on a real Redis Cluster of its own, whatever `LIVEDASH_TEST_TOPOLOGY` says: the
//! cluster found from one seed, a numbered database refused, the slot rule enforced by Redis
//! itself, and a master killed under load (writers and a live viewer running).

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::live::{Applied, ClientMessage, LiveData, LiveQuery, ServerMessage, View};
use app::query::{Aggregation, Query, Selector, TimeRange};
use server::storage::keys::slot_of;
use server::testing::RedisCluster;
use support::{LiveEvent, TestApp, now_ms};

/// One test at a time: each starts a cluster of several nodes and loads it, and a node starved
/// of the processor by another test's load is taken for dead by its peers.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One seed is enough: livedash asks it whether it is a cluster member. A cluster has only
/// database 0, and a URL naming another is refused at start with the reason.
#[tokio::test]
async fn a_cluster_is_found_from_one_seed_and_a_numbered_database_refused() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let cluster = RedisCluster::start(1, 0);
    let seed = format!("redis://127.0.0.1:{}/", cluster.port(0));
    let app = TestApp::start(&seed).await;
    assert!(app.state.store.is_cluster());
    let (status, answer) = app
        .ingest(r#"[{"name":"found","value":1},{"name":"found","labels":{"a":"b"},"value":2}]"#)
        .await;
    assert_eq!(status, 200, "{answer}");

    let numbered = format!("redis://127.0.0.1:{}/2", cluster.port(0));
    let config = server::testing::config(&[
        ("REDIS_URL", numbered),
        ("LIVEDASH_ADDR", "127.0.0.1:0".into()),
        ("LIVEDASH_STATSD_ADDR", "off".into()),
    ]);
    let error = server::Livedash::start(config)
        .await
        .err()
        .expect("a numbered database refused");
    assert!(error.to_string().contains("only database 0"), "{error}");
}

/// A script may only touch keys of the slot of those it declares: Redis refuses the others
/// itself (every livedash script starts with a `#!lua` shebang), so a key outside a series'
/// hash tag is a failure in every test on a cluster, not a surprise after resharding.
#[tokio::test]
async fn scripts_cannot_reach_keys_of_another_slot() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let cluster = RedisCluster::start(1, 0);
    let mut connection = cluster.node_connection(0);
    let error = redis::cmd("EVAL")
        .arg("#!lua\nreturn redis.call('GET', '{b}:undeclared')")
        .arg(1)
        .arg("{a}:declared")
        .query::<Option<String>>(&mut connection)
        .unwrap_err();
    assert!(error.to_string().contains("slot"), "{error}");
}

/// Counts of the points of `series` per second over the last minutes, as stored.
async fn stored_per_second(app: &TestApp, series: &str, from: i64, to: i64) -> BTreeMap<i64, u64> {
    let query = Query {
        selector: Selector::parse(series).unwrap(),
        range: TimeRange::Absolute { from, to },
        step_ms: Some(1_000),
        aggregation: Aggregation::Count,
        group_by: None,
    };
    let result = app.state.store.query(&query, now_ms()).await.unwrap();
    result
        .series
        .iter()
        .flat_map(|line| &line.points)
        .map(|(at, count)| (*at, *count as u64))
        .collect()
}

/// Writers of one gauge series each, one point per write, ten milliseconds of data time apart,
/// counting per second of data time how many writes were acknowledged.
struct Writers {
    acknowledged: Arc<Mutex<BTreeMap<(usize, i64), u64>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    series: Vec<String>,
    start: i64,
}

impl Writers {
    fn start(app: &Arc<TestApp>, series: Vec<String>) -> Self {
        let start = now_ms() - 120_000;
        let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = series
            .iter()
            .enumerate()
            .map(|(writer, name)| {
                let (app, acknowledged, stop, name) = (
                    app.clone(),
                    acknowledged.clone(),
                    stop.clone(),
                    name.clone(),
                );
                tokio::spawn(async move {
                    let mut sequence = 0_i64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let ts = start + sequence * 10;
                        let (status, answer) = app
                            .ingest(&format!(
                                r#"{{"name":"{name}","value":{sequence},"ts":{ts}}}"#
                            ))
                            .await;
                        match status {
                            200 => {
                                *acknowledged
                                    .lock()
                                    .unwrap()
                                    .entry((writer, ts - ts.rem_euclid(1_000)))
                                    .or_default() += 1;
                            }
                            503 => tokio::time::sleep(Duration::from_millis(20)).await,
                            other => panic!("write answered {other}: {answer}"),
                        }
                        sequence += 1;
                    }
                })
            })
            .collect();
        Self {
            acknowledged,
            stop,
            tasks,
            series,
            start,
        }
    }

    /// Stops them, and checks that every acknowledged point is stored.
    async fn stop_and_check(self, app: &TestApp) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        for (writer, name) in self.series.iter().enumerate() {
            let stored = stored_per_second(app, name, self.start, now_ms()).await;
            for ((of, second), count) in &acknowledged {
                if *of == writer {
                    let kept = stored.get(second).copied().unwrap_or(0);
                    assert!(
                        kept >= *count,
                        "{name}, second {second}: {count} acknowledged, {kept} stored"
                    );
                }
            }
        }
        assert!(
            acknowledged.values().sum::<u64>() > 100,
            "writes went on: {acknowledged:?}"
        );
    }
}

/// A live socket subscribed to the newest value of `series`.
async fn viewer(app: &TestApp, series: &str) -> support::LiveClient {
    let mut viewer = app.connect().await;
    viewer
        .send(&ClientMessage::Subscribe {
            id: 1,
            query: LiveQuery::Latest {
                selector: Some(Selector::parse(series).unwrap()),
            },
            after: None,
        })
        .await;
    viewer
}

/// Writes a new value to `series` and waits until `viewer`, open all along, shows it.
async fn viewer_sees_a_new_point(app: &TestApp, viewer: &mut support::LiveClient, series: &str) {
    let mut view = View::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut written = false;
    loop {
        if !written {
            let (status, _) = app
                .ingest(&format!(r#"{{"name":"{series}","value":-1}}"#))
                .await;
            written = status == 200;
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match viewer.next(remaining.min(Duration::from_millis(500))).await {
            Some(LiveEvent::Message(ServerMessage::Snapshot { at, data, .. })) => {
                view.snapshot(at, data);
            }
            Some(LiveEvent::Message(ServerMessage::Delta { from, to, data, .. })) => {
                let new = matches!(&data, LiveData::Latest { values, .. }
                    if values.iter().any(|value| value.value == -1.0));
                assert_eq!(view.delta(from, to, data), Applied::Ok);
                if new && written {
                    return;
                }
            }
            Some(LiveEvent::Message(ServerMessage::Status { .. })) | None => {}
            other => panic!("the viewer got {other:?}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the viewer saw no new point"
        );
    }
}

/// A master killed while four writers write and a viewer watches: every write answered 2xx is
/// stored once its replica has taken over (livedash waits for a replica's acknowledgement,
/// `LIVEDASH_REDIS_WAIT_REPLICAS=1`), the others were refused with 503 (until the old master is
/// back as a replica, a master has none to wait for), and the viewer goes on receiving new
/// points without reconnecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_killed_under_load_keeps_every_acknowledged_write() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut cluster = RedisCluster::start(3, 1);
    let app = Arc::new(
        TestApp::start_with(
            &cluster.url(),
            "failover:",
            &[("LIVEDASH_REDIS_WAIT_REPLICAS", "1")],
        )
        .await,
    );
    let mut watching = viewer(&app, "failover_w0").await;
    let writers = Writers::start(&app, (0..4).map(|n| format!("failover_w{n}")).collect());
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The master of the change-log partition the viewer's series goes to: its sharded
    // subscription must move to the replica that takes over.
    let keys = server::storage::Keys::new("failover:");
    let log =
        server::storage::changes::ChangeLog::new(&keys, server::config::CLUSTER_LIVE_PARTITIONS);
    let watched = server::storage::SeriesId::of(&app::model::SeriesKey::new("failover_w0"));
    let victim = cluster.serving(&log.partition(log.partition_of(&watched)).stream);
    cluster.kill(victim);
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.wait_healthy();
    // Back as the replica of its successor: every master has a replica to wait for again.
    cluster.start_again(victim);
    cluster.wait_healthy();
    tokio::time::sleep(Duration::from_secs(1)).await;
    writers.stop_and_check(&app).await;
    viewer_sees_a_new_point(&app, &mut watching, "failover_w0").await;
}

/// Slots moved by `redis-cli --cluster reshard` while writers write and a viewer watches: the
/// series written and the change-log partition of their notices (stream and sharded channel)
/// live in the slots moved; every acknowledged write is stored, and the viewer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_moved_under_load_keep_every_acknowledged_write() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let cluster = RedisCluster::start(3, 0);
    // Series whose keys hash to the first slots of the first master, which the reshard moves,
    // and whose notices go to the change log's first partition, which it moves too.
    const MOVED: u16 = 1_100;
    let keys = server::storage::Keys::new("reshard:");
    let log =
        server::storage::changes::ChangeLog::new(&keys, server::config::CLUSTER_LIVE_PARTITIONS);
    let first_partition = log.partition(0).stream.clone();
    assert!(slot_of(&first_partition) < MOVED, "{first_partition} moves");
    let series: Vec<String> = (0..)
        .map(|n| format!("moved_{n}"))
        .filter(|name| {
            let id = server::storage::SeriesId::of(&app::model::SeriesKey::new(name.as_str()));
            slot_of(&keys.meta(&id)) < MOVED && log.partition_of(&id) == 0
        })
        .take(3)
        .collect();
    let app = Arc::new(TestApp::start_with_prefix(&cluster.url(), "reshard:").await);
    let mut watching = viewer(&app, &series[0]).await;
    let writers = Writers::start(&app, series.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let moving = tokio::task::spawn_blocking(move || {
        cluster.reshard(0, 1, MOVED);
        cluster
    });
    let mut cluster = moving.await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    writers.stop_and_check(&app).await;
    viewer_sees_a_new_point(&app, &mut watching, &series[0]).await;
    let moved = keys.meta(&server::storage::SeriesId::of(&app::model::SeriesKey::new(
        series[0].as_str(),
    )));
    assert_eq!(cluster.serving(&moved), 1, "the series' slot moved");
    assert_eq!(cluster.serving(&first_partition), 1, "the partition moved");
}

/// Posts `body` to the JSON ingest endpoint with `key` as its `Idempotency-Key`.
async fn ingest_keyed(app: &TestApp, body: &str, key: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// A batch over every master while one master is down gets a 503 (some of it was stored, some
/// not); the client repeats it with the same `Idempotency-Key` until it is taken, and each
/// series holds its increment once. Without the key the repeat would count twice what the
/// first attempt stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_repeated_with_its_key_stores_each_point_once() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut cluster = RedisCluster::start_durable(3, 0);
    let app = TestApp::start(&cluster.url()).await;
    let series: Vec<app::model::SeriesKey> = (0..60)
        .map(|n| app::model::SeriesKey::new("retried").with_label("n", n.to_string()))
        .collect();
    let body = serde_json::to_string(
        &series
            .iter()
            .map(|key| serde_json::json!({"kind": "counter", "name": key.name, "labels": key.labels, "value": 1}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let first = app
        .state
        .store
        .keys()
        .meta(&server::storage::SeriesId::of(&series[0]));
    let victim = cluster.serving(&first);
    cluster.kill(victim);
    let (status, answer) = ingest_keyed(&app, &body, "batch-1").await;
    assert_eq!(status, 503, "{answer}");
    cluster.start_again(victim);
    cluster.wait_healthy();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, answer) = ingest_keyed(&app, &body, "batch-1").await;
        if status == 200 {
            assert_eq!(answer["accepted"], 60, "{answer}");
            break;
        }
        assert_eq!(status, 503, "{answer}");
        assert!(
            std::time::Instant::now() < deadline,
            "never taken: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Once more, as a client that missed the answer would: still once.
    let (status, _) = ingest_keyed(&app, &body, "batch-1").await;
    assert_eq!(status, 200);
    let query = Query {
        selector: Selector::parse("retried").unwrap(),
        range: TimeRange::Absolute {
            from: now_ms() - 600_000,
            to: now_ms() + 1,
        },
        step_ms: Some(600_000),
        aggregation: Aggregation::Sum,
        group_by: None,
    };
    let result = app.state.store.query(&query, now_ms()).await.unwrap();
    assert_eq!(result.series.len(), 60);
    for line in &result.series {
        let total: f64 = line.points.iter().map(|(_, value)| value).sum();
        assert_eq!(total, 1.0, "{:?}", line.labels);
    }
}
