//! The access edge's unit tests: route needs, credentials, sign-in targets, refusals.

use app::auth::{Access, Role, TokenScope};
use app::live::LIVE_PATH;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::access::*;
use super::credentials::*;
use super::denied::*;
use super::guard::*;
use super::sign_in::*;

#[test]
fn routes_need_what_the_role_table_says() {
    let get = Method::GET;
    let post = Method::POST;
    let cases = [
        (&get, "/healthz", false, RouteAccess::Api(Access::Public)),
        // Files are public when they exist (see below), not by their name.
        (&get, "/track.js", false, RouteAccess::Page),
        (&get, "/d/x.y", false, RouteAccess::Page),
        (&get, "/s/abc", false, RouteAccess::Api(Access::Public)),
        (&get, "/login", false, RouteAccess::Api(Access::Public)),
        (
            &post,
            "/api/v1/ingest",
            false,
            RouteAccess::Api(Access::Ingest),
        ),
        (&post, "/write", false, RouteAccess::Api(Access::Ingest)),
        (
            &get,
            "/api/v1/experiments/x/assign",
            false,
            RouteAccess::Api(Access::Ingest),
        ),
        (&get, "/api/v1/query", false, RouteAccess::Api(Access::Read)),
        (&get, LIVE_PATH, false, RouteAccess::Api(Access::Read)),
        (&get, LIVE_PATH, true, RouteAccess::Api(Access::Public)),
        (
            &post,
            "/api/v1/query",
            false,
            RouteAccess::Api(Access::Admin),
        ),
        (
            &post,
            "/api/fn/save_dashboard",
            false,
            RouteAccess::ServerFn,
        ),
        (&get, "/", false, RouteAccess::Page),
        (&get, "/d/0123456789abcdef/edit", false, RouteAccess::Page),
    ];
    for (method, path, share, expected) in cases {
        assert_eq!(
            route_access(method, path, share),
            expected,
            "{method} {path}"
        );
    }
}

#[test]
fn tokens_are_read_from_every_place_clients_put_them() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Token ldt_abc"),
    );
    assert_eq!(
        presented_token(&headers, None).unwrap().unwrap().0,
        "ldt_abc"
    );
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer ldt_abc"),
    );
    assert_eq!(
        presented_token(&headers, None).unwrap().unwrap().0,
        "ldt_abc"
    );
    // "telegraf:ldt_abc"
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Basic dGVsZWdyYWY6bGR0X2FiYw=="),
    );
    assert_eq!(
        presented_token(&headers, None).unwrap().unwrap().0,
        "ldt_abc"
    );
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Digest x"));
    assert_eq!(
        presented_token(&headers, None),
        Err(Denied::BadAuthorization)
    );
    let none = HeaderMap::new();
    let (token, source) = presented_token(&none, Some("db=x&u=a&p=ldt_q"))
        .unwrap()
        .unwrap();
    assert_eq!(token, "ldt_q");
    assert!(source == TokenSource::Url);
    assert!(presented_token(&none, Some("db=x")).unwrap().is_none());
}

#[test]
fn secrets_compare_whole() {
    assert!(same_secret("abc", "abc"));
    assert!(!same_secret("abc", "abd"));
    assert!(!same_secret("abc", "ab"));
    assert!(!same_secret("", "a"));
}

#[test]
fn sign_in_returns_only_to_this_site() {
    for kept in [
        "/",
        "/d/1?range=1h",
        "/d/0123456789abcdef/edit?from=1&to=2",
        "/explore?q=cpu%7Bhost%3D%22a%22%7D",
        "/login?next=%2Fd%2F1",
    ] {
        assert_eq!(safe_next(kept), kept);
    }
    for refused in [
        "",
        "d/1",
        "//evil.example",
        "///evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\/\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\nSet-Cookie:%20x=1",
        "/ /evil.example",
        "/%09/evil.example",
        "/%2F%2Fevil.example",
        "/%2f/evil.example",
        "/%5C%5Cevil.example",
        "/%0d%0aSet-Cookie:x",
        "/d/1%",
        "/d/1%zz",
        "/d/\u{2028}",
        "/d/é",
        "/d/1#x",
        "/\u{0}",
    ] {
        assert_eq!(safe_next(refused), "/", "{refused:?}");
    }
    assert_eq!(safe_next(&format!("/{}", "a".repeat(MAX_NEXT_BYTES))), "/");
}

#[test]
fn only_files_that_exist_are_site_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("pkg")).unwrap();
    std::fs::write(root.path().join("pkg/livedash.wasm"), b"").unwrap();
    std::fs::write(root.path().join("track.js"), b"").unwrap();
    std::fs::create_dir(root.path().join("d.dir")).unwrap();
    let root_text = root.path().to_str().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let public = |path: &str| runtime.block_on(is_site_file_or_health(root_text, path));
    for path in ["/healthz", "/ping", "/track.js", "/pkg/livedash.wasm"] {
        assert!(public(path), "{path}");
    }
    for path in [
        "/d/x.y",
        "/pkg/missing.wasm",
        "/pkg/../track.js",
        "/./track.js",
        "//track.js",
        "/pkg//livedash.wasm",
        "/tr%61ck.js",
        "/d.dir",
        "/api/v1/x.y",
        "/access",
    ] {
        assert!(!public(path), "{path}");
    }
}

#[test]
fn writes_need_their_scope() {
    assert_eq!(scope_needed("/api/v1/ingest"), Some(TokenScope::Metrics));
    assert_eq!(scope_needed("/write"), Some(TokenScope::Metrics));
    assert_eq!(scope_needed("/api/v2/write"), Some(TokenScope::Metrics));
    assert_eq!(scope_needed("/api/v1/events"), Some(TokenScope::Events));
    assert_eq!(
        scope_needed("/api/v1/experiments/e/assign"),
        Some(TokenScope::Events)
    );
    assert_eq!(scope_needed("/api/v1/query"), None);
    let refused = Denied::Scope {
        scope: TokenScope::Events,
        needed: TokenScope::Metrics,
    };
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.to_string().contains("scope is events"), "{refused}");
}

#[test]
fn assignments_record_an_exposure_unless_they_only_ask() {
    assert!(records_exposure(None));
    assert!(records_exposure(Some("user_id=u")));
    assert!(records_exposure(Some("user_id=u&expose=true")));
    assert!(records_exposure(Some("expose=false&expose=true")));
    assert!(records_exposure(Some("expose=0")));
    assert!(!records_exposure(Some("user_id=u&expose=false")));
}

#[test]
fn refusals_name_the_role() {
    let denied = Denied::Role {
        role: Role::Ingest,
        access: Access::Read,
    };
    assert_eq!(
        denied.to_string(),
        "the ingest role may not read dashboards and metrics"
    );
}
