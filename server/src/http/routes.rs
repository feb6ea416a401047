//! Every route livedash serves and the access it needs: one table, read by the router (which
//! refuses to register a path the table does not list) and by the guard (which admits a
//! request by the table's entry for its path and method). A route cannot exist without a
//! declared access: see the tests at the end and `router::router`.

use app::auth::{Access, LOGIN_LINK_PATH, TokenScope};
use app::live::LIVE_PATH;

use crate::telemetry::exposition::METRICS_PATH;

/// Where sign-in forms are posted (and the sign-in page is shown).
pub const LOGIN_PATH: &str = "/login";

/// The path prefix of every server function (each checks its own access).
pub const SERVER_FN_PREFIX: &str = "/api/fn/";

/// Where a user's experiment variant is asked for (and their exposure recorded).
pub const ASSIGN_PATH: &str = "/api/v1/experiments/{id}/assign";

/// What a route needs from the one who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: anyone may ask.
    Public,
    /// A credential whose role allows `Access`; an ingest token needs `scope` too.
    Role(Access, Option<TokenScope>),
    /// A credential that may read, or a share link's token in the query (`share=`), which
    /// the live socket then checks instead.
    ReadOrShareLink,
    /// Anyone on this machine, or any valid credential from elsewhere (`/metrics`).
    LocalOrSignedIn,
    /// A page of the app: a signed-in session that may read; others are sent to sign in.
    Page,
    /// Reading (`GET`, `HEAD`) needs [`Access::Read`]; changing (any other method served)
    /// needs [`Access::Admin`].
    ReadOrAdminToChange,
}

/// One route: an axum path pattern, the methods it serves, and what they need.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// As registered with axum: `{name}` matches one path segment.
    pub path: &'static str,
    /// The methods it serves. Any other method needs [`Access::Admin`] (the router then
    /// answers `405`), so that a method nobody declared is never let through more easily.
    pub methods: &'static [&'static str],
    pub needs: Needs,
}

