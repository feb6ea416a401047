//! Access control at the HTTP edge: who a request comes from (API token, browser session, or
//! nobody), what the route needs, CSRF and Origin checks, security headers, and signing in.
//!
//! Every request passes [`guard`]. It puts the [`Principal`] in the request's extensions, where
//! server functions (which check their own needs, also when the server renders a page) and the
//! live socket find it. Routes that are not server functions are checked here, by
//! [`route_access`], and writes also by the ingest token's scope ([`scope_needed`]).
//!
//! Failed authentications are counted per client address (`LIVEDASH_AUTH_FAILURE_LIMIT`); an
//! address past its budget is refused before its credential is looked up. Only the site's real
//! files and the health checks skip all of this; every other answer is `Cache-Control:
//! no-store`.

use std::time::Instant;

use app::auth::{
    Access, CSRF_HEADER, Credential, LOGIN_LINK_PATH, Principal, Role, SESSION_COOKIE, TokenScope,
    cookie_value,
};
use app::live::LIVE_PATH;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::limits::RateLimiter;
use crate::routes::now_ms;
use crate::state::AppState;
use crate::storage::access::{AccessError, NewSession};
use crate::telemetry::exposition::METRICS_PATH;

/// Where the browser signs in.
pub const LOGIN_PATH: &str = "/login";
/// The prefix of every server function's URL.
pub const SERVER_FN_PREFIX: &str = "/api/fn/";
/// Longest `next` a sign-in returns to; longer ones are not a page of livedash.
const MAX_NEXT_BYTES: usize = 2048;

/// Why a request was refused before it reached its handler.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No credential came with a request that needs one.
    #[error(
        "sign in first: send an API token as `Authorization: Token <token>` (or Bearer), or use \
         the browser's sign-in page"
    )]
    NotSignedIn,
    /// The credential is not (or no longer) valid.
    #[error("the {0} is not valid: it was revoked, has expired, or never existed")]
    BadCredential(&'static str),
    /// The `Authorization` header is not one livedash reads.
    #[error(
        "unreadable Authorization header: use `Token <token>`, `Bearer <token>` or Basic with the token as password"
    )]
    BadAuthorization,
    /// The role may not do this.
    #[error("the {role} role may not {what}", role = role.name(), what = access.describe())]
    Role { role: Role, access: Access },
    /// An ingest token whose scope does not cover the endpoint.
    #[error(
        "this token's scope is {scope}: it may {allows}; this endpoint needs a token with scope \
         {needed} or both (make one on the Access page)",
        scope = scope.name(),
        allows = scope.allows_text(),
        needed = needed.name()
    )]
    Scope {
        scope: TokenScope,
        needed: TokenScope,
    },
    /// A token in a URL that is not an ingest token.
    #[error(
        "only ingest tokens may be put in a URL (`?token=`); send others in the Authorization header"
    )]
    TokenInUrl,
    /// A browser-session request that changes something came without the CSRF token.
    #[error("missing or wrong CSRF token: reload the page and try again")]
    Csrf,
    /// A browser request from a page of another site.
    #[error("requests from pages of {0} are not allowed (see LIVEDASH_ALLOWED_ORIGINS)")]
    Origin(String),
    /// A signed-in browser asked, by GET, to record an experiment exposure: any site can make
    /// a browser follow a link, so that would let it count users.
    #[error(
        "a signed-in browser may not record an exposure with GET (a link on another site could \
         make it): POST it (with the CSRF header), send an ingest token, or add `expose=false` \
         to only ask for the variant"
    )]
    ExposureByGet,
    /// `GET /metrics` from another machine without a credential.
    #[error(
        "livedash's metrics are for a token of any role (`Authorization: Bearer <token>`, as \
         Prometheus sends with `authorization: {{credentials: …}}`) or for requests from this \
         machine"
    )]
    MetricsFromAfar,
}

