//! Live push at scale, against a real Redis with real WebSocket clients: query subscriptions,
//! deltas, exact resume after a forced disconnect, coalescing, slow clients, several
//! processes, and a Redis restart under a live subscription.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use app::live::{Applied, ClientMessage, Cursor, LiveData, LiveQuery, ServerMessage, View};
use app::query::{Aggregation, Selector};
use futures::{SinkExt, StreamExt};
use support::{LiveClient, LiveEvent, RedisServer, TestApp, now_ms};
use tokio_tungstenite::tungstenite::Message;

fn range(selector: &str, step_ms: i64, window_ms: i64) -> LiveQuery {
    range_of(Aggregation::Sum, selector, step_ms, window_ms)
}

fn range_of(aggregation: Aggregation, selector: &str, step_ms: i64, window_ms: i64) -> LiveQuery {
    LiveQuery::Range {
        selector: Selector::parse(selector).unwrap(),
        aggregation,
        step_ms,
        window_ms,
        group_by: None,
    }
}

async fn subscribe(client: &mut LiveClient, id: u32, query: &LiveQuery, after: Option<Cursor>) {
    client
        .send(&ClientMessage::Subscribe {
            id,
            query: query.clone(),
            after,
        })
        .await;
}

/// Applies messages of subscription `id` to `view`, counting how often each bucket arrived
/// in a delta; returns when `done(view)` holds.
async fn follow(
    client: &mut LiveClient,
    view: &mut View,
    arrivals: &mut BTreeMap<i64, usize>,
    done: impl Fn(&View) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(view) {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next(remaining).await {
            Some(LiveEvent::Message(ServerMessage::Snapshot { at, data, .. })) => {
                view.snapshot(at, data);
            }
            Some(LiveEvent::Message(ServerMessage::Delta { from, to, data, .. })) => {
                if let LiveData::Range { series, .. } = &data {
                    for point in series.iter().flat_map(|line| &line.points) {
                        *arrivals.entry(point.0).or_default() += 1;
                    }
                }
                assert_eq!(
                    view.delta(from, to, data),
                    Applied::Ok,
                    "a delta left a gap"
                );
            }
            Some(LiveEvent::Message(ServerMessage::Status { .. })) => {}
            other => panic!("while following: {other:?}; view holds {view:?}"),
        }
    }
}

fn points_of(view: &View) -> BTreeMap<i64, f64> {
    view.lines
        .values()
        .flatten()
        .map(|(t, v)| (*t, *v))
        .collect()
}

/// A client that is cut off mid-stream and resumes with its cursor gets every point written
/// meanwhile exactly once, then the live stream: the chart equals what was written.
#[tokio::test]
async fn resume_after_a_forced_disconnect_delivers_every_point_exactly_once() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let query = range("resume_gauge", 1000, 3_600_000);
    let mut client = app.connect().await;
    subscribe(&mut client, 1, &query, None).await;
    let mut view = View::default();
    let mut arrivals = BTreeMap::new();
    follow(&mut client, &mut view, &mut arrivals, |v| {
        v.cursor.is_some()
    })
    .await;

    // One point per one-second bucket, half an hour ago, each with its own value.
    let base = (now_ms() - 1_800_000) / 1000 * 1000;
    let mut written = BTreeMap::new();
    let write = |i: i64| {
        let ts = base + i * 1000;
        let value = (i + 1) as f64 * 1.5;
        (
            ts,
            value,
            format!(r#"{{"name":"resume_gauge","value":{value},"ts":{ts}}}"#),
        )
    };
    for i in 0..60 {
        let (ts, value, body) = write(i);
        assert_eq!(app.ingest(&body).await.0, 200);
        written.insert(ts, value);
    }
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v).len() >= 30
    })
    .await;
    // Cut the connection with messages possibly still in flight, and keep writing.
    let cursor = view.cursor.clone().unwrap();
    client.cut();
    for i in 60..140 {
        let (ts, value, body) = write(i);
        assert_eq!(app.ingest(&body).await.0, 200);
        written.insert(ts, value);
    }
    let mut client = app.connect().await;
    subscribe(&mut client, 1, &query, Some(cursor.clone())).await;
    for i in 140..200 {
        let (ts, value, body) = write(i);
        assert_eq!(app.ingest(&body).await.0, 200);
        written.insert(ts, value);
    }
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v).len() >= 200
    })
    .await;
    assert_eq!(points_of(&view), written, "the chart is what was written");
    // Nothing came twice; the snapshot was empty, so every bucket arrived in a delta.
    let repeated: Vec<_> = arrivals.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "buckets delivered more than once: {repeated:?}"
    );
    assert_eq!(arrivals.len(), 200);
    // And nothing more arrives.
    assert!(client.next(Duration::from_millis(200)).await.is_none());
}

