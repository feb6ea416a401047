//! What a request needs, by the route table ([`crate::http::routes`]): the role, the ingest
//! token's scope, and whether an assignment records an exposure.

use app::auth::{Access, TokenScope};
use axum::http::Method;

use crate::http::routes::{self, Needs, Route, SERVER_FN_PREFIX};

/// What a route needs, by method and path (server functions check their own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteAccess {
    /// An API route or the live socket needing `Access`.
    Api(Access),
    /// A page: without a session, the browser is sent to sign in.
    Page,
    /// A server function: it checks its own access; the CSRF check still applies here.
    ServerFn,
}

/// What `method` on `path` needs, by the route table ([`routes::matching`]). `share` is
/// whether the request names a share link (the live socket then checks that link instead of a
/// credential). Files of the site root are public, but that takes a look at the disk: see the
/// guard.
#[must_use]
pub fn route_access(method: &Method, path: &str, share: bool) -> RouteAccess {
    access_by(routes::matching(path), method, path, share)
}

/// [`route_access`] for the table's entry `route` of `path`, looked up once by the guard.
pub(super) fn access_by(
    route: Option<&Route>,
    method: &Method,
    path: &str,
    share: bool,
) -> RouteAccess {
    use RouteAccess::{Api, Page, ServerFn};
    if path.starts_with(SERVER_FN_PREFIX) {
        return ServerFn;
    }
    if *method == Method::OPTIONS {
        // CORS preflights carry no credentials.
        return Api(Access::Public);
    }
    let reads = *method == Method::GET || *method == Method::HEAD;
    match route {
        Some(route) if route.methods.contains(&method.as_str()) => match route.needs {
            // `/metrics` from afar needs a credential: checked in the guard.
            Needs::Public | Needs::LocalOrSignedIn => Api(Access::Public),
            Needs::Role(access, _) => Api(access),
            Needs::ReadOrShareLink if share => Api(Access::Public),
            Needs::ReadOrShareLink => Api(Access::Read),
            Needs::Page => Page,
            Needs::ReadOrAdminToChange if reads => Api(Access::Read),
            Needs::ReadOrAdminToChange => Api(Access::Admin),
        },
        // A method the route does not serve: the strictest access before the router's 405.
        Some(_) => Api(Access::Admin),
        // No such route: a 404 for those who may read, no hint to anyone else.
        None if path.starts_with("/api/") => Api(if reads { Access::Read } else { Access::Admin }),
        None => Page,
    }
}

/// The scope an ingest token needs for `path`, for the routes that write.
#[must_use]
pub fn scope_needed(path: &str) -> Option<TokenScope> {
    scope_of(routes::matching(path))
}

/// The scope an ingest token needs for the table's entry `route`.
pub(super) fn scope_of(route: Option<&Route>) -> Option<TokenScope> {
    match route?.needs {
        Needs::Role(_, scope) => scope,
        _ => None,
    }
}

/// `/api/v1/experiments/{id}/assign`.
pub(super) fn is_assign_path(path: &str) -> bool {
    is_assign(routes::matching(path))
}

/// Whether the table's entry `route` is the assignment route.
pub(super) fn is_assign(route: Option<&Route>) -> bool {
    route.is_some_and(|route| route.path == routes::ASSIGN_PATH)
}

/// Whether an assignment request's query asks to record the exposure (the default), that is,
/// is not only asking with `expose=false`.
pub(super) fn records_exposure(query: Option<&str>) -> bool {
    let mut asks_only = false;
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "expose" {
            if value != "false" {
                return true;
            }
            asks_only = true;
        }
    }
    !asks_only
}
