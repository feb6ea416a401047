//! Alerting against a real Redis and real HTTP receivers: a write that crosses a threshold
//! notifies once (signed, checked with the Standard Webhooks project's own library), and once
//! more when it resolves; several processes on one Redis send exactly one notification per
//! transition; a process killed during delivery has its notification sent by another with the
//! same id; a receiver that fails gets it once it recovers; silences hold notifications back
//! until they end; a contact point that groups gets one notification per group; editing or
//! deleting a rule clears its alerts' states; pending periods and absence fire from deadlines; bad input names its field.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::receiver::{Received, Receiver};
use support::{RedisServer, TestApp, now_ms, post_json as post};

async fn get(app: &TestApp, path: &str) -> Value {
    let response = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// A webhook contact point named `name` to `receiver`; its signing secret.
async fn webhook(app: &TestApp, name: &str, receiver: &Receiver) -> String {
    let (status, contact) = post(
        app,
        "/api/v1/alerts/contact-points",
        &json!({"name": name, "kind": "webhook", "url": format!("{}/hook", receiver.url)}),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    contact["secret"].as_str().unwrap().to_owned()
}

/// A rule: `last(metric)` over a minute per host, critical above 90, clear at or below 80.
fn cpu_rule(metric: &str, contact: &str) -> Value {
    json!({
        "name": format!("{metric} high"),
        "source": {
            "kind": "metric",
            "selector": metric,
            "aggregation": {"fn": "last"},
            "window_ms": 60_000,
            "group_by": ["host"],
        },
        "condition": {"op": "above", "critical": {"raise": 90, "clear": 80}},
        "labels": {"team": "ops"},
        "summary": "{{ $labels.host }} at {{ $value }}%",
        "contact_points": [contact],
    })
}

async fn create_rule(app: &TestApp, rule: &Value) -> String {
    let (status, stored) = post(app, "/api/v1/alerts/rules", rule).await;
    assert_eq!(status, 201, "{stored}");
    stored["id"].as_str().unwrap().to_owned()
}

async fn write(app: &TestApp, metric: &str, host: &str, value: f64) {
    let body = json!({"name": metric, "labels": {"host": host}, "value": value, "ts": now_ms()});
    let (status, answer) = app.ingest(&body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
}

/// Checks the request's signature with the `standardwebhooks` crate (not livedash's code).
fn verify(received: &Received, secret: &str) {
    let hook = standardwebhooks::Webhook::new(secret).unwrap();
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, received.header(name).parse().unwrap());
    }
    hook.verify(&received.body, &headers)
        .expect("the signature verifies with an independent implementation");
    // A changed body does not.
    let mut tampered = received.body.to_vec();
    tampered.push(b' ');
    assert!(hook.verify(&tampered, &headers).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crossing_a_threshold_notifies_once_signed_then_resolves_once() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start_with(
        &redis.url(),
        "alerts1:",
        &[("LIVEDASH_PUBLIC_URL", "https://livedash.example")],
    )
    .await;
    let secret = webhook(&app, "ops", &receiver).await;
    let rule = create_rule(&app, &cpu_rule("cpu", "ops")).await;

    write(&app, "cpu", "web-1", 50.0).await;
    write(&app, "cpu", "web-2", 40.0).await;
    write(&app, "cpu", "web-1", 95.5).await;
    let firing = receiver.wait_for(1, Duration::from_secs(10)).await;
    verify(&firing[0], &secret);
    let body = firing[0].json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "ops");
    let alert = &body["alerts"][0];
    assert_eq!(alert["labels"]["host"], "web-1");
    assert_eq!(alert["labels"]["alertname"], "cpu high");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["team"], "ops");
    assert_eq!(alert["annotations"]["summary"], "web-1 at 95.5%");
    assert_eq!(alert["value"], 95.5);
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        alert["generatorURL"],
        format!("https://livedash.example/alerts?rule={rule}")
    );
    assert_eq!(
        body["livedash"]["notificationId"],
        firing[0].header("webhook-id")
    );

    // Still above: nothing new. Between the levels (hysteresis): nothing either.
    write(&app, "cpu", "web-1", 97.0).await;
    write(&app, "cpu", "web-1", 85.0).await;
    write(&app, "cpu", "web-1", 91.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);

    write(&app, "cpu", "web-1", 70.0).await;
    let both = receiver.wait_for(2, Duration::from_secs(10)).await;
    verify(&both[1], &secret);
    let resolved = both[1].json();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["alerts"][0]["startsAt"], alert["startsAt"]);
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(resolved["alerts"][0]["fingerprint"], alert["fingerprint"]);
    assert_ne!(both[0].header("webhook-id"), both[1].header("webhook-id"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        2,
        "one notification per transition"
    );

    let history = get(&app, &format!("/api/v1/alerts/history?rule={rule}")).await;
    let transitions: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            ("firing".to_owned(), "normal".to_owned()),
            ("normal".to_owned(), "firing".to_owned())
        ]
    );
    assert_eq!(history[1]["query"], "last(cpu[1 min]) by (host)");
    let instances = get(&app, "/api/v1/alerts/instances").await;
    assert!(
        instances
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "normal")
    );
}