impl Denied {
    /// 401 when signing in would help, 403 otherwise.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotSignedIn
            | Self::BadCredential(_)
            | Self::BadAuthorization
            | Self::MetricsFromAfar => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

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

/// What `method` on `path` needs. `share` is whether the request names a share link (the live
/// socket then checks that link instead of a credential). Files of the site root are public,
/// but that takes a look at the disk: see [`is_site_file_or_health`].
#[must_use]
pub fn route_access(method: &Method, path: &str, share: bool) -> RouteAccess {
    use RouteAccess::{Api, Page, ServerFn};
    if path.starts_with(SERVER_FN_PREFIX) {
        return ServerFn;
    }
    if *method == Method::OPTIONS {
        // CORS preflights carry no credentials.
        return Api(Access::Public);
    }
    match path {
        "/healthz" | "/readyz" | "/ping" | "/health" | LOGIN_PATH | LOGIN_LINK_PATH => {
            return Api(Access::Public);
        }
        // Any credential, or none from this machine: checked in `checked`.
        METRICS_PATH => return Api(Access::Public),
        "/api/v1/ingest" | "/api/v1/events" | "/api/v2/write" | "/write" => {
            return Api(Access::Ingest);
        }
        LIVE_PATH if share => return Api(Access::Public),
        LIVE_PATH => return Api(Access::Read),
        _ => {}
    }
    if path.starts_with("/api/v1/share/") || path.starts_with("/s/") {
        return Api(Access::Public);
    }
    if is_assign_path(path) {
        return Api(Access::Ingest);
    }
    if path.starts_with("/api/") {
        return Api(if *method == Method::GET || *method == Method::HEAD {
            Access::Read
        } else {
            Access::Admin
        });
    }
    Page
}

/// The scope an ingest token needs for `path`, for the routes that write.
#[must_use]
pub fn scope_needed(path: &str) -> Option<TokenScope> {
    match path {
        "/api/v1/ingest" | "/api/v2/write" | "/write" => Some(TokenScope::Metrics),
        "/api/v1/events" => Some(TokenScope::Events),
        _ if is_assign_path(path) => Some(TokenScope::Events),
        _ => None,
    }
}

/// `/api/v1/experiments/{id}/assign`.
fn is_assign_path(path: &str) -> bool {
    path.starts_with("/api/v1/experiments/") && path.ends_with("/assign")
}

/// Whether an assignment request's query asks to record the exposure (the default), that is,
/// is not only asking with `expose=false`.
fn records_exposure(query: Option<&str>) -> bool {
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

/// A request's credential, once checked, and its session's CSRF token.
struct Authenticated {
    principal: Principal,
    csrf: Option<String>,
    /// What the token may write (`Both` for sessions, whose role decides).
    scope: TokenScope,
}

/// What a request's credential turned out to be.
enum Identified {
    /// It came without one.
    Nobody,
    /// A valid credential.
    Known(Authenticated),
    /// A credential that is unreadable, unknown, revoked or in the wrong place (`Some`), or a
    /// session that ended (`None`: the browser is treated as signed out).
    Failed(Option<Denied>),
}

/// Where a token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenSource {
    Header,
    Url,
}

/// The token in the `Authorization` header (`Token`, `Bearer`, or Basic with the token as the
/// password, as Telegraf's InfluxDB v1 output sends it), or in `?token=` / InfluxDB v1's `?p=`.
fn presented_token(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<(String, TokenSource)>, Denied> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Denied::BadAuthorization)?.trim();
        let (scheme, rest) = value.split_once(' ').ok_or(Denied::BadAuthorization)?;
        let rest = rest.trim();
        let token = match scheme.to_ascii_lowercase().as_str() {
            "token" | "bearer" => rest.to_owned(),
            "basic" => {
                let decoded = base64_decode(rest).ok_or(Denied::BadAuthorization)?;
                let text = String::from_utf8(decoded).map_err(|_| Denied::BadAuthorization)?;
                let (_, password) = text.split_once(':').ok_or(Denied::BadAuthorization)?;
                password.to_owned()
            }
            _ => return Err(Denied::BadAuthorization),
        };
        if token.is_empty() {
            return Err(Denied::BadAuthorization);
        }
        return Ok(Some((token, TokenSource::Header)));
    }
    let from_url = query.and_then(|query| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            matches!(key, "token" | "p")
                .then(|| value.to_owned())
                .filter(|value| !value.is_empty())
        })
    });
    Ok(from_url.map(|token| (token, TokenSource::Url)))
}

