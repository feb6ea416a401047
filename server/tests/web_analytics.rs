//! Web analytics against a real Redis: what livedash adds to events sent from web pages (site,
//! device, source) and the bots it counts apart instead of storing.

mod support;

use app::events::{AnalyticsAnswer, AnalyticsQuery, Event};
use serde_json::{Value, json};
use support::{RedisServer, TestApp};

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// POSTs `body` as `user_agent` would: the status and the answer.
async fn send(app: &TestApp, user_agent: &str, body: &Value) -> (u16, Value) {
    send_from(app, user_agent, None, body).await
}

/// POSTs `body` as `user_agent` at `address` (through a trusted proxy) would.
async fn send_from(
    app: &TestApp,
    user_agent: &str,
    address: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/events"))
        .header("content-type", "text/plain")
        .header("user-agent", user_agent);
    if let Some(address) = address {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn latest(app: &TestApp) -> Vec<Event> {
    let answer = app
        .ok_fn(
            "analytics",
            json!({ "query": AnalyticsQuery::Latest { event: String::new(), limit: 10 } }),
        )
        .await;
    match serde_json::from_value(answer).unwrap() {
        AnalyticsAnswer::Latest { events } => events,
        other => panic!("not a listing: {other:?}"),
    }
}

/// A page view from a phone, landing from a campaign link shared on a social network, gets
/// its site, device and source; an event a backend sends without a page is left alone; a
/// crawler's page view is taken, counted for its site, and not stored.
#[tokio::test]
async fn page_views_get_their_context_and_bots_are_counted_apart() {
    let redis = RedisServer::start();
    let app = TestApp::start(&redis.url()).await;
    let landing = "https://www.shop.example/spring?utm_source=facebook&utm_medium=social&utm_campaign=spring_sale";
    let (status, answer) = send(
        &app,
        IPHONE_SAFARI,
        &json!([{"event": "page_view", "user_id": "p1", "properties": {
            "path": "/spring", "url": landing, "referrer": "https://l.facebook.com/"}}]),
    )
    .await;
    assert_eq!((status, &answer["accepted"]), (200, &json!(1)), "{answer}");
    let (status, answer) = send(
        &app,
        "curl/8.11.0",
        &json!([{"event": "invoice_paid", "user_id": "p1", "properties": {"plan": "pro"}}]),
    )
    .await;
    assert_eq!((status, &answer["accepted"]), (200, &json!(1)), "{answer}");
    let (status, answer) = send(
        &app,
        GOOGLEBOT,
        &json!([
            {"event": "page_view", "user_id": "g1", "properties": {"path": "/", "url": "https://shop.example/"}},
            {"event": "page_view", "user_id": "g1", "properties": {"path": "/a", "url": "https://shop.example/a"}}
        ]),
    )
    .await;
    assert_eq!((status, &answer["accepted"]), (200, &json!(2)), "{answer}");

    let events = latest(&app).await;
    let users: Vec<&str> = events.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(
        users,
        ["p1", "p1"],
        "the crawler's page views are not stored"
    );
    // A backend's event gets no page context; it learns, as every event does, whether its
    // user was seen before (on no site: a filter of its own).
    let backend = &events[0];
    assert_eq!(backend.event, "invoice_paid");
    let expected: std::collections::BTreeMap<String, String> =
        [("plan", "pro"), ("visitor", "new")]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
    assert_eq!(backend.properties, expected);
    let page = &events[1].properties;
    for (name, value) in [
        ("site", "shop.example"),
        ("browser", "Safari"),
        ("os", "iOS"),
        ("device", "mobile"),
        ("channel", "social"),
        ("referrer_host", "l.facebook.com"),
        ("utm_source", "facebook"),
        ("utm_medium", "social"),
        ("utm_campaign", "spring_sale"),
        ("visitor", "new"),
    ] {
        assert_eq!(
            page.get(name).map(String::as_str),
            Some(value),
            "{name} in {page:?}"
        );
    }

    let counted = app
        .ok_fn(
            "query",
            json!({"query": {
                "selector": {"name": "livedash_web_bot_events_total",
                             "matchers": [{"label": "site", "op": "=", "value": "shop.example"}]},
                "range": {"last": {"ms": 600_000}}, "aggregation": {"fn": "sum"}, "group_by": [],
                "step_ms": 600_000
            }}),
        )
        .await;
    let total: f64 = counted["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point[1].as_f64().unwrap())
        .sum();
    assert_eq!(total, 2.0, "{counted}");
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// Page events sent without a user id (the snippet's cookieless mode) are counted per visitor
/// of the day, and Redis never holds the visitor's address or user agent; an event that is not
/// a page's still needs its id.
#[tokio::test]
async fn cookieless_visitors_are_counted_without_keeping_address_or_agent() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "ld:",
        &[("LIVEDASH_TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await;
    let page = |path: &str| {
        json!([{"event": "page_view", "properties": {
            "path": path, "url": format!("https://cookieless.test{path}"), "referrer": ""}}])
    };
    for (address, path) in [
        ("203.0.113.77", "/"),
        ("203.0.113.77", "/pricing"),
        ("198.51.100.23", "/"),
    ] {
        let (status, answer) = send_from(&app, FIREFOX, Some(address), &page(path)).await;
        assert_eq!((status, &answer["accepted"]), (200, &json!(1)), "{answer}");
    }
    let (status, answer) = send_from(
        &app,
        FIREFOX,
        Some("203.0.113.77"),
        &json!([{"event": "signup", "properties": {"plan": "pro"}}]),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("user_id"), "{answer}");

    let now = support::now_ms();
    let report = app
        .state
        .store
        .visit_report("cookieless.test", now - 3_600_000, now + 60_000, now)
        .await
        .unwrap();
    assert_eq!((report.visits, report.pageviews), (2, 3), "{report:?}");
    let users: std::collections::BTreeSet<String> =
        latest(&app).await.into_iter().map(|e| e.user_id).collect();
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(
        users.iter().all(|user| user.starts_with("anon-")),
        "{users:?}"
    );

    let stored = redis.everything();
    assert!(stored.contains("anon-") && stored.contains("/pricing"));
    for kept_nowhere in [
        "203.0.113.77",
        "198.51.100.23",
        FIREFOX,
        "rv:133.0",
        "X11; Linux",
    ] {
        assert!(
            !stored.contains(kept_nowhere),
            "Redis holds {kept_nowhere:?}"
        );
    }
}

/// Each UTC day has its own salt, shared by every process; a day's salt is deleted once two
/// days have passed (the clock given to the store, not the machine's).
#[tokio::test]
async fn the_salt_changes_every_day_and_is_gone_two_days_later() {
    const DAY: i64 = 86_400_000;
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "salt:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "salt:").await;
    let hex = |salt: [u8; 32]| salt.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let morning = support::now_ms().div_euclid(DAY) * DAY + 3_600_000;

    let today = first.state.store.daily_salt(morning).await.unwrap();
    assert_eq!(
        second
            .state
            .store
            .daily_salt(morning + 3_600_000)
            .await
            .unwrap(),
        today
    );
    let tomorrow = second.state.store.daily_salt(morning + DAY).await.unwrap();
    assert_ne!(tomorrow, today);
    assert!(redis.everything().contains(&hex(today)));

    let after = first
        .state
        .store
        .daily_salt(morning + 2 * DAY)
        .await
        .unwrap();
    assert!(after != today && after != tomorrow);
    let stored = redis.everything();
    assert!(
        !stored.contains(&hex(today)),
        "the first day's salt is still kept"
    );
    assert!(stored.contains(&hex(tomorrow)) && stored.contains(&hex(after)));
}

/// The tracking snippet stays small: at most 2 KB gzipped.
#[test]
fn the_snippet_is_at_most_two_kilobytes_gzipped() {
    use std::io::Write;
    let snippet = include_bytes!("../../public/track.js");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(snippet).unwrap();
    let size = gzip.finish().unwrap().len();
    assert!(size <= 2048, "track.js is {size} bytes gzipped");
}

/// A site's Web analytics dashboard is made once, from ordinary widgets, whichever process asks
/// first (two at once make one); once edited, asking again opens it as edited.
#[tokio::test]
async fn the_built_in_dashboard_is_made_once_and_kept_as_edited() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "webdash:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "webdash:").await;
    let (one, other) = tokio::join!(
        first.ok_fn("web_dashboard", json!({ "site": "shop.test" })),
        second.ok_fn("web_dashboard", json!({ "site": "shop.test" })),
    );
    assert_eq!(one, other);
    let id = one.as_str().unwrap().to_owned();
    let store = &first.state.store;
    let mut dashboard = store.dashboard(&id).await.unwrap();
    assert_eq!(dashboard.version, 1);
    assert_eq!(dashboard.title, "Web analytics: shop.test");
    assert!(
        dashboard
            .widgets
            .iter()
            .any(|widget| widget.kind == app::dashboard::WidgetKind::WebStats)
    );
    assert_eq!(store.dashboard_history(&id).await.unwrap().len(), 1);

    dashboard.title = "Shop traffic".into();
    dashboard.widgets.truncate(2);
    store
        .save_dashboard(dashboard, "mine now", "someone", support::now_ms())
        .await
        .unwrap();
    let again = second
        .ok_fn("web_dashboard", json!({ "site": "shop.test" }))
        .await;
    assert_eq!(again.as_str(), Some(id.as_str()));
    let kept = store.dashboard(&id).await.unwrap();
    assert_eq!((kept.version, kept.title.as_str()), (2, "Shop traffic"));
    assert_eq!(kept.widgets.len(), 2);
    // Another site has a dashboard of its own.
    let elsewhere = first
        .ok_fn("web_dashboard", json!({ "site": "blog.test" }))
        .await;
    assert_ne!(elsewhere, again);
}