/// Three processes on one Redis see every write; exactly one notification leaves per
/// transition, over a thousand transitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_send_exactly_one_notification_per_transition() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(TestApp::start_with_prefix(&redis.url(), "alerts3:").await);
    }
    webhook(&apps[0], "ops", &receiver).await;
    let mut rule = cpu_rule("flip", "ops");
    rule["condition"] = json!({"op": "above", "critical": {"raise": 10}});
    create_rule(&apps[0], &rule).await;
    // Every process has read the rule (they look for changes every second).
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    const TRANSITIONS: usize = 1_000;
    for n in 1..=TRANSITIONS {
        let value = if n % 2 == 1 { 20.0 } else { 0.0 };
        write(&apps[n % 3], "flip", "h", value).await;
        receiver.wait_for(n, Duration::from_secs(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        TRANSITIONS,
        "one notification per transition, no more"
    );
    let ids: HashSet<String> = received.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), TRANSITIONS, "no notification sent twice");
    for (n, request) in received.iter().enumerate() {
        let expected = if n % 2 == 0 { "firing" } else { "resolved" };
        assert_eq!(request.json()["status"], expected, "notification {n}");
    }
    let history = get(
        &apps[1],
        &format!("/api/v1/alerts/history?limit={}", TRANSITIONS + 10),
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), TRANSITIONS);
}

/// A receiver that answers 500 for a while gets the notification once it recovers, with the
/// same id every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_receiver_gets_the_notification_after_it_recovers() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 500, 503]);
    let app = TestApp::start(&redis.url()).await;
    let secret = webhook(&app, "ops", &receiver).await;
    create_rule(&app, &cpu_rule("cpu", "ops")).await;
    write(&app, "cpu", "db-1", 99.0).await;
    let received = receiver.wait_for(4, Duration::from_secs(20)).await;
    let ids: HashSet<String> = received.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same id");
    for request in &received {
        verify(request, &secret);
    }
    // Backoff: each retry waits longer than the one before (at least half of 1 s, 2 s, 4 s).
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(450), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(950), "{gaps:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 4, "acknowledged after the 2xx");
    assert_eq!(get(&app, "/api/v1/alerts/dead-letters").await, json!([]));
}

