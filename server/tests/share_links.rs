//! Share links against a real Redis and real WebSocket clients: read-only access to one
//! dashboard, live, and nothing else; revocation closes open viewers at once; expiry.

mod support;

use std::time::{Duration, Instant};

use app::live::{CLOSE_ACCESS_ENDED, ClientMessage, LiveQuery, ServerMessage};
use app::query::Selector;
use serde_json::{Value, json};
use support::{LiveClient, LiveEvent, RedisServer, TestApp};

/// A dashboard with one chart of `shared_cpu{host="a"}`; its id.
async fn dashboard(app: &TestApp) -> String {
    let created = app
        .ok_fn(
            "create_dashboard",
            json!({"dashboard": {"title": "Shared", "widgets": [{
            "id": "cpu", "kind": "line", "title": "CPU",
            "layout": {"x": 0, "y": 0, "w": 6, "h": 6},
            "query": {"selector": "shared_cpu{host=\"a\"}", "aggregation": {"fn": "avg"}}
        }]}, "summary": ""}),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

fn latest(selector: Option<&str>) -> LiveQuery {
    LiveQuery::Latest {
        selector: selector.map(|text| Selector::parse(text).unwrap()),
    }
}

async fn subscribe(client: &mut LiveClient, id: u32, query: LiveQuery) -> ServerMessage {
    client
        .send(&ClientMessage::Subscribe {
            id,
            query,
            after: None,
        })
        .await;
    client.message().await
}

/// Waits for the close; its code and reason, and how long it took.
async fn closed(client: &mut LiveClient, within: Duration) -> (u16, String, Duration) {
    let started = Instant::now();
    loop {
        match client.next(within).await {
            Some(LiveEvent::Closed { code, reason }) => return (code, reason, started.elapsed()),
            Some(LiveEvent::Message(_)) => {}
            None => panic!("not closed within {within:?}"),
        }
    }
}

/// A link shows its dashboard, live, and nothing else; revoking it closes an open viewer
/// within a second with a reason, and the link stops working.
#[tokio::test]
async fn revoked_links_close_their_viewers() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let id = dashboard(&app).await;
    let (status, _) = app
        .ingest(r#"[{"name":"shared_cpu","labels":{"host":"a"},"value":7}]"#)
        .await;
    assert_eq!(status, 200);

    let created = app
        .ok_fn(
            "create_share_link",
            json!({"id": id, "label": "wall screen", "expires_in_ms": null}),
        )
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32, "128 bits");
    let link = created["link"]["id"].as_str().unwrap().to_owned();
    let listed = app.ok_fn("share_links", json!({"id": id})).await;
    assert_eq!(listed[0]["label"], "wall screen");
    assert!(
        !listed.to_string().contains(&token),
        "the token is not kept"
    );
    // Not kept in Redis either: no key or value holds it.
    let mut connection = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    for key in &keys {
        let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query(&mut connection).unwrap();
        let dump = String::from_utf8_lossy(&dump.unwrap_or_default()).into_owned();
        assert!(
            !key.contains(&token) && !dump.contains(&token),
            "{key} holds the token"
        );
    }

    let shown: Value = reqwest::get(app.url(&format!("/api/v1/share/{token}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["title"], "Shared");
    // The share page reads it through its server function, the same way.
    let through_fn = app.ok_fn("shared_dashboard", json!({"token": token})).await;
    assert_eq!(through_fn, shown);

    let mut viewer = app.connect_to(&format!("/api/v1/live?share={token}")).await;
    match subscribe(&mut viewer, 1, latest(Some(r#"shared_cpu{host="a"}"#))).await {
        ServerMessage::Snapshot { id: 1, .. } => {}
        other => panic!("expected a snapshot, got {other:?}"),
    }
    for (id, query) in [(2, latest(Some("other_metric"))), (3, latest(None))] {
        match subscribe(&mut viewer, id, query).await {
            ServerMessage::Error { message, .. } => {
                assert!(message.contains("only its dashboard"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // An ordinary socket is not affected by the revocation.
    let mut ordinary = app.connect().await;
    assert!(matches!(
        subscribe(&mut ordinary, 1, latest(None)).await,
        ServerMessage::Snapshot { .. }
    ));

    app.ok_fn("revoke_share_link", json!({"id": id, "link": link}))
        .await;
    let (code, reason, took) = closed(&mut viewer, Duration::from_secs(5)).await;
    assert_eq!(code, CLOSE_ACCESS_ENDED);
    assert!(reason.contains("revoked"), "{reason}");
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    assert!(ordinary.next(Duration::from_millis(300)).await.is_none());

    let gone = reqwest::get(app.url(&format!("/api/v1/share/{token}")))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let (status, answer) = app
        .call_fn("shared_dashboard", json!({"token": token}))
        .await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer.to_string().contains("revoked or has expired"),
        "{answer}"
    );
    let mut again = app.connect_to(&format!("/api/v1/live?share={token}")).await;
    let (code, reason, _) = closed(&mut again, Duration::from_secs(5)).await;
    assert_eq!(code, CLOSE_ACCESS_ENDED);
    assert!(reason.contains("revoked or has expired"), "{reason}");
    let mut unknown = app
        .connect_to("/api/v1/live?share=00000000000000000000000000000000")
        .await;
    assert_eq!(
        closed(&mut unknown, Duration::from_secs(5)).await.0,
        CLOSE_ACCESS_ENDED
    );
    assert_eq!(app.ok_fn("share_links", json!({"id": id})).await, json!([]));
}

/// A link with an expiry stops working then; deleting the dashboard revokes its links, open
/// viewers included, also on another process.
#[tokio::test]
async fn expiry_and_deletion_end_links() {
    let redis = RedisServer::start();
    let app = TestApp::start_with_prefix(&redis.url(), "share:").await;
    let other = TestApp::start_with_prefix(&redis.url(), "share:").await;
    let id = dashboard(&app).await;

    let brief = app
        .ok_fn(
            "create_share_link",
            json!({"id": id, "label": "", "expires_in_ms": 400}),
        )
        .await;
    let token = brief["token"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/share/{token}"));
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    let (status, answer) = app
        .call_fn(
            "create_share_link",
            json!({"id": id, "label": "", "expires_in_ms": -5}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    let lasting = app
        .ok_fn(
            "create_share_link",
            json!({"id": id, "label": "", "expires_in_ms": null}),
        )
        .await;
    let token = lasting["token"].as_str().unwrap();
    let mut viewer = other
        .connect_to(&format!("/api/v1/live?share={token}"))
        .await;
    assert!(matches!(
        subscribe(&mut viewer, 1, latest(Some(r#"shared_cpu{host="a"}"#))).await,
        ServerMessage::Snapshot { .. }
    ));
    app.ok_fn("delete_dashboard", json!({"id": id})).await;
    let (code, _, took) = closed(&mut viewer, Duration::from_secs(5)).await;
    assert_eq!(code, CLOSE_ACCESS_ENDED);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
}

/// A viewer watching through a link with an expiry is closed when it expires, however often
/// data arrives meanwhile.
#[tokio::test]
async fn expiring_links_close_their_viewers_on_time() {
    let redis = RedisServer::start();
    let app = TestApp::start_with_prefix(&redis.url(), "expiring:").await;
    let id = dashboard(&app).await;
    let link = app
        .ok_fn(
            "create_share_link",
            json!({"id": id, "label": "", "expires_in_ms": 1500}),
        )
        .await;
    let token = link["token"].as_str().unwrap();
    let mut viewer = app.connect_to(&format!("/api/v1/live?share={token}")).await;
    assert!(matches!(
        subscribe(&mut viewer, 1, latest(Some(r#"shared_cpu{host="a"}"#))).await,
        ServerMessage::Snapshot { .. }
    ));
    let writing = {
        let ingest_url = app.url("/api/v1/ingest");
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for value in 0.. {
                let _ = client
                    .post(&ingest_url)
                    .json(&json!([{"name": "shared_cpu", "labels": {"host": "a"}, "value": value}]))
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (code, reason, took) = closed(&mut viewer, Duration::from_secs(8)).await;
    writing.abort();
    assert_eq!(code, CLOSE_ACCESS_ENDED);
    assert!(reason.contains("revoked or has expired"), "{reason}");
    assert!(
        took > Duration::from_millis(800) && took < Duration::from_secs(4),
        "closed after {took:?}"
    );
}