/// A chart summing series whose notices travel in different partitions of the change log
/// (four, each a stream and a sharded channel; on a cluster, of several masters) resumes on
/// another process with exactly what it missed in each partition: every bucket's sum is the
/// sum of what was written, so a partition left out would show.
#[tokio::test]
async fn a_chart_over_every_partition_resumes_exactly_on_another_process() {
    let redis = RedisServer::start();
    let partitions = [("LIVEDASH_LIVE_PARTITIONS", "4")];
    let first = TestApp::start_with(&redis.url(), "parts:", &partitions).await;
    let second = TestApp::start_with(&redis.url(), "parts:", &partitions).await;
    // One line: the sum over every host.
    let query = LiveQuery::Range {
        selector: Selector::parse("spread_gauge").unwrap(),
        aggregation: Aggregation::Sum,
        step_ms: 1000,
        window_ms: 3_600_000,
        group_by: Some(Vec::new()),
    };
    let base = (now_ms() - 600_000) / 1000 * 1000;
    let hosts = 16;
    let write = |bucket: i64| {
        (0..hosts)
            .map(|host| {
                format!(
                    r#"{{"name":"spread_gauge","labels":{{"host":"h{host}"}},"value":{},"ts":{}}}"#,
                    bucket * 100 + host,
                    base + bucket * 1000
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let write = |bucket: i64| format!("[{}]", write(bucket));
    let expected = |buckets: std::ops::Range<i64>| -> BTreeMap<i64, f64> {
        buckets
            .map(|bucket| {
                let sum: i64 = (0..hosts).map(|host| bucket * 100 + host).sum();
                (base + bucket * 1000, sum as f64)
            })
            .collect()
    };
    for bucket in 0..5 {
        assert_eq!(first.ingest(&write(bucket)).await.0, 200);
    }
    let mut client = first.connect().await;
    subscribe(&mut client, 1, &query, None).await;
    let mut view = View::default();
    let mut arrivals = BTreeMap::new();
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v) == expected(0..5)
    })
    .await;
    let cursor = view.cursor.clone().unwrap();
    assert_eq!(
        cursor.positions().len(),
        4,
        "a position per partition: {cursor}"
    );
    client.cut();
    for bucket in 5..12 {
        let through = if bucket % 2 == 0 { &first } else { &second };
        assert_eq!(through.ingest(&write(bucket)).await.0, 200);
    }
    let mut client = second.connect().await;
    subscribe(&mut client, 1, &query, Some(cursor.clone())).await;
    match client.message().await {
        ServerMessage::Delta { from, to, data, .. } => {
            assert_eq!(from, cursor);
            assert_eq!(view.delta(from, to, data), Applied::Ok);
        }
        other => panic!("expected what was missed as a delta, got {other:?}"),
    }
    assert_eq!(points_of(&view), expected(0..12), "exactly what was missed");
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v) == expected(0..12)
    })
    .await;
    for bucket in 12..15 {
        assert_eq!(first.ingest(&write(bucket)).await.0, 200);
    }
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v) == expected(0..15)
    })
    .await;
}

/// A client that resumes on another process (its server restarted elsewhere) gets what it
/// missed from the shared change log.
#[tokio::test]
async fn resume_works_across_processes() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "shared:").await;
    // The second serves its sockets on its main runtime, the first on a runtime of their own.
    let second =
        TestApp::start_with(&redis.url(), "shared:", &[("LIVEDASH_LIVE_THREADS", "off")]).await;
    let query = range("moving_gauge", 1000, 3_600_000);
    let base = (now_ms() - 600_000) / 1000 * 1000;
    let point = |i: i64| {
        format!(
            r#"{{"name":"moving_gauge","value":{i},"ts":{}}}"#,
            base + i * 1000
        )
    };
    for i in 0..10 {
        first.ingest(&point(i)).await;
    }
    let mut client = first.connect().await;
    subscribe(&mut client, 4, &query, None).await;
    let mut view = View::default();
    let mut arrivals = BTreeMap::new();
    follow(&mut client, &mut view, &mut arrivals, |v| {
        points_of(v).len() == 10
    })
    .await;
    let cursor = view.cursor.clone().unwrap();
    client.cut();
    for i in 10..25 {
        first.ingest(&point(i)).await;
    }
    let mut client = second.connect().await;
    subscribe(&mut client, 4, &query, Some(cursor.clone())).await;
    match client.message().await {
        ServerMessage::Delta {
            from,
            data: LiveData::Range { series, .. },
            ..
        } => {
            assert_eq!(from, cursor);
            let starts: Vec<i64> = series
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .collect();
            assert_eq!(
                starts,
                (10..25).map(|i| base + i * 1000).collect::<Vec<_>>()
            );
        }
        other => panic!("expected the missed points as a delta, got {other:?}"),
    }
}