/// A contact point's mute timing holds its notifications while another contact point of the
/// same rule is told at once; taking the mute away sends what it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mute_timing_holds_a_contact_points_notifications() {
    let redis = RedisServer::start();
    let (muted, open) = (Receiver::start().await, Receiver::start().await);
    let app = TestApp::start(&redis.url()).await;
    let always = "Mon-Sun 00:00-24:00";
    let contact = |name: &str, receiver: &Receiver, mute: &str| json!({"name": name, "kind": "webhook", "url": format!("{}/hook", receiver.url), "mute": mute});
    let (status, stored) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &contact("night", &muted, always),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["mute"], always);
    webhook(&app, "day", &open).await;
    let (status, refused) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &contact("bad", &open, "weekends"),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("mute"), "{refused}");
    let mut rule = cpu_rule("cpu", "night");
    rule["contact_points"] = json!(["night", "day"]);
    create_rule(&app, &rule).await;
    write(&app, "cpu", "web-1", 50.0).await;
    write(&app, "cpu", "web-1", 95.0).await;
    let told = open.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(told[0].json()["status"], "firing");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(muted.received().is_empty(), "muted, yet notified");

    let response = reqwest::Client::new()
        .put(app.url("/api/v1/alerts/contact-points/night"))
        .json(&contact("night", &muted, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let held = muted.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(held[0].json()["status"], "firing");
    assert_eq!(held[0].json()["alerts"][0]["labels"]["host"], "web-1");
}

/// A contact point with a repeat interval is told again while the alert keeps firing (each
/// time a notification of its own), and no more once it resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_firing_alert_is_repeated_at_the_contact_points_interval_until_it_resolves() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    let contact = json!({"name": "pager", "kind": "webhook", "url": format!("{}/hook", receiver.url), "repeat_ms": 1_000});
    let (status, stored) = post(&app, "/api/v1/alerts/contact-points", &contact).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["repeat_ms"], 1_000);
    let mut too_often = contact.clone();
    too_often["name"] = json!("spam");
    too_often["repeat_ms"] = json!(10);
    let (status, refused) = post(&app, "/api/v1/alerts/contact-points", &too_often).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("repeat_ms: "),
        "{refused}"
    );
    create_rule(&app, &cpu_rule("cpu", "pager")).await;
    write(&app, "cpu", "web-1", 95.0).await;
    let told = receiver.wait_for(3, Duration::from_secs(10)).await;
    for request in &told {
        let body = request.json();
        assert_eq!(body["status"], "firing");
        assert_eq!(body["alerts"][0]["labels"]["host"], "web-1");
    }
    let ids: HashSet<String> = told.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 3, "each repeat is a notification of its own");
    let gap = told[1].at - told[0].at;
    assert!(gap >= Duration::from_millis(900), "{gap:?}");

    write(&app, "cpu", "web-1", 10.0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !receiver
        .received()
        .iter()
        .any(|r| r.json()["status"] == "resolved")
    {
        assert!(Instant::now() < deadline, "no resolved notification");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.received().len(),
        after,
        "repeated after it resolved"
    );
}

/// The received notifications once `count` have come and nothing more for a while.
async fn settled(receiver: &Receiver, count: usize) -> Vec<Received> {
    receiver.wait_for(count, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let received = receiver.received();
    assert_eq!(received.len(), count, "one notification per group, no more");
    received
}

/// The `(host, status)` of a notification's alerts, sorted.
fn hosts(received: &Received) -> Vec<(String, String)> {
    let mut hosts: Vec<(String, String)> = received.json()["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let host = a["labels"]["host"].as_str().unwrap().to_owned();
            (host, a["status"].as_str().unwrap().to_owned())
        })
        .collect();
    hosts.sort();
    hosts
}