/// Standard base64 (with or without padding), for Basic credentials.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// Works out who sent the request.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Identified, AccessError> {
    if !state.config.auth.enabled {
        return Ok(Identified::Known(Authenticated {
            principal: Principal {
                role: Role::Admin,
                credential: None,
            },
            csrf: None,
            scope: TokenScope::Both,
        }));
    }
    let token = match presented_token(headers, query) {
        Ok(token) => token,
        Err(denied) => return Ok(Identified::Failed(Some(denied))),
    };
    if let Some((token, source)) = token {
        let Some(info) = state.store.resolve_token(&token, now_ms()).await? else {
            return Ok(Identified::Failed(Some(Denied::BadCredential("token"))));
        };
        if source == TokenSource::Url && info.role != Role::Ingest {
            return Ok(Identified::Failed(Some(Denied::TokenInUrl)));
        }
        return Ok(Identified::Known(Authenticated {
            principal: Principal {
                role: info.role,
                credential: Some(Credential::Token {
                    id: info.id,
                    label: info.label,
                }),
            },
            csrf: None,
            scope: info.scope,
        }));
    }
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    let Some(secret) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Ok(Identified::Nobody);
    };
    // An ended session is like none: the browser is asked to sign in again.
    let Some(record) = state.store.resolve_session(secret).await? else {
        return Ok(Identified::Failed(None));
    };
    Ok(Identified::Known(Authenticated {
        principal: Principal {
            role: record.info.role,
            credential: Some(Credential::Session {
                id: record.info.id,
                via: record.info.via,
                token_id: record.info.token_id,
            }),
        },
        csrf: Some(record.csrf),
        scope: TokenScope::Both,
    }))
}

/// Whether the page at `origin` may use this server with a browser session: its own origin
/// (by the `Host` header) or a configured one.
fn origin_allowed(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
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

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

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
async fn checked(state: &AppState, path: &str, mut request: Request, next: Next) -> Response {
    let query = request.uri().query().map(str::to_owned);
    let share = path == LIVE_PATH
        && query
            .as_deref()
            .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("share=")));
    let needs = route_access(request.method(), path, share);
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
    if path == METRICS_PATH && principal.is_none() && !is_loopback(&address) {
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
    if let (Some(scope), Some(needed)) = (scope, scope_needed(path))
        && !scope.covers(needed)
    {
        return refuse(path, Denied::Scope { scope, needed });
    }
    if by_session
        && is_assign_path(path)
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
struct AuthFailures<'a> {
    limiter: &'a RateLimiter,
    address: &'a str,
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
async fn is_site_file_or_health(root: &str, path: &str) -> bool {
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
fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The client's IP address (behind a trusted proxy, the one it forwarded for), or "unknown".
#[must_use]
pub fn client_address(request: &Request, trusted: &crate::proxy::TrustedProxies) -> String {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |info| trusted.client(info.0.ip(), request.headers()).to_string(),
        )
}

/// Whole seconds to wait, at least one, for `Retry-After`.
fn retry_seconds(wait: std::time::Duration) -> f64 {
    wait.as_secs_f64().ceil().max(1.0)
}

fn too_many_requests(path: &str, per_second: f64, wait: std::time::Duration) -> Response {
    let seconds = retry_seconds(wait);
    let message = format!(
        "rate limit: at most {per_second} requests a second per token or browser \
         (LIVEDASH_RATE_LIMIT); retry after {seconds} s"
    );
    retry_later(path, &message, seconds)
}

fn too_many_failures(
    path: &str,
    limiter: Option<&RateLimiter>,
    wait: std::time::Duration,
) -> Response {
    let seconds = retry_seconds(wait);
    let (per_second, burst) = limiter.map_or((0.0, 0.0), |l| (l.per_second(), l.burst()));
    let message = format!(
        "too many failed authentications from this address: at most {per_second} a second, \
         bursts of {burst} (LIVEDASH_AUTH_FAILURE_LIMIT); retry after {seconds} s"
    );
    retry_later(path, &message, seconds)
}

/// `429` with `Retry-After`, in the endpoint's error format.
fn retry_later(path: &str, message: &str, seconds: f64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(error_body(path, StatusCode::TOO_MANY_REQUESTS, message)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    cross_site_readable(path, response.headers_mut());
    secure_headers(response.headers_mut());
    response
}

/// An error body in the format of the endpoint at `path`: InfluxDB v2's for `/api/v2/write`,
/// `{"error": …}` everywhere else.
fn error_body(path: &str, status: StatusCode, message: &str) -> serde_json::Value {
    if path == "/api/v2/write" {
        let code = match status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::TOO_MANY_REQUESTS => "too many requests",
            _ => "forbidden",
        };
        json!({ "code": code, "message": message })
    } else {
        json!({ "error": message })
    }
}

/// The tracking snippet and experiment assignments run on other sites: let them read why they
/// were refused.
fn cross_site_readable(path: &str, headers: &mut HeaderMap) {
    if path == "/api/v1/events" || is_assign_path(path) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
}

/// The CSRF and Origin checks of requests that a browser's cookie authenticated: anything but a
/// read must repeat the session's CSRF token, and a page of another site gets nothing (also no
/// live socket, which the same-origin policy does not guard).
fn check_browser_request(
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

/// `/login?next=<where the browser was going>`, if that is a path [`safe_next`] keeps.
fn login_redirect(uri: &axum::http::Uri) -> String {
    let target = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    format!("{LOGIN_PATH}?next={}", percent_encode(safe_next(target)))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `303 See Other` to `location`, a path this module made or checked (`/` if it is somehow not
/// a header value, rather than a panic after a session was made).
fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn refuse(path: &str, denied: Denied) -> Response {
    let status = denied.status();
    let message = denied.to_string();
    let mut response = (status, Json(error_body(path, status, &message))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Token realm=\"livedash\""),
        );
    }
    cross_site_readable(path, response.headers_mut());
    secure_headers(response.headers_mut());
    response
}

fn refuse_storage(error: AccessError) -> Response {
    match error {
        AccessError::Storage(error) => AppError::Storage(error).into_response(),
        other => AppError::Access(other).into_response(),
    }
}

/// Headers every response carries; HTML pages get their Content-Security-Policy where they are
/// rendered ([`page_security_policy`]), everything else a policy that allows nothing.
fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Share links carry their token in the URL: never send it to another site.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
}

/// The Content-Security-Policy of a rendered page: its own scripts (the hydration script by
/// `nonce`), WebAssembly, styles (the app positions widgets with style attributes), images
/// from itself and data URLs, connections (fetch, live socket) to itself; frames only as
/// `frame_ancestors` allows.
#[must_use]
pub fn page_security_policy(nonce: &str, frame_ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors {frame_ancestors}"
    )
}

