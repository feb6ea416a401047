//! The edge of access control, against a real Redis over real HTTP: where signing in returns
//! to, what each ingest token scope may write, failed authentications limited per address
//! before their lookup, only real files of the site being public, answers that carry secrets
//! never cached, and experiment exposures that a link on another site cannot record.
//!
//! One file, over 600 lines: every test here is a refusal or an allowance of the access edge,
//! with the same set-up; docs/security.md points at it as one list.

mod support;

use std::time::Duration;

use app::auth::{CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, cookie_value};
use reqwest::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, RedisServer, TestApp, admin_fn, make_token, start_with_admin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in browser's session cookie and CSRF token.
struct Browser {
    session: String,
    csrf: String,
}

impl Browser {
    fn cookie(&self) -> String {
        format!(
            "{SESSION_COOKIE}={}; {CSRF_COOKIE}={}",
            self.session, self.csrf
        )
    }
}

/// The session cookies a sign-in answer sets, if it sets them.
fn cookies_of(response: &reqwest::Response) -> Option<Browser> {
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
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    Some(Browser {
        session: find(SESSION_COOKIE)?,
        csrf: find(CSRF_COOKIE)?,
    })
}

/// Signs a browser in with `token` through the sign-in form, asking to return to `next`.
async fn sign_in(app: &TestApp, token: &str, next: &str) -> reqwest::Response {
    client()
        .post(app.url("/login"))
        .form(&[("token", token), ("next", next)])
        .send()
        .await
        .unwrap()
}

/// Where a browser goes when it follows `location` from a page of `app` (the URL standard's
/// parser, which drops tabs and newlines and reads `\` as `/`, as browsers do).
fn followed(app: &TestApp, location: &str) -> Url {
    Url::parse(&app.url("/")).unwrap().join(location).unwrap()
}