/// A contact point that groups by labels gets one notification per group: after the group
/// wait for a new group, with every alert that arrived meanwhile; then at most one per group
/// interval, with the changes and the alerts still firing; a group with nothing firing is
/// forgotten, and its next alert waits the group wait again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contact_point_that_groups_sends_a_groups_alerts_together() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    let contact = json!({
        "name": "grouped", "kind": "webhook", "url": format!("{}/hook", receiver.url),
        "group_by": ["alertname"], "group_wait_ms": 1_000, "group_interval_ms": 2_000,
    });
    let (status, stored) = post(&app, "/api/v1/alerts/contact-points", &contact).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["group_by"], json!(["alertname"]));
    let secret = stored["secret"].as_str().unwrap().to_owned();
    let mut bad = contact.clone();
    bad["name"] = json!("bad");
    bad["group_by"] = json!(["not a label"]);
    let (status, refused) = post(&app, "/api/v1/alerts/contact-points", &bad).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("group_by[0]: "),
        "{refused}"
    );
    create_rule(&app, &cpu_rule("cpu", "grouped")).await;

    let started = Instant::now();
    for host in ["web-1", "web-2", "web-3"] {
        write(&app, "cpu", host, 95.0).await;
    }
    let told = settled(&receiver, 1).await;
    assert!(
        told[0].at - started >= Duration::from_millis(900),
        "sent before the group wait was over"
    );
    verify(&told[0], &secret);
    let first = told[0].json();
    assert_eq!(first["status"], "firing");
    assert_eq!(first["groupLabels"], json!({"alertname": "cpu high"}));
    assert_eq!(first["commonLabels"]["team"], "ops");
    let firing = |host: &str| (host.to_owned(), "firing".to_owned());
    let resolved = |host: &str| (host.to_owned(), "resolved".to_owned());
    assert_eq!(
        hosts(&told[0]),
        vec![firing("web-1"), firing("web-2"), firing("web-3")]
    );

    write(&app, "cpu", "web-1", 10.0).await;
    write(&app, "cpu", "web-2", 10.0).await;
    let told = settled(&receiver, 2).await;
    assert!(
        told[1].at - told[0].at >= Duration::from_millis(1_900),
        "sent before the group interval was over"
    );
    assert_eq!(told[1].json()["status"], "firing");
    assert_eq!(
        hosts(&told[1]),
        vec![resolved("web-1"), resolved("web-2"), firing("web-3")]
    );
    assert_ne!(told[0].header("webhook-id"), told[1].header("webhook-id"));

    write(&app, "cpu", "web-3", 10.0).await;
    let told = settled(&receiver, 3).await;
    assert_eq!(told[2].json()["status"], "resolved");
    assert_eq!(hosts(&told[2]), vec![resolved("web-3")]);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "a resolved group is not sent again"
    );

    let again = Instant::now();
    write(&app, "cpu", "web-2", 99.0).await;
    let told = settled(&receiver, 4).await;
    assert!(
        told[3].at - again >= Duration::from_millis(900),
        "a group that ended waits the group wait again"
    );
    assert_eq!(hosts(&told[3]), vec![firing("web-2")]);
}

/// The `livedash_alert_state` values of rule `name`'s alerts, with their threshold labels.
async fn state_values(app: &TestApp, name: &str) -> Vec<(f64, Option<String>)> {
    app.state
        .store
        .current_values()
        .await
        .unwrap()
        .values
        .into_iter()
        .filter(|value| {
            value.series.name == "livedash_alert_state"
                && value.series.labels.get("alertname").map(String::as_str) == Some(name)
        })
        .map(|value| {
            let level = value.series.labels.get("threshold_critical").cloned();
            (value.value, level)
        })
        .collect()
}

/// An alert's state series carries its rule's level for charts; editing a firing rule, or
/// deleting it, sets the series of its alerts to normal, so that no dashboard keeps showing a
/// state nothing holds any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn editing_or_deleting_a_rule_clears_its_alerts_states() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, "ops", &receiver).await;
    let mut rule = cpu_rule("cpu", "ops");
    let id = create_rule(&app, &rule).await;
    write(&app, "cpu", "web-1", 95.0).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        state_values(&app, "cpu high").await,
        [(2.0, Some("90".to_owned()))]
    );
    // A new level: the old series goes normal; the instance, started afresh, fires again
    // under the new one.
    rule["condition"]["critical"]["raise"] = json!(93);
    let response = reqwest::Client::new()
        .put(app.url(&format!("/api/v1/alerts/rules/{id}")))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut values = state_values(&app, "cpu high").await;
        values.sort_by(|a, b| a.1.cmp(&b.1));
        if values == [(2.0, Some("90".to_owned())), (2.0, Some("93".to_owned()))] {
            panic!("the old level's series still says firing");
        }
        if values == [(0.0, Some("90".to_owned())), (2.0, Some("93".to_owned()))] {
            break;
        }
        assert!(Instant::now() < deadline, "{values:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/alerts/rules/{id}")))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let mut values = state_values(&app, "cpu high").await;
    values.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        values,
        [(0.0, Some("90".to_owned())), (0.0, Some("93".to_owned()))]
    );
}

