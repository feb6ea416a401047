//! Access control against a real Redis, over real HTTP and WebSockets: every endpoint (server
//! functions, HTTP API, pages, the live socket) by every role, each cell tested; CSRF and Origin
//! checks on browser sessions; revocation of tokens, sessions and share links closing open
//! sockets within a second; one-time sign-in links.

mod support;

use std::time::{Duration, Instant};

use app::auth::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, cookie_value};
use app::live::CLOSE_ACCESS_ENDED;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{LiveEvent, RedisServer, TestApp};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// Who sends a request.
#[derive(Clone, Debug)]
enum Who {
    Nobody,
    Token(&'static str, String),
    /// A signed-in browser: its role name, session cookie and CSRF token.
    Session(&'static str, String, String),
}

impl Who {
    fn role(&self) -> &'static str {
        match self {
            Self::Nobody => "nobody",
            Self::Token(role, _) | Self::Session(role, ..) => role,
        }
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Nobody => request,
            Self::Token(_, token) => request.header("authorization", format!("Token {token}")),
            Self::Session(_, session, csrf) => request
                .header(
                    COOKIE,
                    format!("{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"),
                )
                .header(CSRF_HEADER, csrf),
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts livedash with access control on and the configured admin token in place.
async fn start(redis: &RedisServer) -> TestApp {
    let app = TestApp::start_with(
        &redis.url(),
        "acl:",
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
            // Files of the site root are public only if they exist: the repository's own.
            (
                "LIVEDASH_SITE_ROOT",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../public"),
            ),
        ],
    )
    .await;
    // The token is stored as soon as the server serves.
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&app, &admin(), "tokens", json!({})).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the admin token was never stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

fn admin() -> Who {
    Who::Token("admin", ADMIN_TOKEN.to_owned())
}

async fn call(app: &TestApp, who: &Who, endpoint: &str, body: Value) -> (u16, Value) {
    send(
        app,
        who,
        Method::POST,
        &format!("/api/fn/{endpoint}"),
        Some(body),
    )
    .await
}

async fn send(
    app: &TestApp,
    who: &Who,
    method: Method,
    path: &str,
    json_body: Option<Value>,
) -> (u16, Value) {
    let mut request = who.apply(client().request(method, app.url(path)));
    if let Some(body) = json_body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn token(app: &TestApp, role: &'static str) -> Who {
    let (status, made) = call(
        app,
        &admin(),
        "create_token",
        json!({"role": role, "label": role}),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    Who::Token(role, made["token"].as_str().unwrap().to_owned())
}

/// Signs a browser in with `token` through the sign-in form.
async fn session(app: &TestApp, who: &Who) -> Who {
    let Who::Token(role, token) = who else {
        panic!("sessions start from tokens")
    };
    let response = client()
        .post(app.url("/login"))
        .form(&[("token", token.as_str()), ("next", "/dashboards")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboards");
    session_from(role, &response)
}

fn session_from(role: &'static str, response: &reqwest::Response) -> Who {
    let cookies: Vec<&str> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    let find = |name: &str| {
        cookies
            .iter()
            .find_map(|cookie| cookie_value(cookie.split(';').next().unwrap(), name))
            .unwrap()
            .to_owned()
    };
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with(SESSION_COOKIE))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
    Who::Session(role, find(SESSION_COOKIE), find(CSRF_COOKIE))
}

/// What a row's request is.
enum Target {
    Fn(&'static str, Value),
    Http(Method, String, Option<Value>),
    Page(&'static str),
    Live,
}

/// Whether `who` got through: anything but 401/403 (and, for pages, the sign-in redirect); the
/// status either way.
/// A refusal must be 401 for nobody and 403 for a role that may not.
async fn attempt(app: &TestApp, who: &Who, target: &Target) -> Result<u16, u16> {
    let status = match target {
        Target::Fn(endpoint, body) => call(app, who, endpoint, body.clone()).await.0,
        Target::Http(method, path, body) => {
            send(app, who, method.clone(), path, body.clone()).await.0
        }
        Target::Page(path) => {
            let response = who.apply(client().get(app.url(path))).send().await.unwrap();
            let status = response.status().as_u16();
            if status == 303 {
                let location = response.headers()[LOCATION].to_str().unwrap();
                assert!(location.starts_with("/login?next="), "{path}: {location}");
                return Err(401);
            }
            status
        }
        Target::Live => {
            let mut request = format!("ws://{}/api/v1/live", app.addr)
                .into_client_request()
                .unwrap();
            if let Who::Token(_, token) = who {
                request
                    .headers_mut()
                    .insert("authorization", format!("Token {token}").parse().unwrap());
            }
            if let Who::Session(_, session, _) = who {
                request.headers_mut().insert(
                    "cookie",
                    format!("{SESSION_COOKIE}={session}").parse().unwrap(),
                );
                request
                    .headers_mut()
                    .insert("origin", format!("http://{}", app.addr).parse().unwrap());
            }
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(error) => panic!("live socket: {error}"),
            }
        }
    };
    match status {
        401 | 403 => Err(status),
        other => Ok(other),
    }
}

/// Every server function, HTTP endpoint, page and the live socket, by every role (tokens and
/// browser sessions): allowed exactly where the table says, refused with 401 (nobody) or 403
/// (a role that may not) everywhere else.
#[tokio::test]
async fn every_endpoint_by_every_role() {
    let redis = RedisServer::start();
    let app = start(&redis).await;
    let ingest = token(&app, "ingest").await;
    let viewer = token(&app, "viewer").await;
    let viewer_session = session(&app, &viewer).await;
    let admin_session = session(&app, &admin()).await;

    let (_, dashboard) = call(&app, &admin(), "create_dashboard", json!({
        "dashboard": {"title": "ACL", "widgets": [{
            "id": "w", "kind": "line", "title": "CPU", "layout": {"x": 0, "y": 0, "w": 6, "h": 6},
            "query": {"selector": "acl_cpu", "aggregation": {"fn": "avg"}}
        }]},
        "summary": ""
    }))
    .await;
    let id = dashboard["id"].as_str().unwrap().to_owned();
    let (_, link) = call(
        &app,
        &admin(),
        "create_share_link",
        json!({"id": id, "label": "x", "expires_in_ms": null}),
    )
    .await;
    let share = link["token"].as_str().unwrap().to_owned();
    let query = serde_json::to_value(app::query::Query {
        selector: app::query::Selector::parse("acl_cpu").unwrap(),
        range: app::query::TimeRange::Last { ms: 300_000 },
        step_ms: None,
        aggregation: app::query::Aggregation::Last,
        group_by: None,
    })
    .unwrap();
    let uniques = json!({"Uniques": {"event": "", "from": 0, "to": 1}});
    let none_id = "00000000000000000000000000000000";

    const NOBODY: u8 = 1;
    const INGEST: u8 = 2;
    const VIEWER: u8 = 4;
    const ADMIN: u8 = 8;
    const ALL: u8 = NOBODY | INGEST | VIEWER | ADMIN;
    const READ: u8 = VIEWER | ADMIN;
    const WRITE: u8 = INGEST | ADMIN;
    let fns: Vec<(Target, u8)> = vec![
        (Target::Fn("current_values", json!({})), READ),
        (
            Target::Fn("query", json!({"query": query, "share": null})),
            READ,
        ),
        (
            Target::Fn("query", json!({"query": query, "share": share})),
            ALL,
        ),
        (Target::Fn("metric_names", json!({"prefix": "a"})), READ),
        (Target::Fn("shared_dashboard", json!({"token": share})), ALL),
        (Target::Fn("dashboards", json!({})), READ),
        (
            Target::Fn("dashboard", json!({"id": id, "version": null})),
            READ,
        ),
        (Target::Fn("dashboard_history", json!({"id": id})), READ),
        (
            Target::Fn(
                "create_dashboard",
                json!({"dashboard": {"title": "new"}, "summary": ""}),
            ),
            ADMIN,
        ),
        (
            Target::Fn(
                "save_dashboard",
                json!({"dashboard": {"id": id, "title": "ACL", "version": 1}, "summary": ""}),
            ),
            ADMIN,
        ),
        (
            Target::Fn(
                "restore_dashboard",
                json!({"id": id, "version": 1, "base": 1}),
            ),
            ADMIN,
        ),
        (
            Target::Fn("delete_dashboard", json!({"id": "0000000000000000"})),
            ADMIN,
        ),
        (
            Target::Fn(
                "create_share_link",
                json!({"id": id, "label": "y", "expires_in_ms": null}),
            ),
            ADMIN,
        ),
        (Target::Fn("share_links", json!({"id": id})), ADMIN),
        (
            Target::Fn("revoke_share_link", json!({"id": id, "link": none_id})),
            ADMIN,
        ),
        (
            Target::Fn("analytics", json!({"query": uniques, "share": null})),
            READ,
        ),
        (Target::Fn("analytics_definitions", json!({})), READ),
        (Target::Fn("web_sites", json!({})), READ),
        (
            Target::Fn("web_dashboard", json!({"site": "shop.test"})),
            READ,
        ),
        // Personal data.
        (Target::Fn("person", json!({"user_id": "someone"})), ADMIN),
        (
            Target::Fn(
                "change_analytics",
                json!({"change": {"DeleteFunnel": {"id": "nope"}}}),
            ),
            ADMIN,
        ),
        (Target::Fn("alerts", json!({"call": "Overview"})), READ),
        (
            Target::Fn("alerts", json!({"call": {"DeleteRule": "none"}})),
            ADMIN,
        ),
        (Target::Fn("whoami", json!({})), ALL),
        (Target::Fn("tokens", json!({})), ADMIN),
        (
            Target::Fn("create_token", json!({"role": "viewer", "label": "t"})),
            ADMIN,
        ),
        (Target::Fn("revoke_token", json!({"id": none_id})), ADMIN),
        (Target::Fn("sessions", json!({})), ADMIN),
        (Target::Fn("revoke_session", json!({"id": none_id})), ADMIN),
        (
            Target::Fn("create_login_link", json!({"role": "viewer", "label": "l"})),
            ADMIN,
        ),
    ];
    let point = json!([{"name": "acl_points", "kind": "gauge", "value": 1}]);
    let event = json!([{"event": "page_view", "user_id": "u"}]);
    let http: Vec<(Target, u8)> = vec![
        (
            Target::Http(Method::POST, "/api/v1/ingest".into(), Some(point)),
            WRITE,
        ),
        (
            Target::Http(Method::POST, "/api/v1/events".into(), Some(event)),
            WRITE,
        ),
        (
            Target::Http(Method::POST, "/api/v2/write?org=o&bucket=b".into(), None),
            WRITE,
        ),
        (
            Target::Http(Method::POST, "/write?db=d".into(), None),
            WRITE,
        ),
        (
            Target::Http(
                Method::GET,
                // A browser session only asks by GET (exposures: tests/auth_edge.rs).
                "/api/v1/experiments/none/assign?user_id=u&expose=false".into(),
                None,
            ),
            WRITE,
        ),
        (
            Target::Http(
                Method::GET,
                "/api/v1/query?query=acl_cpu&range=5m".into(),
                None,
            ),
            READ,
        ),
        (
            Target::Http(Method::GET, "/api/v1/series".into(), None),
            READ,
        ),
        (
            Target::Http(Method::GET, "/api/v1/series/names".into(), None),
            READ,
        ),
        (
            Target::Http(
                Method::GET,
                "/api/v1/series/labels?name=acl_cpu".into(),
                None,
            ),
            READ,
        ),
        (
            Target::Http(Method::GET, format!("/api/v1/dashboards/{id}/export"), None),
            READ,
        ),
        (
            Target::Http(Method::GET, format!("/api/v1/share/{share}"), None),
            ALL,
        ),
        // Alerting: viewers see rules, alerts and history; admins change them.
        (
            Target::Http(Method::GET, "/api/v1/alerts/rules".into(), None),
            READ,
        ),
        (
            Target::Http(Method::POST, "/api/v1/alerts/rules".into(), Some(json!({}))),
            ADMIN,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/rules/none".into(), None),
            READ,
        ),
        (
            Target::Http(
                Method::PUT,
                "/api/v1/alerts/rules/none".into(),
                Some(json!({})),
            ),
            ADMIN,
        ),
        (
            Target::Http(Method::DELETE, "/api/v1/alerts/rules/none".into(), None),
            ADMIN,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/instances".into(), None),
            READ,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/history".into(), None),
            READ,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/silences".into(), None),
            READ,
        ),
        (
            Target::Http(
                Method::POST,
                "/api/v1/alerts/silences".into(),
                Some(json!({})),
            ),
            ADMIN,
        ),
        (
            Target::Http(Method::DELETE, "/api/v1/alerts/silences/none".into(), None),
            ADMIN,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/contact-points".into(), None),
            READ,
        ),
        (
            Target::Http(
                Method::POST,
                "/api/v1/alerts/contact-points".into(),
                Some(json!({})),
            ),
            ADMIN,
        ),
        (
            Target::Http(
                Method::PUT,
                "/api/v1/alerts/contact-points/none".into(),
                Some(json!({})),
            ),
            ADMIN,
        ),
        (
            Target::Http(
                Method::DELETE,
                "/api/v1/alerts/contact-points/none".into(),
                None,
            ),
            ADMIN,
        ),
        (
            Target::Http(
                Method::POST,
                "/api/v1/alerts/contact-points/none/test".into(),
                None,
            ),
            ADMIN,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/dead-letters".into(), None),
            READ,
        ),
        (
            Target::Http(Method::GET, "/api/v1/alerts/export".into(), None),
            ADMIN,
        ),
        (
            Target::Http(
                Method::POST,
                "/api/v1/alerts/import".into(),
                Some(json!({})),
            ),
            ADMIN,
        ),
        (Target::Http(Method::GET, "/healthz".into(), None), ALL),
        (Target::Http(Method::GET, "/readyz".into(), None), ALL),
        (Target::Http(Method::GET, "/ping".into(), None), ALL),
        (Target::Http(Method::GET, "/track.js".into(), None), ALL),
        (Target::Page("/login"), ALL),
        (Target::Page("/"), READ),
        (Target::Page("/dashboards"), READ),
        // The page itself renders for viewers, but what it lists is for admins: 403.
        (Target::Page("/access"), ADMIN),
        (Target::Live, READ),
    ];
    // Every server function the app registers has a row.
    let listed: Vec<&str> = fns
        .iter()
        .filter_map(|(target, _)| match target {
            Target::Fn(endpoint, _) => Some(*endpoint),
            _ => None,
        })
        .collect();
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        let endpoint = path.trim_start_matches("/api/fn/");
        if endpoint != "sign_out" {
            assert!(
                listed.contains(&endpoint),
                "server function {path} is not in the table"
            );
        }
    }

    let callers = [
        (Who::Nobody, NOBODY),
        (ingest.clone(), INGEST),
        (viewer.clone(), VIEWER),
        (admin(), ADMIN),
        (viewer_session.clone(), VIEWER),
        (admin_session.clone(), ADMIN),
    ];
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (target, allowed) in fns.iter().chain(http.iter()) {
        for (who, bit) in &callers {
            if matches!(who, Who::Session(..)) && matches!(target, Target::Http(Method::POST, ..)) {
                // Ingest is for tokens; a browser session writing data is tested below (CSRF).
                continue;
            }
            cells += 1;
            let name = match target {
                Target::Fn(endpoint, _) => format!("fn {endpoint}"),
                Target::Http(method, path, _) => format!("{method} {path}"),
                Target::Page(path) => format!("page {path}"),
                Target::Live => "live socket".into(),
            };
            let outcome = attempt(&app, who, target).await;
            let expected_refusal = if matches!(who, Who::Nobody) { 401 } else { 403 };
            match (allowed & bit != 0, outcome) {
                // Allowed, and it worked or was refused for what it asked (a missing id).
                (true, Ok(status)) if status < 500 => {}
                (false, Err(status)) if status == expected_refusal => {}
                (should, got) => wrong.push(format!(
                    "{name} as {} ({who:?}): expected {}, got {got:?}",
                    who.role(),
                    if should {
                        "allowed".to_owned()
                    } else {
                        format!("{expected_refusal}")
                    },
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(cells > 250, "{cells}");

    // A share link's holder reads its dashboard's series and nothing else.
    let mut elsewhere = query.clone();
    elsewhere["selector"] =
        serde_json::to_value(app::query::Selector::parse("acl_secret").unwrap()).unwrap();
    let (status, answer) = call(
        &app,
        &Who::Nobody,
        "query",
        json!({"query": elsewhere, "share": share}),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.to_string().contains("does not show that"),
        "{answer}"
    );
    let (status, _) = call(
        &app,
        &Who::Nobody,
        "analytics",
        json!({"query": uniques, "share": share}),
    )
    .await;
    assert_eq!(status, 403, "the dashboard has no unique-users widget");
    let (status, _) = call(
        &app,
        &Who::Nobody,
        "query",
        json!({"query": query, "share": "0".repeat(32)}),
    )
    .await;
    assert_eq!(status, 404, "an unknown share token reads nothing");

    // Tokens in URLs: an ingest token may ride in `?token=` (the tracking snippet's beacon),
    // nothing else may.
    let Who::Token(_, ingest_secret) = &ingest else {
        unreachable!()
    };
    let (status, _) = send(
        &app,
        &Who::Nobody,
        Method::POST,
        &format!("/api/v1/events?token={ingest_secret}"),
        Some(json!([{"event": "e", "user_id": "u"}])),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = send(
        &app,
        &Who::Nobody,
        Method::GET,
        &format!("/api/v1/query?query=x&range=5m&token={ADMIN_TOKEN}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.to_string().contains("only ingest tokens"),
        "{answer}"
    );
    // A wrong token is refused with a message, also on the InfluxDB endpoint, in its format.
    let wrong_token = Who::Token("wrong", "ldt_wrong".into());
    let (status, answer) = send(
        &app,
        &wrong_token,
        Method::POST,
        "/api/v2/write?org=o&bucket=b",
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(answer["code"], "unauthorized", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("not valid"),
        "{answer}"
    );
}

/// Browser sessions: a state-changing request without the CSRF token (or with a wrong one) is
/// refused, as is a request from another site's page (also a live socket); reads need no token.
#[tokio::test]
async fn browser_sessions_need_the_csrf_token_and_their_own_origin() {
    let redis = RedisServer::start();
    let app = start(&redis).await;
    let Who::Session(_, session, csrf) = session(&app, &admin()).await else {
        unreachable!()
    };
    let create = |csrf_header: Option<&str>, origin: Option<&str>| {
        let mut request = client()
            .post(app.url("/api/fn/create_dashboard"))
            .header(
                COOKIE,
                format!("{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"),
            )
            .json(&json!({"dashboard": {"title": "csrf"}, "summary": ""}));
        if let Some(value) = csrf_header {
            request = request.header(CSRF_HEADER, value);
        }
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };
    let own = format!("http://{}", app.addr);
    let refused = create(None, Some(&own)).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("CSRF"));
    assert_eq!(
        create(Some("0123"), Some(&own)).await.unwrap().status(),
        403
    );
    let foreign = create(Some(&csrf), Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(foreign.text().await.unwrap().contains("evil.example"));
    assert_eq!(create(Some(&csrf), Some(&own)).await.unwrap().status(), 200);
    assert_eq!(create(Some(&csrf), None).await.unwrap().status(), 200);
    // Nothing was made by the refused ones.
    let (_, list) = call(&app, &admin(), "dashboards", json!({})).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // A GET reads without the CSRF token; server functions are POSTs, so they all need it.
    let read = client()
        .get(app.url("/api/v1/series/names"))
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let listed = client()
        .post(app.url("/api/fn/dashboards"))
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 403);
    // A live socket opened by another site's page with the victim's cookie is refused.
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "cookie",
        format!("{SESSION_COOKIE}={session}").parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!(
            "a foreign page's socket was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    // Signing in again while signed in is a plain form post (no CSRF header): it works.
    let again = client()
        .post(app.url("/login"))
        .header(
            COOKIE,
            format!("{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"),
        )
        .form(&[("token", ADMIN_TOKEN), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(again.headers().get(SET_COOKIE).is_some());
    // Signing out ends the session everywhere and clears the cookies.
    let out = client()
        .post(app.url("/api/fn/sign_out"))
        .header(
            COOKIE,
            format!("{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"),
        )
        .header(CSRF_HEADER, &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().contains("Max-Age=0"))
    );
    let after = client()
        .get(app.url("/dashboards"))
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        303,
        "a signed-out session is sent to sign in"
    );
}

/// Opens a live socket as `who` (a token or a session).
async fn live_as(app: &TestApp, who: &Who) -> support::LiveClient {
    let mut request = format!("ws://{}/api/v1/live", app.addr)
        .into_client_request()
        .unwrap();
    match who {
        Who::Token(_, token) => {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Who::Session(_, session, _) => {
            request.headers_mut().insert(
                "cookie",
                format!("{SESSION_COOKIE}={session}").parse().unwrap(),
            );
        }
        Who::Nobody => {}
    }
    support::LiveClient::from_request(request).await
}

async fn closed_within(client: &mut support::LiveClient, within: Duration) -> (u16, String) {
    let started = Instant::now();
    loop {
        match client.next(within.saturating_sub(started.elapsed())).await {
            Some(LiveEvent::Closed { code, reason }) => return (code, reason),
            Some(LiveEvent::Message(_)) => {}
            None => panic!("not closed within {within:?}"),
        }
    }
}

/// Revoking a token closes the sockets opened with it and with the browsers it signed in, within
/// a second, in another process too; revoking a session or a share link closes theirs.
#[tokio::test]
async fn revocations_close_open_sockets_within_a_second() {
    let redis = RedisServer::start();
    let app = start(&redis).await;
    // A second process on the same Redis: revocations reach its sockets too.
    let other = TestApp::start_with(
        &redis.url(),
        "acl:",
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    )
    .await;
    let viewer = token(&app, "viewer").await;
    let signed_in = session(&app, &viewer).await;
    let mut by_token = live_as(&other, &viewer).await;
    let mut by_session = live_as(&app, &signed_in).await;
    // Both are open: an unreadable message gets an answer, not a close.
    for client in [&mut by_token, &mut by_session] {
        client.send_raw("{}").await;
        assert!(matches!(
            client.next(Duration::from_secs(5)).await,
            Some(LiveEvent::Message(_))
        ));
    }
    let (_, tokens) = call(&app, &admin(), "tokens", json!({})).await;
    let viewer_id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["role"] == "viewer")
        .unwrap()["id"]
        .clone();
    let (status, _) = call(&app, &admin(), "revoke_token", json!({"id": viewer_id})).await;
    assert_eq!(status, 200);
    for client in [&mut by_token, &mut by_session] {
        let (code, reason) = closed_within(client, Duration::from_secs(1)).await;
        assert_eq!(code, CLOSE_ACCESS_ENDED);
        assert!(reason.contains("revoked"), "{reason}");
    }
    assert_eq!(
        attempt(&app, &viewer, &Target::Fn("dashboards", json!({}))).await,
        Err(401)
    );
    assert_eq!(
        attempt(&app, &signed_in, &Target::Page("/")).await,
        Err(401)
    );

    // A session revoked from the Access page.
    let second = session(&app, &token(&app, "viewer").await).await;
    let mut socket = live_as(&app, &second).await;
    let (_, sessions) = call(&app, &admin(), "sessions", json!({})).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let (status, _) = call(
        &app,
        &admin(),
        "revoke_session",
        json!({"id": sessions[0]["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (code, _) = closed_within(&mut socket, Duration::from_secs(1)).await;
    assert_eq!(code, CLOSE_ACCESS_ENDED);

    // A share link.
    let (_, dashboard) = call(
        &app,
        &admin(),
        "create_dashboard",
        json!({"dashboard": {"title": "s"}, "summary": ""}),
    )
    .await;
    let (_, link) = call(
        &app,
        &admin(),
        "create_share_link",
        json!({"id": dashboard["id"], "label": "x", "expires_in_ms": null}),
    )
    .await;
    let mut shared = other
        .connect_to(&format!(
            "/api/v1/live?share={}",
            link["token"].as_str().unwrap()
        ))
        .await;
    shared.send_raw("{}").await;
    assert!(matches!(
        shared.next(Duration::from_secs(5)).await,
        Some(LiveEvent::Message(_))
    ));
    let (status, _) = call(
        &app,
        &admin(),
        "revoke_share_link",
        json!({"id": dashboard["id"], "link": link["link"]["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (code, _) = closed_within(&mut shared, Duration::from_secs(1)).await;
    assert_eq!(code, CLOSE_ACCESS_ENDED);
}

/// A one-time sign-in link signs a browser in once; the second use is sent back to sign in with
/// a reason. Ingest tokens cannot sign in.
#[tokio::test]
async fn sign_in_links_work_once() {
    let redis = RedisServer::start();
    let app = start(&redis).await;
    let (status, link) = call(
        &app,
        &admin(),
        "create_login_link",
        json!({"role": "viewer", "label": "Ada"}),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let path = link["path"].as_str().unwrap();
    let first = client().get(app.url(path)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let signed_in = session_from("viewer", &first);
    assert_eq!(
        attempt(&app, &signed_in, &Target::Fn("dashboards", json!({}))).await,
        Ok(200)
    );
    let (_, who) = call(&app, &signed_in, "whoami", json!({})).await;
    assert_eq!(who["role"], "viewer");
    assert_eq!(
        attempt(&app, &signed_in, &Target::Fn("tokens", json!({}))).await,
        Err(403)
    );
    let again = client().get(app.url(path)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let location = again.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login?error="), "{location}");
    assert!(again.headers().get(SET_COOKIE).is_none());
    // The sessions list names the link's label.
    let (_, sessions) = call(&app, &admin(), "sessions", json!({})).await;
    assert_eq!(sessions[0]["via"], "Ada");
    // Ingest tokens are for machines.
    let Who::Token(_, ingest) = token(&app, "ingest").await else {
        unreachable!()
    };
    let refused = client()
        .post(app.url("/login"))
        .form(&[("token", ingest.as_str()), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert!(
        refused.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("error=")
    );
    assert!(refused.headers().get(SET_COOKIE).is_none());
    // Without a configured admin token, a first start makes a one-time link (printed on the
    // console; see the Playwright test that follows it).
    let fresh = TestApp::start_with(&redis.url(), "fresh:", &[("LIVEDASH_AUTH", "on")]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut connection = redis.connection();
    loop {
        let links: Vec<String> = redis::cmd("KEYS")
            .arg("fresh:login:*")
            .query(&mut connection)
            .unwrap();
        if links.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no sign-in link was made: {links:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fresh.stop().await;
}

/// Pages carry a Content-Security-Policy with the nonce of their inline scripts, share pages
/// the configured frame-ancestors; every response says nosniff and keeps referrers same-origin.
#[tokio::test]
async fn security_headers() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "csp:",
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
            ("LIVEDASH_SHARE_FRAME_ANCESTORS", "https://wiki.example.com"),
        ],
    )
    .await;
    let page = client().get(app.url("/login")).send().await.unwrap();
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let policy = headers["content-security-policy"].to_str().unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(
        policy.contains("'wasm-unsafe-eval'") && !policy.contains("'unsafe-eval'"),
        "{policy}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let shared = client()
        .get(app.url("/s/00000000000000000000000000000000"))
        .send()
        .await
        .unwrap();
    let policy = shared.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        policy.contains("frame-ancestors https://wiki.example.com"),
        "{policy}"
    );
    let api = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    // Two page loads get two nonces.
    let again = client().get(app.url("/login")).send().await.unwrap();
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        headers["content-security-policy"].to_str().unwrap()
    );
}

/// Each token (or browser, or address without one) has its own request budget: beyond it,
/// `429` with `Retry-After` and a message naming the setting; others are not slowed. Live
/// sockets are limited per client address, and the one too many is closed with the reason.
#[tokio::test]
async fn rate_and_socket_limits() {
    let redis = RedisServer::start();
    let app = TestApp::start_with(
        &redis.url(),
        "limits:",
        &[
            ("LIVEDASH_AUTH", "on"),
            ("LIVEDASH_ADMIN_TOKEN", ADMIN_TOKEN),
            ("LIVEDASH_RATE_LIMIT", "5"),
            ("LIVEDASH_LIVE_SOCKETS_PER_ADDRESS", "2"),
        ],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&app, &admin(), "whoami", json!({})).await.1["role"] != "admin" {
        assert!(
            Instant::now() < deadline,
            "the admin token was never stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the admin's bucket fill again before it makes the viewer token.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let viewer = token(&app, "viewer").await;
    let (mut passed, mut limited) = (0, 0);
    for _ in 0..30 {
        let response = viewer
            .apply(client().get(app.url("/api/v1/series")))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            401 | 403 => panic!("refused: {}", response.text().await.unwrap()),
            429 => {
                limited += 1;
                let retry: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=2).contains(&retry), "{retry}");
                let body = response.text().await.unwrap();
                assert!(body.contains("LIVEDASH_RATE_LIMIT"), "{body}");
            }
            _ => passed += 1,
        }
    }
    // A burst of twice the rate (at least 10) passes, the rest waits.
    assert!((10..=12).contains(&passed), "{passed} passed");
    assert_eq!(passed + limited, 30);
    // Health checks are never limited; another credential has its own budget.
    for _ in 0..20 {
        assert_eq!(
            send(&app, &viewer, Method::GET, "/healthz", None).await.0,
            200
        );
    }
    assert_ne!(
        send(&app, &admin(), Method::GET, "/api/v1/series", None)
            .await
            .0,
        429
    );

    let admin_token = admin();
    let mut first = live_as(&app, &admin_token).await;
    let mut second = live_as(&app, &admin_token).await;
    let mut third = live_as(&app, &admin_token).await;
    let (code, reason) = closed_within(&mut third, Duration::from_secs(2)).await;
    assert_eq!(code, app::live::CLOSE_TRY_AGAIN_LATER);
    assert!(
        reason.contains("LIVEDASH_LIVE_SOCKETS_PER_ADDRESS"),
        "{reason}"
    );
    for open in [&mut first, &mut second] {
        open.send_raw("{}").await;
        assert!(matches!(
            open.next(Duration::from_secs(5)).await,
            Some(LiveEvent::Message(_))
        ));
    }
    // A closed socket frees its place.
    first.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = live_as(&app, &admin_token).await;
    fourth.send_raw("{}").await;
    assert!(matches!(
        fourth.next(Duration::from_secs(5)).await,
        Some(LiveEvent::Message(_))
    ));
}

/// Cardinality caps: samples that would create series beyond `LIVEDASH_MAX_SERIES_PER_METRIC`
/// or `LIVEDASH_MAX_SERIES` are refused, each with a message naming the limit, through JSON
/// and line protocol alike; series that exist still take samples, also in a second process
/// (the count is Redis's, not a process's).
#[tokio::test]
async fn cardinality_caps() {
    let redis = RedisServer::start();
    let caps = [
        ("LIVEDASH_MAX_SERIES", "5"),
        ("LIVEDASH_MAX_SERIES_PER_METRIC", "3"),
    ];
    let app = TestApp::start_with(&redis.url(), "caps:", &caps).await;
    let users: Vec<_> = (0..5)
        .map(|id| json!({ "name": "visits", "labels": { "user": id.to_string() }, "value": 1 }))
        .collect();
    let (status, answer) = app.ingest(&json!(users).to_string()).await;
    assert_eq!(status, 400, "{answer}");
    let rejected = answer["rejected"].as_array().unwrap();
    let refused: Vec<u64> = rejected
        .iter()
        .map(|item| item["index"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, [3, 4], "{answer}");
    let message = rejected[0]["error"].as_str().unwrap();
    assert!(
        message.contains("LIVEDASH_MAX_SERIES_PER_METRIC") && message.contains("visits"),
        "{message}"
    );

    // Existing series take samples; other metrics fill the total.
    let (status, answer) = app
        .ingest(r#"[{"name":"visits","labels":{"user":"0"},"value":2},{"name":"cpu","value":1},{"name":"mem","value":1}]"#)
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app.ingest(r#"{"name":"disk","value":1}"#).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["rejected"][0]["error"].as_str().unwrap();
    assert!(
        message.contains("LIVEDASH_MAX_SERIES ") && message.contains("disk"),
        "{message}"
    );
    let response = client()
        .post(app.url("/api/v2/write?bucket=b&org=o&precision=s"))
        .body("net,host=a rx=1\ncpu value=2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let message = response.text().await.unwrap();
    assert!(message.contains("LIVEDASH_MAX_SERIES"), "{message}");

    // A second process on the same data counts from Redis.
    let second = TestApp::start_with(&redis.url(), "caps:", &caps).await;
    let (status, answer) = second
        .ingest(r#"[{"name":"cpu","value":3},{"name":"visits","labels":{"user":"9"},"value":1}]"#)
        .await;
    assert_eq!(status, 400, "{answer}");
    let refused: Vec<u64> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["index"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, [1], "{answer}");
    let stored: i64 = redis::cmd("HLEN")
        .arg("caps:catalog")
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(
        stored, 5,
        "the catalog holds more series than the caps allow"
    );
    second.stop().await;
    app.stop().await;
}

/// Behind a trusted proxy each forwarded client has its own rate limit; from anyone else
/// `X-Forwarded-For` is ignored, so a client cannot dodge its limit by making addresses up.
#[tokio::test]
async fn forwarded_clients_are_limited_apart_only_behind_trusted_proxies() {
    let redis = RedisServer::start();
    let passed = |app: TestApp| async move {
        let mut passed = 0;
        for request in 0..30 {
            let client_address = if request % 2 == 0 {
                "203.0.113.1"
            } else {
                "203.0.113.2"
            };
            let response = client()
                .get(app.url("/api/v1/series/names"))
                .header("x-forwarded-for", format!("198.51.100.9, {client_address}"))
                .send()
                .await
                .unwrap();
            match response.status() {
                StatusCode::OK => passed += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected {other}"),
            }
        }
        app.stop().await;
        passed
    };
    let limit = ("LIVEDASH_RATE_LIMIT", "5");
    let behind_proxy = TestApp::start_with(
        &redis.url(),
        "fwd1:",
        &[limit, ("LIVEDASH_TRUSTED_PROXIES", "127.0.0.0/8")],
    )
    .await;
    let direct = TestApp::start_with(&redis.url(), "fwd2:", &[limit]).await;
    // Bursts of 10 each: two clients get about 20 of 30 through, one about 10.
    let (apart, together) = (passed(behind_proxy).await, passed(direct).await);
    assert!(
        apart >= 18,
        "{apart} of 30 passed for two forwarded clients"
    );
    assert!(
        together <= 14,
        "{together} of 30 passed for one direct client"
    );
}