/// With a long frame, a lone update still goes out at once; a burst within the frame goes
/// out as one delta, and a latest display gets only the newest value of each series.
#[tokio::test]
async fn lone_updates_go_out_at_once_and_bursts_are_coalesced() {
    let redis = RedisServer::start();
    let app =
        TestApp::start_with(&redis.url(), "coalesce:", &[("LIVEDASH_LIVE_FRAME", "2s")]).await;
    let mut client = app.live().await;
    assert!(client.values().await.is_empty());

    let sent = Instant::now();
    app.ingest(r#"{"name":"lone","value":1}"#).await;
    assert_eq!(client.values().await.len(), 1);
    assert!(
        sent.elapsed() < Duration::from_millis(1500),
        "a lone update waited for the frame: {:?}",
        sent.elapsed()
    );

    // Twenty writes within the frame that follows: one delta at its end, latest values only.
    for i in 0..20 {
        app.ingest(&format!(
            r#"[{{"name":"burst","value":{i}}},{{"name":"other","value":{i}}}]"#
        ))
        .await;
    }
    let values = client.values().await;
    let by_name: HashMap<&str, f64> = values
        .iter()
        .map(|v| (v.series.name.as_str(), v.value))
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(by_name["burst"], 19.0);
    assert_eq!(by_name["other"], 19.0);
    assert!(client.next(Duration::from_millis(300)).await.is_none());
}

/// The updates one write makes for several subscriptions of a socket reach it in one frame
/// (the socket waits `LIVEDASH_LIVE_GATHER` for the others after the first), so a browser gets
/// and draws a dashboard's widgets together instead of one message each.
#[tokio::test]
async fn updates_of_one_write_reach_a_socket_in_one_frame() {
    const WIDGETS: u32 = 8;
    let redis = RedisServer::start();
    // Generous, for a busy machine: the feeds answer within milliseconds of each other.
    let app = TestApp::start_with(
        &redis.url(),
        "gather:",
        &[("LIVEDASH_LIVE_GATHER", "500ms")],
    )
    .await;
    let mut client = app.connect().await;
    for id in 1..=WIDGETS {
        subscribe(
            &mut client,
            id,
            &range(&format!("gather_{id}"), 1000, 60_000),
            None,
        )
        .await;
    }
    let mut snapshots = 0;
    while snapshots < WIDGETS {
        for message in client
            .frame(Duration::from_secs(10))
            .await
            .expect("snapshots")
        {
            assert!(
                matches!(message, ServerMessage::Snapshot { .. }),
                "{message:?}"
            );
            snapshots += 1;
        }
    }

    for round in 1..=3 {
        let batch: Vec<String> = (1..=WIDGETS)
            .map(|id| format!(r#"{{"name":"gather_{id}","value":{round}}}"#))
            .collect();
        assert_eq!(app.ingest(&format!("[{}]", batch.join(","))).await.0, 200);
        let frame = client.frame(Duration::from_secs(10)).await.expect("deltas");
        let mut updated: Vec<u32> = frame
            .iter()
            .map(|message| match message {
                ServerMessage::Delta { id, .. } => *id,
                other => panic!("expected deltas, got {other:?}"),
            })
            .collect();
        updated.sort_unstable();
        assert_eq!(
            updated,
            (1..=WIDGETS).collect::<Vec<_>>(),
            "round {round}: one frame with every widget's delta"
        );
    }
}

/// Identical subscriptions share one computation; unsubscribing stops deltas; bad requests
/// get errors that say what is wrong, and the socket stays usable.
#[tokio::test]
async fn subscriptions_are_shared_validated_and_ended() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let query = range(r#"shared_gauge{host="a"}"#, 10_000, 600_000);
    let mut viewers = Vec::new();
    for _ in 0..5 {
        let mut viewer = app.connect().await;
        subscribe(&mut viewer, 9, &query, None).await;
        assert!(matches!(
            viewer.message().await,
            ServerMessage::Snapshot { id: 9, .. }
        ));
        viewers.push(viewer);
    }
    assert_eq!(
        app.state.hub.feeds(),
        1,
        "five viewers of one query share one feed"
    );
    app.ingest(r#"{"name":"shared_gauge","labels":{"host":"a"},"value":5}"#)
        .await;
    for viewer in &mut viewers {
        match viewer.message().await {
            ServerMessage::Delta {
                id: 9,
                data: LiveData::Range { series, .. },
                ..
            } => {
                assert_eq!(series[0].points.len(), 1);
                assert_eq!(series[0].points[0].1, 5.0);
            }
            other => panic!("expected a delta, got {other:?}"),
        }
    }
    // Another host does not concern this query.
    app.ingest(r#"{"name":"shared_gauge","labels":{"host":"b"},"value":6}"#)
        .await;
    assert!(viewers[0].next(Duration::from_millis(300)).await.is_none());

    let viewer = &mut viewers[0];
    viewer.send(&ClientMessage::Unsubscribe { id: 9 }).await;
    viewer.send(&ClientMessage::Ping { nonce: 77 }).await;
    assert_eq!(viewer.message().await, ServerMessage::Pong { nonce: 77 });
    app.ingest(r#"{"name":"shared_gauge","labels":{"host":"a"},"value":7}"#)
        .await;
    assert!(matches!(
        viewers[1].message().await,
        ServerMessage::Delta { .. }
    ));
    assert!(
        viewers[0].next(Duration::from_millis(300)).await.is_none(),
        "unsubscribed"
    );

    let viewer = &mut viewers[0];
    subscribe(viewer, 3, &range(r#"x{a=~"("}"#, 1000, 60_000), None).await;
    match viewer.message().await {
        ServerMessage::Error {
            id: Some(3),
            message,
        } => assert!(message.contains("regular expression"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    subscribe(viewer, 4, &range("x", 0, 60_000), None).await;
    match viewer.message().await {
        ServerMessage::Error {
            id: Some(4),
            message,
        } => assert!(message.contains("step_ms"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let rate_of_gauge = range_of(Aggregation::Rate, "shared_gauge", 10_000, 600_000);
    subscribe(viewer, 5, &rate_of_gauge, None).await;
    match viewer.message().await {
        ServerMessage::Error {
            id: Some(5),
            message,
        } => assert!(message.contains("rate"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
    viewer.send_raw("{\"type\":\"subscribe\"").await;
    match viewer.message().await {
        ServerMessage::Error { id: None, message } => {
            assert!(message.contains("unreadable"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    viewer.send(&ClientMessage::Ping { nonce: 1 }).await;
    assert_eq!(viewer.message().await, ServerMessage::Pong { nonce: 1 });
}

/// A client that stops reading does not hold up a normal one: the normal client gets every
/// update within a frame or so, and the stuck one is closed with a reason.
#[tokio::test]
async fn a_client_that_stops_reading_does_not_delay_others() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "slow:",
        &[
            ("LIVEDASH_LIVE_CLIENT_BUFFER", "4"),
            ("LIVEDASH_LIVE_SLOW_CLIENT", "2s"),
        ],
    )
    .await;
    // The stuck client: a tiny receive buffer, subscribed, then never read.
    let stuck_socket = tokio::net::TcpSocket::new_v4().unwrap();
    stuck_socket.set_recv_buffer_size(4096).unwrap();
    let stream = stuck_socket.connect(app.addr).await.unwrap();
    let (mut stuck, _) =
        tokio_tungstenite::client_async(format!("ws://{}/api/v1/live", app.addr), stream)
            .await
            .unwrap();
    let subscribe_all = serde_json::to_string(&ClientMessage::Subscribe {
        id: 0,
        query: LiveQuery::Latest { selector: None },
        after: None,
    })
    .unwrap();
    stuck
        .send(Message::Text(subscribe_all.into()))
        .await
        .unwrap();
    let mut normal = app.live().await;
    normal.values().await;

    // Wide batches (1 000 series each) fill the stuck client's buffers, until the server has
    // given up on it.
    let mut worst = Duration::ZERO;
    let mut round = 0;
    while app.state.hub.slow_clients_closed() == 0 {
        round += 1;
        assert!(round < 1_000, "the stuck client was never closed");
        let batch: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"name":"wide","labels":{{"i":"{i}"}},"value":{round}}}"#))
            .collect();
        let body = format!("[{}]", batch.join(","));
        let (status, _) = app.ingest(&body).await;
        assert_eq!(status, 200);
        let written = Instant::now();
        // The normal client sees this round's values (perhaps over two deltas).
        let mut seen = 0;
        while seen < 1000 {
            seen += normal
                .values()
                .await
                .iter()
                .filter(|v| v.value == f64::from(round))
                .count();
        }
        worst = worst.max(written.elapsed());
    }
    assert!(round > 1, "the stuck client fell behind at once");
    assert!(
        worst < Duration::from_secs(1),
        "the normal client waited {worst:?} for an update"
    );
    // The stuck client, read at last, finds a close with the reason after what it had.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let closed = loop {
        let frame = tokio::time::timeout_at(deadline, stuck.next())
            .await
            .expect("no close");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                break (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.0, 1013);
    assert!(closed.1.contains("too slow"), "{}", closed.1);
}

/// Redis restarted under a live subscription: clients are told the stream is degraded, data
/// flows again afterwards, and what was written while the hub was away is filled in.
#[tokio::test]
async fn redis_restart_degrades_then_fills_the_gap() {
    let mut redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let query = range("gap_gauge", 1000, 3_600_000);
    let mut client = app.connect().await;
    subscribe(&mut client, 2, &query, None).await;
    let mut view = View::default();
    let mut arrivals = BTreeMap::new();
    follow(&mut client, &mut view, &mut arrivals, |v| {
        v.cursor.is_some()
    })
    .await;

    redis.restart();
    // Write as soon as Redis takes writes again: some land before the hub has re-subscribed.
    let base = (now_ms() - 600_000) / 1000 * 1000;
    let mut written = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut i = 0;
    while written.len() < 40 {
        let ts = base + i * 1000;
        let (status, _) = app
            .ingest(&format!(r#"{{"name":"gap_gauge","value":{i},"ts":{ts}}}"#))
            .await;
        if status == 200 {
            written.insert(ts, i as f64);
            i += 1;
        } else {
            assert_eq!(status, 503);
            assert!(Instant::now() < deadline, "ingest did not recover");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while points_of(&view) != written {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next(remaining).await {
            Some(LiveEvent::Message(ServerMessage::Status { degraded, .. })) => {
                statuses.push(degraded)
            }
            Some(LiveEvent::Message(ServerMessage::Delta { from, to, data, .. })) => {
                assert_eq!(view.delta(from, to, data), Applied::Ok);
            }
            Some(LiveEvent::Message(ServerMessage::Snapshot { at, data, .. })) => {
                view.snapshot(at, data)
            }
            other => panic!("after the restart: {other:?}; have {:?}", points_of(&view)),
        }
    }
    // Told about the outage and the recovery (the notice of recovery may still be on its way).
    if statuses.last() == Some(&true) {
        match client.message().await {
            ServerMessage::Status { degraded, .. } => statuses.push(degraded),
            other => panic!("expected the recovery notice, got {other:?}"),
        }
    }
    assert_eq!(statuses, [true, false]);
}

/// A query that stops fitting its series (a series of another kind appears) ends with an error
/// that says why, rather than going quiet.
#[tokio::test]
async fn a_query_that_stops_fitting_ends_with_an_error() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let rate = range_of(Aggregation::Rate, "not_yet", 10_000, 600_000);
    let mut client = app.connect().await;
    subscribe(&mut client, 6, &rate, None).await;
    assert!(matches!(
        client.message().await,
        ServerMessage::Snapshot { id: 6, .. }
    ));
    app.ingest(r#"{"name":"not_yet","value":3}"#).await;
    match client.message().await {
        ServerMessage::Error {
            id: Some(6),
            message,
        } => {
            assert!(message.contains("rate does not apply"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // A new subscription to it is refused at once.
    subscribe(&mut client, 7, &rate, None).await;
    assert!(matches!(
        client.message().await,
        ServerMessage::Error { id: Some(7), .. }
    ));
}