/// A silence holds notifications back; when it ends, the alert still firing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silence_holds_notifications_until_it_ends() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, "ops", &receiver).await;
    create_rule(&app, &cpu_rule("cpu", "ops")).await;
    let ends = now_ms() + 3_000;
    let (status, silence) = post(
        &app,
        "/api/v1/alerts/silences",
        &json!({"matchers": [{"name": "host", "op": "=~", "value": "web-.*"}], "ends_ms": ends, "comment": "deploy"}),
    )
    .await;
    assert_eq!(status, 201, "{silence}");
    write(&app, "cpu", "web-1", 99.0).await;
    write(&app, "cpu", "db-1", 99.0).await;
    // The unsilenced host is told at once; the silenced one not while the silence lasts.
    let first = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(first[0].json()["alerts"][0]["labels"]["host"], "db-1");
    let instances = get(&app, "/api/v1/alerts/instances").await;
    let silenced: BTreeMap<String, bool> = instances
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["labels"]["host"].as_str().unwrap().to_owned(),
                i["silenced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        silenced,
        BTreeMap::from([("db-1".to_owned(), false), ("web-1".to_owned(), true)])
    );
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(ends - now_ms() - 300).unwrap_or(0),
    ))
    .await;
    assert_eq!(receiver.received().len(), 1, "silenced until its end");
    let both = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert!(both[1].at.elapsed() < Duration::from_secs(5));
    let second = both[1].json();
    assert_eq!(second["status"], "firing");
    assert_eq!(second["alerts"][0]["labels"]["host"], "web-1");

    // A silence ended early by the API releases what it held at once.
    let (_, silence) = post(
        &app,
        "/api/v1/alerts/silences",
        &json!({"matchers": [{"name": "host", "value": "web-1"}], "ends_ms": now_ms() + 600_000}),
    )
    .await;
    write(&app, "cpu", "web-1", 10.0).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.received().len(), 2, "the resolve is held");
    write(&app, "cpu", "web-1", 99.0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = reqwest::Client::new()
        .delete(app.url(&format!(
            "/api/v1/alerts/silences/{}",
            silence["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let all = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(
        all[2].json()["status"],
        "firing",
        "only the alert's current state is told"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3);
}

/// A pending period ends by a deadline, with no new data; absence fires once the period
/// passes without a sample and resolves on the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_periods_and_absence_fire_from_deadlines() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, "ops", &receiver).await;
    let mut pending = cpu_rule("load", "ops");
    pending["pending_ms"] = json!(1_000);
    create_rule(&app, &pending).await;
    let written = Instant::now();
    write(&app, "load", "a", 99.0).await;
    let fired = receiver.wait_for(1, Duration::from_secs(10)).await;
    let waited = fired[0].at - written;
    assert!(
        waited >= Duration::from_millis(950),
        "fired after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "fired after {waited:?}");
    let body = fired[0].json();
    let started = body["alerts"][0]["startsAt"].as_str().unwrap().to_owned();
    assert_eq!(body["status"], "firing");

    let absent = json!({
        "name": "heartbeat missing",
        "source": {"kind": "metric", "selector": "heartbeat", "aggregation": {"fn": "count"}, "window_ms": 60_000, "group_by": ["job"]},
        "condition": {"op": "absent", "after_ms": 1_500},
        "contact_points": ["ops"],
    });
    create_rule(&app, &absent).await;
    let body =
        json!({"name": "heartbeat", "labels": {"job": "backup"}, "value": 0, "ts": now_ms()});
    app.ingest(&body.to_string()).await;
    let last_sample = Instant::now();
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    let alert = received[1].json();
    assert_eq!(
        alert["alerts"][0]["labels"]["alertname"],
        "heartbeat missing"
    );
    assert_eq!(alert["alerts"][0]["labels"]["job"], "backup");
    let after = received[1].at - last_sample;
    assert!(
        after >= Duration::from_millis(1_400),
        "absent after {after:?}"
    );
    app.ingest(
        &json!({"name": "heartbeat", "labels": {"job": "backup"}, "value": 0, "ts": now_ms()})
            .to_string(),
    )
    .await;
    let received = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(received[2].json()["status"], "resolved");
    assert_eq!(received[2].json()["alerts"][0]["labels"]["job"], "backup");
    assert!(started.ends_with('Z'));
}

/// Bad rules, contact points and silences: a 400 naming the field, nothing stored.
#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let receiver = Receiver::start().await;
    webhook(&app, "ops", &receiver).await;
    let base = cpu_rule("cpu", "ops");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"source": {"kind": "metric", "selector": "cpu{host", "aggregation": {"fn": "avg"}, "window_ms": 60000}}),
            "source.selector",
        ),
        (
            json!({"condition": {"op": "above", "critical": {"raise": "ninety"}}}),
            "condition.critical.raise",
        ),
        (
            json!({"condition": {"op": "above", "critical": {"raise": 90, "clear": 95}}}),
            "condition.critical.clear",
        ),
        (json!({"summary": "{{ $nope }}"}), "summary"),
        (json!({"contact_points": ["nobody"]}), "contact_points[0]"),
        (json!({"pending_ms": -5}), "pending_ms"),
        (json!({"name": " "}), "name"),
    ];
    for (patch, field) in cases {
        let mut rule = base.clone();
        for (key, value) in patch.as_object().unwrap() {
            rule[key] = value.clone();
        }
        let (status, answer) = post(&app, "/api/v1/alerts/rules", &rule).await;
        assert_eq!(status, 400, "{field}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(field), "{field}: {error}");
    }
    let (status, answer) = post(
        &app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "x", "kind": "webhook", "url": "ftp://example.com"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().starts_with("url:"),
        "{answer}"
    );
    let (status, answer) = post(
        &app,
        "/api/v1/alerts/silences",
        &json!({"matchers": [{"name": "host", "op": "=~", "value": "("}], "ends_ms": now_ms() + 1000}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("matchers[0].value"),
        "{answer}"
    );
    assert_eq!(get(&app, "/api/v1/alerts/rules").await, json!([]));
    assert_eq!(get(&app, "/api/v1/alerts/silences").await, json!([]));
    let contacts = get(&app, "/api/v1/alerts/contact-points").await;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert!(
        contacts[0].get("secret").is_none(),
        "secrets are never listed"
    );
}

/// The preview replays a rule over past data before it is saved: when each instance would have
/// fired and resolved, exactly at its pending period's end, and how many notifications.
#[tokio::test]
async fn the_preview_replays_a_rule_over_past_data() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    // Two hours of one sample a minute: web-1 above 90 from 60 to 30 minutes ago, web-2 never.
    let now = now_ms() / 60_000 * 60_000;
    let mut items = Vec::new();
    for minute in (1..=120).rev() {
        let ts = now - minute * 60_000;
        let hot = (31..=60).contains(&minute);
        items.push(json!({"name": "temp", "labels": {"host": "web-1"}, "value": if hot { 95 } else { 50 }, "ts": ts}));
        items.push(json!({"name": "temp", "labels": {"host": "web-2"}, "value": 40, "ts": ts}));
    }
    let (status, answer) = app.ingest(&Value::Array(items).to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let mut rule = cpu_rule("temp", "ops");
    rule["contact_points"] = json!([]);
    rule["pending_ms"] = json!(600_000);
    let (status, preview) = post(
        &app,
        "/api/v1/alerts/rules/preview",
        &json!({"rule": rule, "hours": 2}),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let instances = preview["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0]["labels"]["host"], "web-1");
    let transitions: Vec<(String, i64)> = instances[0]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["to"].as_str().unwrap().to_owned(),
                t["at_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(transitions.len(), 3, "{transitions:?}");
    assert_eq!(transitions[0].0, "pending");
    assert_eq!(transitions[1].0, "firing");
    assert_eq!(transitions[2].0, "normal");
    // Pending from when the hot minute was first seen, firing ten minutes later exactly.
    let pending_at = transitions[0].1;
    assert!(
        (pending_at - (now - 60 * 60_000)).abs() <= 60_000,
        "{pending_at}"
    );
    assert_eq!(transitions[1].1, pending_at + 600_000);
    let resolved_at = transitions[2].1;
    assert!(
        (resolved_at - (now - 30 * 60_000)).abs() <= 2 * 60_000,
        "{resolved_at}"
    );
    assert_eq!(instances[0]["notifications"], 2);
    assert_eq!(instances[1]["notifications"], 0);
    assert_eq!(preview["notifications"], 2);
    assert!(instances[0]["points"].as_array().unwrap().len() > 100);
    // Nothing was saved.
    assert_eq!(get(&app, "/api/v1/alerts/rules").await, json!([]));
    // A bad rule names its field.
    let mut bad = rule.clone();
    bad["condition"]["critical"]["raise"] = json!("hot");
    let (status, answer) = post(&app, "/api/v1/alerts/rules/preview", &json!({"rule": bad})).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("rule.condition.critical.raise"),
        "{answer}"
    );
}
