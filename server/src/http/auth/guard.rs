//! The access guard every request passes: the site's files and health checks go straight
//! through; everything else is identified, checked against its route's needs, counted and
//! rate-limited, and answered `no-store`.

use std::time::Instant;

use app::auth::Access;
use app::live::LIVE_PATH;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::access::{RouteAccess, access_by, is_assign, records_exposure, scope_of};
use super::browser::check_browser_request;
use super::credentials::{Identified, authenticate};
use super::denied::Denied;
use super::headers::secure_headers;
use super::refusal::{refuse, refuse_storage, see_other, too_many_failures, too_many_requests};
use super::sign_in::{SignInFailed, login_redirect};
use crate::http::rate_limit::RateLimiter;
use crate::http::routes::{self, LOGIN_PATH, Needs};
use crate::http::state::AppState;

/// The authentication and authorization layer; see the module documentation.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_site_file_or_health(&state.leptos_options.site_root, &path).await {
        // The site's files and health checks: nobody's credential matters, none is looked up.
        let mut response = next.run(request).await;
        secure_headers(response.headers_mut());
        return response;
    }
    let mut response = checked(&state, &path, request, next).await;
    secure_headers(response.headers_mut());
    // Everything but the site's files is someone's: new tokens, share and sign-in links, pages
    // and data of a signed-in browser. No cache (browser, proxy) may keep a copy.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// [`guard`] for everything but the site's files and health checks.
pub(super) async fn checked(
    state: &AppState,
    path: &str,
    mut request: Request,
    next: Next,
) -> Response {
    let query = request.uri().query().map(str::to_owned);
    let share = path == LIVE_PATH
        && query
            .as_deref()
            .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("share=")));
    // Looked up once: what the route needs, its scope, whether it is `/metrics` or the
    // assignment route all come from this entry.
    let route = routes::matching(path);
    let needs = access_by(route, request.method(), path, share);
    let public = needs == RouteAccess::Api(Access::Public);
    let address = client_address(&request, &state.config.trusted_proxies);
    let failures = state.auth_failures.as_deref().map(|limiter| AuthFailures {
        limiter,
        address: &address,
    });
    // An address that failed too often is not looked up again until it has waited: the lookup
    // (a Redis round trip) is what a flood of made-up tokens would cost.
    let blocked = failures.as_ref().and_then(|failures| {
        failures
            .limiter
            .check(failures.address, Instant::now())
            .err()
    });
    // Signing in is public, but looks a token up too.
    let signs_in = path == LOGIN_PATH && *request.method() == Method::POST;
    let identified = match blocked {
        Some(wait) if !public || signs_in => {
            return too_many_failures(path, failures.as_ref().map(|f| f.limiter), wait);
        }
        Some(_) => Ok(Identified::Nobody),
        None => authenticate(state, request.headers(), query.as_deref()).await,
    };
    let identified = match identified {
        Ok(identified) => identified,
        // Public routes work while Redis is down (health checks, the sign-in page).
        Err(_) if public => Identified::Nobody,
        Err(error) => return refuse_storage(error),
    };
    let failed = matches!(identified, Identified::Failed(_));
    let note_failure = || {
        if let Some(failures) = &failures {
            failures.note();
        }
    };
    let authenticated = match identified {
        Identified::Known(authenticated) => Some(authenticated),
        Identified::Nobody | Identified::Failed(None) => None,
        Identified::Failed(Some(denied)) if public => {
            tracing::debug!(%denied, "credential ignored on a public route");
            None
        }
        Identified::Failed(Some(denied)) => {
            note_failure();
            return refuse(path, denied);
        }
    };
    // Public routes do not act on the session's authority (signing in again, for one, is a
    // plain form post that carries no CSRF header).
    if !public
        && let Some(authenticated) = &authenticated
        && let Err(denied) = check_browser_request(state, &request, authenticated)
    {
        return refuse(path, denied);
    }
    let by_session = authenticated.as_ref().is_some_and(|a| a.csrf.is_some());
    let scope = authenticated.as_ref().map(|a| a.scope);
    let principal = authenticated.map(|authenticated| authenticated.principal);
    let needed_one = match needs {
        RouteAccess::Page => true,
        RouteAccess::Api(access) => access != Access::Public,
        RouteAccess::ServerFn => false,
    };
    if failed || (principal.is_none() && needed_one) {
        note_failure();
    }
    let local_or_signed_in = route.is_some_and(|route| route.needs == Needs::LocalOrSignedIn);
    if local_or_signed_in && principal.is_none() && !is_loopback(&address) {
        note_failure();
        return refuse(path, Denied::MetricsFromAfar);
    }
    match (needs, &principal) {
        (RouteAccess::Api(Access::Public) | RouteAccess::ServerFn, _) => {}
        (RouteAccess::Page, None) => {
            return see_other(&login_redirect(request.uri()));
        }
        (RouteAccess::Page, Some(principal)) if !principal.role.allows(Access::Read) => {
            return refuse(
                path,
                Denied::Role {
                    role: principal.role,
                    access: Access::Read,
                },
            );
        }
        (RouteAccess::Page, Some(_)) => {}
        (RouteAccess::Api(_), None) => return refuse(path, Denied::NotSignedIn),
        (RouteAccess::Api(access), Some(principal)) if !principal.role.allows(access) => {
            return refuse(
                path,
                Denied::Role {
                    role: principal.role,
                    access,
                },
            );
        }
        (RouteAccess::Api(_), Some(_)) => {}
    }
    if let (Some(scope), Some(needed)) = (scope, scope_of(route))
        && !scope.covers(needed)
    {
        return refuse(path, Denied::Scope { scope, needed });
    }
    if by_session
        && is_assign(route)
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && records_exposure(query.as_deref())
    {
        return refuse(path, Denied::ExposureByGet);
    }
    if let Some(limiter) = &state.limiter {
        let key = match principal.as_ref().and_then(|p| p.credential.as_ref()) {
            Some(credential) => credential.revocation_names().swap_remove(0),
            None => format!("address:{address}"),
        };
        if let Err(wait) = limiter.take(&key, Instant::now()) {
            return too_many_requests(path, limiter.per_second(), wait);
        }
    }
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    let response = next.run(request).await;
    if response.extensions().get::<SignInFailed>().is_some() {
        note_failure();
    }
    response
}