/// One entry of the table.
const fn route(path: &'static str, methods: &'static [&'static str], needs: Needs) -> Route {
    Route {
        path,
        methods,
        needs,
    }
}

const GET: &[&str] = &["GET", "HEAD"];
const POST: &[&str] = &["POST"];
const GET_AND_POST: &[&str] = &["GET", "HEAD", "POST"];
const GET_PUT_DELETE: &[&str] = &["GET", "HEAD", "PUT", "DELETE"];
const PUT_DELETE: &[&str] = &["PUT", "DELETE"];
const GET_DELETE: &[&str] = &["GET", "HEAD", "DELETE"];
/// Browsers on other sites send these, after a CORS preflight.
const POST_FROM_ANYWHERE: &[&str] = &["POST", "OPTIONS"];
const ANY_FROM_ANYWHERE: &[&str] = &["GET", "HEAD", "POST", "OPTIONS"];
const READ: Needs = Needs::Role(Access::Read, None);
const METRICS: Needs = Needs::Role(Access::Ingest, Some(TokenScope::Metrics));
const EVENTS: Needs = Needs::Role(Access::Ingest, Some(TokenScope::Events));
const ADMIN: Needs = Needs::Role(Access::Admin, None);
const READ_OR_CHANGE: Needs = Needs::ReadOrAdminToChange;

/// The HTTP API, the live socket and the sign-in routes.
pub const API: &[Route] = &[
    route("/healthz", GET, Needs::Public),
    route("/readyz", GET, Needs::Public),
    route(METRICS_PATH, GET, Needs::LocalOrSignedIn),
    route("/api/v1/ingest", POST, METRICS),
    route("/api/v1/events", POST_FROM_ANYWHERE, EVENTS),
    route(ASSIGN_PATH, ANY_FROM_ANYWHERE, EVENTS),
    route("/api/v1/query", GET, READ),
    route("/api/v1/series", GET, READ),
    route("/api/v1/series/names", GET, READ),
    route("/api/v1/series/labels", GET, READ),
    route("/api/v1/dashboards/{id}/export", GET, READ),
    route("/api/v1/share/{token}", GET, Needs::Public),
    // Personal data: only an admin reads or deletes it.
    route("/api/v1/people/{id}", GET_DELETE, ADMIN),
    route("/api/v2/write", POST, METRICS),
    route("/write", POST, METRICS),
    route("/ping", GET, Needs::Public),
    route("/health", GET, Needs::Public),
    route(LIVE_PATH, GET, Needs::ReadOrShareLink),
    route(LOGIN_PATH, GET_AND_POST, Needs::Public),
    route(LOGIN_LINK_PATH, GET, Needs::Public),
    route("/api/v1/alerts/rules", GET_AND_POST, READ_OR_CHANGE),
    // Before `{id}`: the guard takes the first pattern that matches.
    route("/api/v1/alerts/rules/preview", POST, ADMIN),
    route("/api/v1/alerts/rules/{id}", GET_PUT_DELETE, READ_OR_CHANGE),
    route("/api/v1/alerts/instances", GET, READ),
    route("/api/v1/alerts/history", GET, READ),
    route("/api/v1/alerts/silences", GET_AND_POST, READ_OR_CHANGE),
    route("/api/v1/alerts/silences/{id}", &["DELETE"], ADMIN),
    route(
        "/api/v1/alerts/contact-points",
        GET_AND_POST,
        READ_OR_CHANGE,
    ),
    route("/api/v1/alerts/contact-points/{name}", PUT_DELETE, ADMIN),
    route("/api/v1/alerts/contact-points/{name}/test", POST, ADMIN),
    route("/api/v1/alerts/dead-letters", GET, READ),
    route("/api/v1/alerts/export", GET, ADMIN),
    route("/api/v1/alerts/import", POST, ADMIN),
];

/// The app's pages (the Leptos router's routes); a share link's page is anyone's.
pub const PAGES: &[Route] = &[
    route("/", GET, Needs::Page),
    route("/dashboards", GET, Needs::Page),
    route("/explore", GET, Needs::Page),
    route("/analytics", GET, Needs::Page),
    route("/alerts", GET, Needs::Page),
    route("/access", GET, Needs::Page),
    route("/d/{id}", GET, Needs::Page),
    route("/d/{id}/edit", GET, Needs::Page),
    route("/s/{token}", GET, Needs::Public),
    // Listed under the API too: its form is posted there.
    route(LOGIN_PATH, GET, Needs::Public),
];

/// The entry for `pattern` exactly as registered (the router asks this).
#[must_use]
pub fn declared(pattern: &str) -> Option<&'static Route> {
    API.iter().chain(PAGES).find(|route| route.path == pattern)
}

/// The entry whose pattern `path` matches (the guard asks this, before routing).
#[must_use]
pub fn matching(path: &str) -> Option<&'static Route> {
    API.iter()
        .chain(PAGES)
        .find(|route| pattern_matches(route.path, path))
}

/// Whether `path` fits `pattern`, where `{name}` stands for one non-empty segment.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let param = want.starts_with('{') && want.ends_with('}');
                if !(want == got || (param && !got.is_empty())) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(pattern_matches("/d/{id}", "/d/x.y"));
        assert!(pattern_matches("/d/{id}/edit", "/d/0123/edit"));
        assert!(!pattern_matches("/d/{id}", "/d/"));
        assert!(!pattern_matches("/d/{id}", "/d/a/b"));
        assert!(!pattern_matches("/api/v1/query", "/api/v1/query/x"));
        assert!(pattern_matches("/", "/"));
        assert!(!pattern_matches("/", "/x"));
    }

    #[test]
    fn every_path_is_declared_once_per_list() {
        for list in [API, PAGES] {
            for (index, route) in list.iter().enumerate() {
                assert!(
                    list[..index].iter().all(|other| other.path != route.path),
                    "{} is declared twice",
                    route.path
                );
                assert!(!route.methods.is_empty(), "{} serves no method", route.path);
            }
        }
    }
}