/// Whether the browser reached livedash over HTTPS (directly or through a proxy that says so),
/// so cookies must be `Secure`.
#[must_use]
pub fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

/// `next` if it is a path of livedash itself that every browser reads the same way, else `/`.
fn safe_next(next: &str) -> &str {
    if is_local_path(next) { next } else { "/" }
}

/// Whether `target` is an absolute path (and query) on this host, for any reader of a
/// `Location` header. Browsers drop tabs and newlines from URLs, read `\` as `/`, and take
/// `//host` as another host (so `/\t/evil.example` goes to evil.example): only the characters
/// a path and query may hold unescaped pass, well-formed escapes included, and what the path's
/// escapes decode to is held to the same rules, so no later decoding makes a host of it.
fn is_local_path(target: &str) -> bool {
    let bytes = target.as_bytes();
    if bytes.first() != Some(&b'/')
        || matches!(bytes.get(1), Some(b'/' | b'\\'))
        || bytes.len() > MAX_NEXT_BYTES
    {
        return false;
    }
    let unescaped =
        |byte: u8| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte);
    if !bytes.iter().all(|&byte| unescaped(byte)) {
        return false;
    }
    if percent_decode(bytes).is_none() {
        return false;
    }
    let raw_path = target.split('?').next().unwrap_or_default();
    let Some(path) = percent_decode(raw_path.as_bytes()) else {
        return false;
    };
    !path
        .iter()
        .any(|&byte| byte.is_ascii_control() || byte.is_ascii_whitespace() || byte == b'\\')
        && !path.windows(2).any(|pair| pair == b"//")
}

/// `text` with its `%XX` escapes decoded; `None` if one is malformed.
fn percent_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2)?;
            let high = char::from(hex[0]).to_digit(16)?;
            let low = char::from(hex[1]).to_digit(16)?;
            out.push(u8::try_from(high * 16 + low).ok()?);
            rest = &tail[2..];
        } else {
            out.push(byte);
            rest = tail;
        }
    }
    Some(out)
}