/// Sends `request` (raw HTTP/1.1) and returns the status line and headers, lowercased names.
async fn raw(app: &TestApp, request: &str) -> (u16, Vec<(String, String)>) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(read > 0, "the connection closed without an answer");
        answer.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&answer);
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Signing in returns only to paths of livedash itself: every target a browser could read as
/// another host (tabs and newlines it drops, backslashes it reads as slashes, `//`, schemes,
/// escapes that decode to any of those) is answered with a redirect to `/`, never a 500 after
/// the session was made; the sign-in page's own `next` is held to the same rule.
#[tokio::test]
async fn sign_in_never_returns_off_site() {
    let redis = RedisServer::start();
    let app = start_with_admin(&redis, "edge-next:", &[]).await;
    let viewer = make_token(&app, json!({"role": "viewer", "label": "v"})).await;
    let host = followed(&app, "/").host_str().unwrap().to_owned();

    let response = sign_in(&app, &viewer, "/d/1?range=1h").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/d/1?range=1h");

    let bad = [
        "//evil.example",
        "///evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "/\\evil.example",
        "\\/\\/evil.example",
        "/ /evil.example",
        "/%09/evil.example",
        "/%2F%2Fevil.example",
        "/%5C%5Cevil.example",
        "/\r\nSet-Cookie: stolen=1",
        "/x\rLocation: //evil.example",
        "/\u{0}//evil.example",
        "/\u{3000}/evil.example",
        "evil.example",
    ];
    for next in bad {
        let response = sign_in(&app, &viewer, next).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert_eq!(location, "/", "{next:?}");
        assert_eq!(followed(&app, location).host_str(), Some(host.as_str()));
        // The session the answer sets works: it was made for an answer that is sent.
        let browser = cookies_of(&response).expect("a signed-in browser");
        assert!(
            !response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .any(|cookie| cookie.to_str().unwrap().contains("stolen")),
            "{next:?}"
        );
        let page = client()
            .get(app.url("/dashboards"))
            .header(COOKIE, browser.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{next:?}");
    }
    // A failed sign-in sends the browser back to the form, keeping only a safe `next`.
    for next in bad {
        let response = sign_in(&app, "ldt_wrong", next).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert!(cookies_of(&response).is_none());
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(location.starts_with("/login?next=/&error="), "{location}");
        assert_eq!(followed(&app, location).host_str(), Some(host.as_str()));
    }
    // Pages redirect to the sign-in form with `next` only if it is a path of livedash.
    for (target, next) in [
        ("/dashboards?x=1", "/dashboards%3Fx%3D1"),
        ("//evil.example/", "/"),
        ("/%09/evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
    ] {
        let (status, headers) = raw(
            &app,
            &format!(
                "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                app.addr
            ),
        )
        .await;
        assert_eq!(status, 303, "{target}");
        let location = header(&headers, "location").unwrap();
        assert_eq!(location, format!("/login?next={next}"), "{target}");
    }
}

/// An ingest token's scope: events only (what a web page needs) cannot write metrics or create
/// their series; metrics only cannot send events; both (the default, and every token made
/// before scopes) can do both. Refusals are 403s that name the scope, in each endpoint's format.
/// No token writes livedash's own metrics or its event counts.
#[tokio::test]
async fn ingest_tokens_write_what_their_scope_allows() {
    let redis = RedisServer::start();
    let app = start_with_admin(&redis, "edge-scope:", &[]).await;
    let events = make_token(
        &app,
        json!({"role": "ingest", "label": "web page", "scope": "events"}),
    )
    .await;
    let metrics = make_token(
        &app,
        json!({"role": "ingest", "label": "services", "scope": "metrics"}),
    )
    .await;
    let both = make_token(&app, json!({"role": "ingest", "label": "default"})).await;
    // A token stored before scopes existed: its record has no scope.
    let old = "ldt_0123456789abcdef0123456789abcdef";
    let old_id = blake3::hash(old.as_bytes()).to_hex()[..32].to_owned();
    assert_eq!(
        app.state.store.keys().token(&old_id),
        format!("edge-scope:token:{old_id}")
    );
    let mut redis_connection = redis.connection();
    // Two commands: on a cluster the two keys may be of two slots.
    let () = redis::cmd("SET")
        .arg(app.state.store.keys().token(&old_id))
        .arg(
            json!({"id": old_id, "role": "ingest", "label": "old", "created_at": 1,
                   "created_by": "before scopes", "last_used_at": null})
            .to_string(),
        )
        .query(&mut redis_connection)
        .unwrap();
    let () = redis::cmd("SADD")
        .arg(app.state.store.keys().tokens())
        .arg(&old_id)
        .query(&mut redis_connection)
        .unwrap();

    let experiment = json!({"id": "cta", "name": "CTA", "goal_event": "signup",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]});
    let (status, answer) = admin_fn(
        &app,
        "change_analytics",
        json!({"change": {"CreateExperiment": {"experiment": experiment}}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // Each write endpoint: path, content type, body, and whether it needs the metrics scope.
    let writes = [
        (
            "/api/v1/ingest",
            "application/json",
            r#"[{"name":"scope_metric","labels":{"by":"TOKEN"},"value":1}]"#.to_owned(),
            true,
        ),
        (
            "/write?db=d",
            "text/plain",
            "scope_influx,by=TOKEN value=1".to_owned(),
            true,
        ),
        (
            "/api/v2/write?org=o&bucket=b",
            "text/plain",
            "scope_influx2,by=TOKEN value=1".to_owned(),
            true,
        ),
        (
            "/api/v1/events",
            "application/json",
            r#"[{"event":"page_view","user_id":"TOKEN"}]"#.to_owned(),
            false,
        ),
        (
            "/api/v1/experiments/cta/assign?user_id=TOKEN",
            "",
            String::new(),
            false,
        ),
    ];
    let tokens = [
        ("events", events.as_str(), false, true),
        ("metrics", metrics.as_str(), true, false),
        ("both", both.as_str(), true, true),
        ("old", old, true, true),
    ];
    for (name, token, may_metrics, may_events) in tokens {
        for (path, content_type, body, needs_metrics) in &writes {
            let allowed = if *needs_metrics {
                may_metrics
            } else {
                may_events
            };
            let request = if path.contains("/assign") {
                client().get(app.url(&path.replace("TOKEN", name)))
            } else {
                client()
                    .post(app.url(path))
                    .header("content-type", *content_type)
                    .body(body.replace("TOKEN", name))
            };
            let response = request
                .header("authorization", format!("Token {token}"))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if allowed {
                assert!(status.is_success(), "{name} {path}: {status} {answer}");
                continue;
            }
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} {path}: {answer}");
            let message = if path.starts_with("/api/v2/") {
                assert_eq!(answer["code"], "forbidden", "{answer}");
                answer["message"].as_str().unwrap().to_owned()
            } else {
                answer["error"].as_str().unwrap().to_owned()
            };
            let needed = if *needs_metrics { "metrics" } else { "events" };
            assert!(
                message.contains(&format!("scope is {name}"))
                    && message.contains(&format!("needs a token with scope {needed} or both")),
                "{name} {path}: {message}"
            );
        }
    }
    // The events-only token created no metric series at all.
    let names = admin_get(&app, "/api/v1/series/names?prefix=scope_").await;
    let names: Vec<&str> = names["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(!names.is_empty(), "the other tokens wrote");
    for name in ["scope_metric", "scope_influx_value", "scope_influx2_value"] {
        let series = admin_get(&app, &format!("/api/v1/series?match={name}")).await;
        let series = series.to_string();
        assert!(series.contains("\"both\""), "{series}");
        assert!(
            !series.contains("\"events\""),
            "an events-only token made a series: {series}"
        );
    }

    // The list shows each token's scope; only ingest tokens take one.
    let (_, listed) = admin_fn(&app, "tokens", json!({})).await;
    let scope_of = |label: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|token| token["label"] == label)
            .map(|token| token["scope"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(scope_of("web page"), "events");
    assert_eq!(scope_of("services"), "metrics");
    assert_eq!(scope_of("default"), "both");
    assert_eq!(scope_of("old"), "both");
    let (status, answer) = admin_fn(
        &app,
        "create_token",
        json!({"role": "viewer", "label": "v", "scope": "events"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("scope: only ingest tokens"),
        "{answer}"
    );

    // livedash's own metrics and its event counts are written by livedash alone.
    for token in [both.as_str(), ADMIN_TOKEN] {
        for name in ["livedash_memory_bytes", "events", "event_users"] {
            let response = client()
                .post(app.url("/api/v1/ingest"))
                .header("authorization", format!("Token {token}"))
                .json(&json!([{"name": name, "labels": {"event": "signup"}, "value": 1}]))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
            let answer: Value = response.json().await.unwrap();
            assert!(
                answer["rejected"][0]["error"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("`{name}` is reserved")),
                "{answer}"
            );
        }
        let response = client()
            .post(app.url("/write?db=d"))
            .header("authorization", format!("Token {token}"))
            .body("livedash,host=a memory_bytes=1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains("is reserved"));
    }
}

async fn admin_get(app: &TestApp, path: &str) -> Value {
    let response = client()
        .get(app.url(path))
        .header("authorization", format!("Token {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// Calls to Redis's `GET` so far: every token and session lookup is one.
async fn redis_gets(redis: &RedisServer) -> u64 {
    redis
        .info_per_node("commandstats")
        .iter()
        .map(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
                .and_then(|rest| rest.split(',').next())
                .map_or(0, |calls| calls.parse::<u64>().unwrap())
        })
        .sum()
}

/// Failed authentications (unknown tokens, anonymous requests to protected routes, failed
/// sign-ins) are counted per client address: past the budget, the address gets `429` with
/// `Retry-After` naming the limit and its variable, before any lookup, whatever it sends;
/// other addresses (apart behind a trusted proxy) and public routes are not affected, and the
/// address is served again once it has waited.
#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let redis = RedisServer::start();
    let app = start_with_admin(
        &redis,
        "edge-fail:",
        &[
            ("LIVEDASH_AUTH_FAILURE_LIMIT", "1"),
            ("LIVEDASH_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let viewer = make_token(&app, json!({"role": "viewer", "label": "v"})).await;
    let from = |address: &'static str| {
        move |request: reqwest::RequestBuilder| request.header("x-forwarded-for", address)
    };

    // Unknown tokens: a burst of twice the rate, at least 10, is answered 401; then 429. (The
    // budget refills at one a second, so the burst must not take a second here.)
    let guesser = from("203.0.113.1");
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        let response = guesser(client().get(app.url("/api/v1/series/names")))
            .header("authorization", format!("Token ldt_guess{attempt}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 2], "{statuses:?}");
    // Blocked, the address's requests are refused before their lookup, valid token or not.
    let before = redis_gets(&redis).await;
    for token in ["ldt_guess_more", viewer.as_str()] {
        let response = guesser(client().get(app.url("/api/v1/series/names")))
            .header("authorization", format!("Token {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        let answer: Value = response.json().await.unwrap();
        let message = answer["error"].as_str().unwrap();
        assert!(
            message.contains("LIVEDASH_AUTH_FAILURE_LIMIT")
                && message.contains("at most 1 a second"),
            "{message}"
        );
    }
    assert_eq!(
        redis_gets(&redis).await,
        before,
        "a blocked address was looked up"
    );
    // InfluxDB v2 clients read their own error format.
    let response = guesser(client().post(app.url("/api/v2/write?org=o&bucket=b")))
        .header("authorization", "Token ldt_x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "too many requests", "{answer}");
    // Public routes still answer; another address is not affected.
    let response = guesser(client().get(app.url("/login")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = from("203.0.113.2")(client().get(app.url("/api/v1/series/names")))
        .header("authorization", format!("Token {viewer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // After the wait, the address is served again.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let response = guesser(client().get(app.url("/api/v1/series/names")))
        .header("authorization", format!("Token {viewer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Anonymous requests to protected routes count too; unblocked lookups do reach Redis.
    let anonymous = from("203.0.113.3");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = anonymous(client().get(app.url("/api/v1/series/names")))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 2], "{statuses:?}");
    let before = redis_gets(&redis).await;
    let response = from("203.0.113.4")(client().get(app.url("/api/v1/series/names")))
        .header("authorization", "Token ldt_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(redis_gets(&redis).await > before);

    // Failed sign-ins count: the form is refused before the token is looked up.
    let form = from("203.0.113.5");
    for attempt in 0..10 {
        let response = form(client().post(app.url("/login")))
            .form(&[
                ("token", format!("ldt_wrong{attempt}")),
                ("next", "/".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let response = form(client().post(app.url("/login")))
        .form(&[("token", viewer.as_str()), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(cookies_of(&response).is_none());
}

/// Only real files of the site root are public: a page path whose last segment holds a dot
/// needs a session like any page (and counts against the rate limit), a missing file too.
#[tokio::test]
async fn dotted_paths_are_pages_unless_they_are_files() {
    let redis = RedisServer::start();
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("track.js"), "// snippet").unwrap();
    std::fs::write(site.path().join("pkg/livedash.css"), "body{}").unwrap();
    let app = start_with_admin(
        &redis,
        "edge-files:",
        &[("LIVEDASH_SITE_ROOT", site.path().to_str().unwrap())],
    )
    .await;
    for path in ["/track.js", "/pkg/livedash.css"] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    for path in [
        "/d/x.y",
        "/d/0123456789abcdef.json",
        "/pkg/missing.js",
        "/access.",
        "/x.js",
    ] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(location.starts_with("/login?next="), "{path}: {location}");
    }
    // Signed in, the same path is the page it always was.
    let viewer = make_token(&app, json!({"role": "viewer", "label": "v"})).await;
    let browser = cookies_of(&sign_in(&app, &viewer, "/").await).unwrap();
    let response = client()
        .get(app.url("/d/x.y"))
        .header(COOKIE, browser.cookie())
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.status().is_success() || response.status() == StatusCode::NOT_FOUND,
        "{}",
        response.status()
    );
}

/// Answers that carry secrets (new tokens, share links, sign-in links, the sign-in redirects
/// that set the session) and signed-in pages tell every cache not to keep them; the site's
/// files may still be cached.
#[tokio::test]
async fn secrets_and_signed_in_pages_are_not_cached() {
    let redis = RedisServer::start();
    let public = concat!(env!("CARGO_MANIFEST_DIR"), "/../public");
    let app = start_with_admin(&redis, "edge-cache:", &[("LIVEDASH_SITE_ROOT", public)]).await;
    let no_store = |response: &reqwest::Response, what: &str| {
        assert_eq!(
            response
                .headers()
                .get(CACHE_CONTROL)
                .map(|value| value.to_str().unwrap()),
            Some("no-store"),
            "{what}"
        );
    };
    let fn_call = |endpoint: &'static str, body: Value| {
        client()
            .post(app.url(&format!("/api/fn/{endpoint}")))
            .header("authorization", format!("Token {ADMIN_TOKEN}"))
            .json(&body)
    };
    let made = fn_call("create_token", json!({"role": "viewer", "label": "v"}))
        .send()
        .await
        .unwrap();
    no_store(&made, "create_token");
    let viewer = made.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, dashboard) = admin_fn(
        &app,
        "create_dashboard",
        json!({"dashboard": {"title": "Cached?"}, "summary": ""}),
    )
    .await;
    let id = dashboard["id"].as_str().unwrap();
    let share = fn_call(
        "create_share_link",
        json!({"id": id, "label": "s", "expires_in_ms": null}),
    )
    .send()
    .await
    .unwrap();
    no_store(&share, "create_share_link");
    let link = fn_call("create_login_link", json!({"role": "viewer", "label": "l"}))
        .send()
        .await
        .unwrap();
    no_store(&link, "create_login_link");
    let path = link.json::<Value>().await.unwrap()["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let linked = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    assert!(cookies_of(&linked).is_some());
    no_store(&linked, "sign-in link");
    let signed_in = sign_in(&app, &viewer, "/dashboards").await;
    no_store(&signed_in, "sign-in form");
    let browser = cookies_of(&signed_in).unwrap();
    for page in ["/", "/dashboards", &format!("/d/{id}")] {
        let response = client()
            .get(app.url(page))
            .header(COOKIE, browser.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        no_store(&response, page);
    }
    let script = client().get(app.url("/track.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers().get(CACHE_CONTROL).is_none());
}

/// Users an experiment has been exposed to, summed over its variants.
async fn exposed(app: &TestApp, experiment: &str) -> u64 {
    let (status, answer) = admin_fn(
        app,
        "analytics",
        json!({"query": {"Experiment": {"id": experiment}}, "share": null}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["Experiment"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["users"].as_u64().unwrap())
        .sum()
}

/// A signed-in browser cannot be made to record an exposure by following a link (a cross-site
/// top-level GET carries its cookie): GET with a session only asks (`expose=false`); exposures
/// need a POST with the CSRF token, or a token, as the tracking snippet has.
#[tokio::test]
async fn exposures_need_a_token_or_a_post() {
    let redis = RedisServer::start();
    let app = start_with_admin(&redis, "edge-expose:", &[]).await;
    let experiment = json!({"id": "hero", "name": "Hero", "goal_event": "signup",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]});
    let (status, answer) = admin_fn(
        &app,
        "change_analytics",
        json!({"change": {"CreateExperiment": {"experiment": experiment}}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let admin = cookies_of(&sign_in(&app, ADMIN_TOKEN, "/").await).unwrap();
    let assign = |query: &str| app.url(&format!("/api/v1/experiments/hero/assign?{query}"));

    // The link another site's page would open, with the admin's cookie.
    for query in [
        "user_id=victim",
        "user_id=victim&expose=true",
        "user_id=victim&expose=1",
    ] {
        let response = client()
            .get(assign(query))
            .header(COOKIE, admin.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{query}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let answer: Value = response.json().await.unwrap();
        assert!(
            answer["error"].as_str().unwrap().contains("POST it"),
            "{answer}"
        );
    }
    assert_eq!(exposed(&app, "hero").await, 0);
    // Only asking works with a GET.
    let response = client()
        .get(assign("user_id=victim&expose=false"))
        .header(COOKIE, admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(exposed(&app, "hero").await, 0);
    // A POST needs the CSRF token, which another site cannot read.
    let response = client()
        .post(assign("user_id=one"))
        .header(COOKIE, admin.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(exposed(&app, "hero").await, 0);
    let response = client()
        .post(assign("user_id=one"))
        .header(COOKIE, admin.cookie())
        .header(CSRF_HEADER, &admin.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(exposed(&app, "hero").await, 1);
    // A web page's events-only token, by GET in the URL (as a snippet would) or by POST.
    let snippet = make_token(
        &app,
        json!({"role": "ingest", "label": "site", "scope": "events"}),
    )
    .await;
    let response = client()
        .get(assign(&format!("user_id=two&token={snippet}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = client()
        .post(assign("user_id=three"))
        .header("authorization", format!("Token {snippet}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(exposed(&app, "hero").await, 3);
    // Browsers may ask from other sites: the preflight of a POST with a token is answered.
    let response = client()
        .request(reqwest::Method::OPTIONS, assign("user_id=four"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}
