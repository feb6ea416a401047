//! The checks of requests a browser's session cookie authenticated: the CSRF token on
//! anything but a read, and the page's Origin.

use app::auth::CSRF_HEADER;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};

use super::credentials::{Authenticated, same_secret};
use super::denied::Denied;
use crate::http::state::AppState;

/// Whether the page at `origin` may use this server with a browser session: its own origin
/// (by the `Host` header) or a configured one.
pub(super) fn origin_allowed(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let own = origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host);
    own || state
        .config
        .auth
        .allowed_origins
        .iter()
        .any(|allowed| allowed == origin)
}

/// The CSRF and Origin checks of requests that a browser's cookie authenticated: anything but a
/// read must repeat the session's CSRF token, and a page of another site gets nothing (also no
/// live socket, which the same-origin policy does not guard).
pub(super) fn check_browser_request(
    state: &AppState,
    request: &Request,
    authenticated: &Authenticated,
) -> Result<(), Denied> {
    let Some(csrf) = &authenticated.csrf else {
        return Ok(());
    };
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !origin_allowed(state, headers, origin)
    {
        return Err(Denied::Origin(origin.to_owned()));
    }
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if reads {
        return Ok(());
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if same_secret(presented, csrf) {
        Ok(())
    } else {
        Err(Denied::Csrf)
    }
}