/// `POST /login`: signs the browser in with an admin or viewer token. A token that is not
/// valid counts as a failed authentication of the client's address ([`SignInFailed`]).
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !origin_allowed(&state, &headers, origin)
    {
        return refuse(LOGIN_PATH, Denied::Origin(origin.to_owned()));
    }
    // Decided before anything is made: a session exists only once its answer is known to work.
    let next = safe_next(&form.next).to_owned();
    let failed = |reason: &str| {
        see_other(&format!(
            "{LOGIN_PATH}?next={}&error={}",
            percent_encode(&next),
            percent_encode(reason)
        ))
    };
    if !state.config.auth.enabled {
        return see_other(&next);
    }
    let info = match state.store.resolve_token(form.token.trim(), now_ms()).await {
        Ok(Some(info)) => info,
        Ok(None) => {
            let mut response = failed("That token is not valid (revoked, or mistyped).");
            response.extensions_mut().insert(SignInFailed);
            return response;
        }
        Err(error) => return refuse_storage(error),
    };
    if !info.role.can_sign_in() {
        return failed("Ingest tokens can only write data; sign in with an admin or viewer token.");
    }
    let session = state
        .store
        .create_session(info.role, &info.label, Some(info.id.clone()), now_ms())
        .await;
    signed_in(session, &headers, &next)
}

/// Marks the answer to a sign-in with a token that is not valid, for [`guard`] to count.
#[derive(Clone, Copy, Debug)]
struct SignInFailed;

/// The one-time link's parameters.
#[derive(Deserialize)]
pub struct LinkParams {
    #[serde(default)]
    code: String,
}

/// `GET /login/link?code=…`: signs the browser in with a one-time link.
pub async fn login_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<LinkParams>,
) -> Response {
    if !state.config.auth.enabled {
        return see_other("/");
    }
    let grant = match state.store.use_login_link(params.code.trim()).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            return see_other(&format!(
                "{LOGIN_PATH}?error={}",
                percent_encode(
                    "That sign-in link was already used or has expired. Restart livedash for a new one, or ask an admin."
                )
            ));
        }
        Err(error) => return refuse_storage(error),
    };
    let session = state
        .store
        .create_session(grant.role, &grant.label, None, now_ms())
        .await;
    signed_in(session, &headers, "/")
}

fn signed_in(
    session: Result<NewSession, AccessError>,
    headers: &HeaderMap,
    next: &str,
) -> Response {
    let session = match session {
        Ok(session) => session,
        Err(error) => return refuse_storage(error),
    };
    tracing::info!(role = session.record.info.role.name(), via = %session.record.info.via, "a browser signed in");
    let mut response = see_other(next);
    let values = (session.secret.as_str(), session.record.csrf.as_str());
    for cookie in app::auth::session_cookies(Some(values), over_https(headers)) {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Makes the first admin credential: the configured token is stored, or else a one-time
/// sign-in link for `base_url` is made and printed, as Jupyter does. Retries until Redis answers.
pub async fn announce_sign_in(state: AppState, base_url: String) {
    let auth = &state.config.auth;
    if !auth.enabled {
        tracing::warn!(
            "LIVEDASH_AUTH=off: everyone who can reach {base_url} can read and change everything"
        );
        return;
    }
    loop {
        let made = match &auth.admin_token {
            Some(token) => state
                .store
                .store_token(
                    token,
                    Role::Admin,
                    TokenScope::Both,
                    "LIVEDASH_ADMIN_TOKEN".into(),
                    "configuration",
                    now_ms(),
                )
                .await
                .map(|_| {
                    tracing::info!(
                        "sign in at {base_url}{LOGIN_PATH} with the token in LIVEDASH_ADMIN_TOKEN"
                    );
                }),
            None => state
                .store
                .create_login_link(Role::Admin, "sign-in link printed at start", now_ms())
                .await
                .map(|link| {
                    tracing::info!(
                        "sign in as admin: open {base_url}{} (one-time link, valid 24 h; restart \
                         livedash for a new one, or set LIVEDASH_ADMIN_TOKEN)",
                        link.path
                    );
                }),
        };
        match made {
            Ok(()) => return,
            Err(error) => tracing::debug!(%error, "the sign-in link waits for Redis"),
        }
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
