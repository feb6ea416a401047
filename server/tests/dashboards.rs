//! Dashboards through their server functions, over HTTP, against a real Redis: create, list,
//! save with versions, a conflicting save, history, preview and restore, delete, and refusals.

mod support;

use serde_json::{Value, json};
use support::{RedisServer, TestApp};

fn line_chart(id: &str, x: u32, title: &str) -> Value {
    json!({
        "id": id, "kind": "line", "title": title,
        "layout": {"x": x, "y": 0, "w": 6, "h": 8},
        "query": {"selector": "cpu_usage{host=\"a\"}", "aggregation": {"fn": "avg"}},
    })
}

/// The life of a dashboard: every save a version, a stale save refused with the current
/// version, old versions previewed and restored, then deleted.
#[tokio::test]
async fn versions_conflicts_and_restore() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    assert_eq!(app.ok_fn("dashboards", json!({})).await, json!([]));

    let created = app
        .ok_fn(
            "create_dashboard",
            json!({"dashboard": {"title": "Service health", "widgets": [line_chart("a", 0, "CPU")]},
               "summary": "Created"}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    assert_eq!(created["version"], 1);
    let listed = app.ok_fn("dashboards", json!({})).await;
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["title"], "Service health");
    assert_eq!(listed[0]["widgets"], 1);

    // Browser one adds a widget and saves over version 1: version 2.
    let mut first = created.clone();
    first["widgets"]
        .as_array_mut()
        .unwrap()
        .push(line_chart("b", 6, "Memory"));
    let saved = app
        .ok_fn(
            "save_dashboard",
            json!({"dashboard": first, "summary": "Added memory"}),
        )
        .await;
    assert_eq!(saved["outcome"], "saved");
    assert_eq!(saved["version"]["version"], 2);
    assert_eq!(saved["version"]["summary"], "Added memory");

    // Browser two still edits version 1: its save is refused and says version 2 is current.
    let mut second = created.clone();
    second["title"] = json!("Renamed elsewhere");
    let refused = app
        .ok_fn(
            "save_dashboard",
            json!({"dashboard": second, "summary": "Rename"}),
        )
        .await;
    assert_eq!(refused["outcome"], "conflict");
    assert_eq!(refused["current"]["version"], 2);
    let current = app
        .ok_fn("dashboard", json!({"id": id, "version": null}))
        .await;
    assert_eq!(
        current["title"], "Service health",
        "nothing of the stale save"
    );
    assert_eq!(current["widgets"].as_array().unwrap().len(), 2);
    assert_eq!(current["version"], 2);

    // History, newest first; version 1 can be previewed and restored as version 3.
    let history = app.ok_fn("dashboard_history", json!({"id": id})).await;
    let versions: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|info| info["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(history[1]["summary"], "Created");
    assert!(history[0]["saved_at"].as_i64().unwrap() >= history[1]["saved_at"].as_i64().unwrap());
    let preview = app
        .ok_fn("dashboard", json!({"id": id, "version": 1}))
        .await;
    assert_eq!(preview["widgets"].as_array().unwrap().len(), 1);
    let restored = app
        .ok_fn(
            "restore_dashboard",
            json!({"id": id, "version": 1, "base": 2}),
        )
        .await;
    assert_eq!(restored["version"]["version"], 3);
    assert_eq!(restored["version"]["summary"], "Restored version 1");
    let current = app
        .ok_fn("dashboard", json!({"id": id, "version": null}))
        .await;
    assert_eq!(current["widgets"], preview["widgets"]);
    assert_eq!(current["version"], 3);
    // Restoring over a stale base is a conflict too.
    let stale = app
        .ok_fn(
            "restore_dashboard",
            json!({"id": id, "version": 2, "base": 2}),
        )
        .await;
    assert_eq!(stale["outcome"], "conflict");

    app.ok_fn("delete_dashboard", json!({"id": id})).await;
    assert_eq!(app.ok_fn("dashboards", json!({})).await, json!([]));
    let (status, gone) = app
        .call_fn("dashboard", json!({"id": id, "version": null}))
        .await;
    assert_eq!(status, 404);
    assert!(gone.to_string().contains("no dashboard"), "{gone}");
}

/// Bad dashboards are refused with the field at fault, and nothing is stored; ids livedash
/// did not make address nothing.
#[tokio::test]
async fn refusals_name_what_is_wrong() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let mut too_wide = line_chart("a", 0, "CPU");
    too_wide["layout"]["w"] = json!(13);
    let (status, answer) = app
        .call_fn(
            "create_dashboard",
            json!({"dashboard": {"title": "x", "widgets": [too_wide]}, "summary": ""}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer.to_string().contains("widgets[0].layout"), "{answer}");
    let (_, answer) = app.call_fn(
        "create_dashboard",
        json!({"dashboard": {"title": "x", "widgets": [line_chart("a", 0, "CPU"), line_chart("b", 3, "overlapping")]},
               "summary": ""}),
    )
    .await;
    assert!(
        answer.to_string().contains("overlaps widgets[0]"),
        "{answer}"
    );
    assert_eq!(app.ok_fn("dashboards", json!({})).await, json!([]));

    for id in ["../catalog", "{x}", "0123456789abcdeg", ""] {
        let (status, answer) = app
            .call_fn("dashboard", json!({"id": id, "version": null}))
            .await;
        assert_eq!(status, 404, "{id}");
        assert!(
            answer.to_string().contains("no dashboard"),
            "{id}: {answer}"
        );
    }

    // User text is stored as written, markup and all (it is shown as text).
    let title = "<img src=x onerror=alert(1)>";
    let created = app
        .ok_fn(
            "create_dashboard",
            json!({"dashboard": {"title": title}, "summary": ""}),
        )
        .await;
    let fetched = app
        .ok_fn("dashboard", json!({"id": created["id"], "version": null}))
        .await;
    assert_eq!(fetched["title"], title);
}
