//! Alert rules over product analytics against a real Redis and a real HTTP receiver: a
//! funnel's conversion falling below a level fires and its recovery resolves; a conversion
//! down against the same window a week earlier fires; an experiment whose split of users is
//! far from its weights fires a sample-ratio alert, and one whose variant wins fires on its
//! always-valid p-value; rules that name no funnel or experiment are refused; a funnel rule's
//! preview replays its conversion.

mod support;

use std::time::Duration;

use app::analytics::assign_variant;
use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{RedisServer, TestApp, now_ms, post_json as post};

const DAY_MS: i64 = 86_400_000;

async fn send_events(app: &TestApp, events: &[Value]) {
    for batch in events.chunks(1_000) {
        let response = reqwest::Client::new()
            .post(app.url("/api/v1/events"))
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

fn event(name: &str, user: &str, ts: i64) -> Value {
    json!({"event": name, "user_id": user, "ts": ts})
}

/// `count` users from `first` who view the pricing page at `ts`, of whom the first `buy` buy.
fn visits(first: usize, count: usize, buy: usize, ts: i64) -> Vec<Value> {
    let mut events = Vec::new();
    for user in first..first + count {
        let user = format!("u{user}");
        events.push(event("view", &user, ts));
        if user_index(&user) < first + buy {
            events.push(event("buy", &user, ts + 1_000));
        }
    }
    events
}

fn user_index(user: &str) -> usize {
    user[1..].parse().unwrap()
}

async fn create_funnel(app: &TestApp, backfill: bool) -> String {
    let funnel = json!({
        "name": "Checkout",
        "steps": [{"event": "view"}, {"event": "buy"}],
        "window_ms": 3_600_000
    });
    let created = app
        .ok_fn(
            "change_analytics",
            json!({"change": {"CreateFunnel": {"funnel": funnel, "backfill": backfill}}}),
        )
        .await;
    created["funnels"][0]["id"].as_str().unwrap().to_owned()
}

async fn webhook(app: &TestApp, receiver: &Receiver) {
    let (status, contact) = post(
        app,
        "/api/v1/alerts/contact-points",
        &json!({"name": "ops", "kind": "webhook", "url": format!("{}/hook", receiver.url)}),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
}

async fn create_rule(app: &TestApp, rule: &Value) -> String {
    let (status, stored) = post(app, "/api/v1/alerts/rules", rule).await;
    assert_eq!(status, 201, "{stored}");
    stored["id"].as_str().unwrap().to_owned()
}

/// The statuses and values of what the receiver got, in order.
fn told(receiver: &Receiver) -> Vec<(String, f64)> {
    receiver
        .received()
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["status"].as_str().unwrap().to_owned(),
                body["alerts"][0]["value"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// A funnel's conversion below a level fires once events bring it there, and resolves once
/// later events lift it; bad funnel rules are refused naming the field; the preview replays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_funnels_conversion_below_a_level_fires_and_resolves() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, &receiver).await;
    let funnel = create_funnel(&app, false).await;
    let rule = json!({
        "name": "checkout conversion",
        "source": {"kind": "funnel", "funnel": funnel, "window_ms": 3_600_000},
        "condition": {"op": "below", "critical": {"raise": 0.3, "clear": 0.35}},
        "summary": "conversion at {{ $value }}",
        "contact_points": ["ops"],
    });
    for (field, bad) in [
        (
            "source.funnel",
            json!({"kind": "funnel", "funnel": "nope", "window_ms": 3_600_000}),
        ),
        (
            "source.step",
            json!({"kind": "funnel", "funnel": funnel, "step": 5, "window_ms": 3_600_000}),
        ),
        (
            "source.window_ms",
            json!({"kind": "funnel", "funnel": funnel, "window_ms": 2 * DAY_MS}),
        ),
    ] {
        let mut refused = rule.clone();
        refused["source"] = bad;
        let (status, answer) = post(&app, "/api/v1/alerts/rules", &refused).await;
        assert_eq!(status, 400, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(&format!("{field}: ")), "{error}");
    }
    let listed: Value = reqwest::get(app.url("/api/v1/alerts/export"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed.to_string().matches("checkout conversion").count() == 0,
        "a refused rule was stored: {listed}"
    );
    create_rule(&app, &rule).await;

    let now = now_ms();
    // Half of 20 buy: 0.5, normal.
    send_events(&app, &visits(0, 20, 10, now)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(receiver.received().is_empty(), "{:?}", told(&receiver));
    // 30 more view, none buy: 10 of 50, 0.2.
    send_events(&app, &visits(20, 30, 0, now + 2_000)).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let first = receiver.received()[0].json();
    assert_eq!(first["status"], "firing");
    assert_eq!(first["alerts"][0]["labels"]["funnel"], funnel.as_str());
    assert!((first["alerts"][0]["value"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    assert_eq!(
        first["alerts"][0]["annotations"]["summary"],
        "conversion at 0.200"
    );
    // 20 of those 30 buy: 30 of 50, 0.6, resolved.
    let buys: Vec<Value> = (20..40)
        .map(|user| event("buy", &format!("u{user}"), now + 4_000))
        .collect();
    send_events(&app, &buys).await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let statuses: Vec<String> = told(&receiver).into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses, ["firing", "resolved"]);

    let (status, preview) = post(
        &app,
        "/api/v1/alerts/rules/preview",
        &json!({"rule": rule, "hours": 1}),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let instance = &preview["instances"][0];
    assert_eq!(instance["labels"]["funnel"], funnel.as_str());
    assert!(
        !instance["points"].as_array().unwrap().is_empty(),
        "{preview}"
    );
    assert!(preview.get("note").is_none());
}

/// A funnel rule comparing with the same window a week earlier fires when the conversion fell
/// by more than the share set (counted from the raw log by a backfilled funnel).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conversion_down_against_a_week_earlier_fires() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, &receiver).await;
    let now = now_ms();
    // A week ago, 10 of 20 bought; in the last hour, 4 of 20.
    let mut events = visits(0, 20, 10, now - 7 * DAY_MS - 600_000);
    events.extend(visits(100, 20, 4, now - 600_000));
    send_events(&app, &events).await;
    let funnel = create_funnel(&app, true).await;
    create_rule(
        &app,
        &json!({
            "name": "checkout down",
            "source": {"kind": "funnel", "funnel": funnel, "window_ms": 3_600_000, "compare": "week_earlier"},
            "condition": {"op": "below", "critical": {"raise": -0.25}},
            "contact_points": ["ops"],
        }),
    )
    .await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let (status, value) = told(&receiver)[0].clone();
    assert_eq!(status, "firing");
    assert!((value - (0.2 / 0.5 - 1.0)).abs() < 1e-9, "{value}");
}

/// An experiment whose exposures lose most of one variant's users fires a sample-ratio alert;
/// one whose variant converts far better fires on its always-valid p-value, per variant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn experiments_fire_on_a_sample_ratio_mismatch_and_on_significance() {
    let redis = RedisServer::start();
    let receiver = Receiver::start().await;
    let app = TestApp::start(&redis.url()).await;
    webhook(&app, &receiver).await;
    let experiment = json!({
        "id": "new-checkout", "name": "New checkout", "goal_event": "buy",
        "variants": [{"name": "control", "weight": 1}, {"name": "new", "weight": 1}]
    });
    app.ok_fn(
        "change_analytics",
        json!({"change": {"CreateExperiment": {"experiment": experiment}}}),
    )
    .await;
    let (status, refused) = post(
        &app,
        "/api/v1/alerts/rules",
        &json!({
            "name": "nope", "source": {"kind": "experiment", "experiment": "nope", "signal": "sample_ratio"},
            "condition": {"op": "below", "critical": {"raise": 0.001}},
        }),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("source.experiment: "),
        "{refused}"
    );
    for (name, signal, level) in [
        ("split", "sample_ratio", 0.001),
        ("winner", "significance", 0.05),
    ] {
        create_rule(
            &app,
            &json!({
                "name": name,
                "source": {"kind": "experiment", "experiment": "new-checkout", "signal": signal},
                "condition": {"op": "below", "critical": {"raise": level}},
                "contact_points": ["ops"],
            }),
        )
        .await;
    }
    // 2 000 visitors, of whom the "new" variant's exposures are lost two times in three; of
    // those exposed, the control's 10 % buy and the new variant's 40 %.
    let client = reqwest::Client::new();
    let mut buys = Vec::new();
    for user in 0..2_000 {
        let user_id = format!("visitor-{user}");
        let variant = assign_variant("new-checkout", &user_id, &[1, 1]).unwrap();
        if variant == 1 && user % 3 != 0 {
            continue;
        }
        let answer: Value = client
            .get(app.url(&format!(
                "/api/v1/experiments/new-checkout/assign?user_id={user_id}"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["variant"], ["control", "new"][variant]);
        let buys_now = if variant == 0 {
            user % 10 == 0
        } else {
            user % 5 < 2
        };
        if buys_now {
            buys.push(event("buy", &user_id, now_ms()));
        }
    }
    send_events(&app, &buys).await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut fired: Vec<(String, Option<String>)> = receiver
        .received()
        .iter()
        .map(|r| {
            let alert = &r.json()["alerts"][0];
            assert_eq!(r.json()["status"], "firing");
            assert_eq!(alert["labels"]["experiment"], "new-checkout");
            (
                alert["labels"]["alertname"].as_str().unwrap().to_owned(),
                alert["labels"]["variant"].as_str().map(str::to_owned),
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            ("split".to_owned(), None),
            ("winner".to_owned(), Some("new".to_owned()))
        ]
    );
}