/// The failed-authentication budget of one client address.
pub(super) struct AuthFailures<'a> {
    pub(super) limiter: &'a RateLimiter,
    pub(super) address: &'a str,
}

impl AuthFailures<'_> {
    /// Counts one failed authentication; once the budget is spent, [`RateLimiter::check`]
    /// refuses the address's next requests before their lookup.
    fn note(&self) {
        // Past the budget there is nothing more to take; the address waits either way.
        let _ = self.limiter.take(self.address, Instant::now());
    }
}

/// Whether `path` is a file of the site root (`root`) or a health check: cheap, polled by load
/// balancers, and the same for everyone, so no credential is looked up and no rate counted.
/// Only files that exist count: `/d/x.y` is a page like `/d/x`, and needs a session.
pub(super) async fn is_site_file_or_health(root: &str, path: &str) -> bool {
    if matches!(path, "/healthz" | "/readyz" | "/ping" | "/health") {
        return true;
    }
    // The site's files all have an extension; pages and API routes are not looked for on disk.
    let Some(relative) = path.strip_prefix('/') else {
        return false;
    };
    if path.starts_with("/api/") || !relative.rsplit('/').next().is_some_and(|f| f.contains('.')) {
        return false;
    }
    let mut file = std::path::PathBuf::from(root);
    for segment in relative.split('/') {
        // Exactly the file named: nothing above the root, nothing a decoder would read otherwise.
        if segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.contains(['\\', '%', ':'])
        {
            return false;
        }
        file.push(segment);
    }
    tokio::fs::metadata(&file)
        .await
        .is_ok_and(|metadata| metadata.is_file())
}

/// Whether `address` (from [`client_address`]) is this machine's.
pub(super) fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The client's IP address (behind a trusted proxy, the one it forwarded for), or "unknown".
#[must_use]
pub fn client_address(
    request: &Request,
    trusted: &crate::config::proxies::TrustedProxies,
) -> String {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |info| trusted.client(info.0.ip(), request.headers()).to_string(),
        )
}
