//! Access control at the HTTP edge: who a request comes from (API token, browser session, or
//! nobody), what the route needs, CSRF and Origin checks, security headers, and signing in.
//!
//! Every request passes [`guard`]. It puts the [`Principal`] in the request's extensions, where
//! server functions (which check their own needs, also when the server renders a page) and the
//! live socket find it. Routes that are not server functions are checked here, by
//! [`route_access`].

use app::auth::{
    Access, CSRF_HEADER, Credential, LOGIN_LINK_PATH, Principal, Role, SESSION_COOKIE, cookie_value,
};
use app::live::LIVE_PATH;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::routes::now_ms;
use crate::state::AppState;
use crate::storage::access::{AccessError, NewSession};

/// Where the browser signs in.
pub const LOGIN_PATH: &str = "/login";
/// The prefix of every server function's URL.
pub const SERVER_FN_PREFIX: &str = "/api/fn/";

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
    #[error("a {role} may not {what}", role = role.name(), what = access.describe())]
    Role { role: Role, access: Access },
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
}

impl Denied {
    /// 401 when signing in would help, 403 otherwise.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotSignedIn | Self::BadCredential(_) | Self::BadAuthorization => {
                StatusCode::UNAUTHORIZED
            }
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
/// socket then checks that link instead of a credential).
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
        "/api/v1/ingest" | "/api/v1/events" | "/api/v2/write" | "/write" => {
            return Api(Access::Ingest);
        }
        LIVE_PATH if share => return Api(Access::Public),
        LIVE_PATH => return Api(Access::Read),
        _ => {}
    }
    if path.starts_with("/api/v1/share/") || path.starts_with("/s/") || path.starts_with("/pkg/") {
        return Api(Access::Public);
    }
    if path.starts_with("/api/v1/experiments/") && path.ends_with("/assign") {
        return Api(Access::Ingest);
    }
    if path.starts_with("/api/") {
        return Api(if *method == Method::GET || *method == Method::HEAD {
            Access::Read
        } else {
            Access::Admin
        });
    }
    if is_site_file_or_health(path) {
        // Files of the site root (favicon, track.js); pages have no dots in their last segment.
        return Api(Access::Public);
    }
    Page
}

/// A request's credential, once checked, and its session's CSRF token.
struct Authenticated {
    principal: Principal,
    csrf: Option<String>,
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

/// Works out who sent the request; `Ok(None)` for nobody.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Result<Option<Authenticated>, Denied>, AccessError> {
    if !state.config.auth.enabled {
        return Ok(Ok(Some(Authenticated {
            principal: Principal {
                role: Role::Admin,
                credential: None,
            },
            csrf: None,
        })));
    }
    let token = match presented_token(headers, query) {
        Ok(token) => token,
        Err(denied) => return Ok(Err(denied)),
    };
    if let Some((token, source)) = token {
        let Some(info) = state.store.resolve_token(&token, now_ms()).await? else {
            return Ok(Err(Denied::BadCredential("token")));
        };
        if source == TokenSource::Url && info.role != Role::Ingest {
            return Ok(Err(Denied::TokenInUrl));
        }
        return Ok(Ok(Some(Authenticated {
            principal: Principal {
                role: info.role,
                credential: Some(Credential::Token {
                    id: info.id,
                    label: info.label,
                }),
            },
            csrf: None,
        })));
    }
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    let Some(secret) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Ok(Ok(None));
    };
    // An ended session is like none: the browser is asked to sign in again.
    let Some(record) = state.store.resolve_session(secret).await? else {
        return Ok(Ok(None));
    };
    Ok(Ok(Some(Authenticated {
        principal: Principal {
            role: record.info.role,
            credential: Some(Credential::Session {
                id: record.info.id,
                via: record.info.via,
                token_id: record.info.token_id,
            }),
        },
        csrf: Some(record.csrf),
    })))
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
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let share = path == LIVE_PATH
        && query
            .as_deref()
            .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("share=")));
    let needs = route_access(request.method(), &path, share);
    if is_site_file_or_health(&path) {
        // The site's files and health checks: nobody's credential matters, none is looked up.
        let mut response = next.run(request).await;
        secure_headers(response.headers_mut());
        return response;
    }
    let authenticated = match authenticate(&state, request.headers(), query.as_deref()).await {
        Ok(authenticated) => authenticated,
        // Public routes work while Redis is down (health checks, the sign-in page).
        Err(_) if needs == RouteAccess::Api(Access::Public) => Ok(None),
        Err(error) => return refuse_storage(error),
    };
    let authenticated = match authenticated {
        Ok(authenticated) => authenticated,
        Err(denied) if needs == RouteAccess::Api(Access::Public) => {
            tracing::debug!(%denied, "credential ignored on a public route");
            None
        }
        Err(denied) => return refuse(&path, denied),
    };
    // Public routes do not act on the session's authority (signing in again, for one, is a
    // plain form post that carries no CSRF header).
    if needs != RouteAccess::Api(Access::Public)
        && let Some(authenticated) = &authenticated
        && let Err(denied) = check_browser_request(&state, &request, authenticated)
    {
        return refuse(&path, denied);
    }
    let principal = authenticated.map(|authenticated| authenticated.principal);
    match (needs, &principal) {
        (RouteAccess::Api(Access::Public) | RouteAccess::ServerFn, _) => {}
        (RouteAccess::Page, None) => {
            return Redirect::to(&login_redirect(request.uri())).into_response();
        }
        (RouteAccess::Page, Some(principal)) if !principal.role.allows(Access::Read) => {
            return refuse(
                &path,
                Denied::Role {
                    role: principal.role,
                    access: Access::Read,
                },
            );
        }
        (RouteAccess::Page, Some(_)) => {}
        (RouteAccess::Api(_), None) => return refuse(&path, Denied::NotSignedIn),
        (RouteAccess::Api(access), Some(principal)) if !principal.role.allows(access) => {
            return refuse(
                &path,
                Denied::Role {
                    role: principal.role,
                    access,
                },
            );
        }
        (RouteAccess::Api(_), Some(_)) => {}
    }
    if let Some(limiter) = &state.limiter {
        let key = match principal.as_ref().and_then(|p| p.credential.as_ref()) {
            Some(credential) => credential.revocation_names().swap_remove(0),
            None => format!(
                "address:{}",
                client_address(&request, &state.config.trusted_proxies)
            ),
        };
        if let Err(wait) = limiter.take(&key, std::time::Instant::now()) {
            return too_many_requests(limiter.per_second(), wait);
        }
    }
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    let mut response = next.run(request).await;
    secure_headers(response.headers_mut());
    response
}

/// Whether `path` is one of the site's files or a health check: cheap, polled by load
/// balancers, and the same for everyone, so no credential is looked up and no rate counted.
fn is_site_file_or_health(path: &str) -> bool {
    path.starts_with("/pkg/")
        || matches!(path, "/healthz" | "/readyz" | "/ping" | "/health")
        || (!path.starts_with("/api/")
            && path
                .rsplit('/')
                .next()
                .is_some_and(|file| file.contains('.')))
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

fn too_many_requests(per_second: f64, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "error": format!(
            "rate limit: at most {per_second} requests a second per token or browser \
             (LIVEDASH_RATE_LIMIT); retry after {seconds} s"
        ) })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    secure_headers(response.headers_mut());
    response
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

/// `/login?next=<where the browser was going>`.
fn login_redirect(uri: &axum::http::Uri) -> String {
    let target = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    format!("{LOGIN_PATH}?next={}", percent_encode(target))
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

fn refuse(path: &str, denied: Denied) -> Response {
    let status = denied.status();
    let message = denied.to_string();
    let body = if path == "/api/v2/write" {
        json!({ "code": if status == StatusCode::UNAUTHORIZED { "unauthorized" } else { "forbidden" }, "message": message })
    } else {
        json!({ "error": message })
    };
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Token realm=\"livedash\""),
        );
    }
    if path == "/api/v1/events" {
        // The tracking snippet runs on other sites; let it read why it was refused.
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
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

/// Only paths of this site are followed after signing in.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

/// `POST /login`: signs the browser in with an admin or viewer token.
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
    let next = safe_next(&form.next).to_owned();
    let failed = |reason: &str| {
        Redirect::to(&format!(
            "{LOGIN_PATH}?next={}&error={}",
            percent_encode(&next),
            percent_encode(reason)
        ))
        .into_response()
    };
    if !state.config.auth.enabled {
        return Redirect::to(&next).into_response();
    }
    let info = match state.store.resolve_token(form.token.trim(), now_ms()).await {
        Ok(Some(info)) => info,
        Ok(None) => return failed("That token is not valid (revoked, or mistyped)."),
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
        return Redirect::to("/").into_response();
    }
    let grant = match state.store.use_login_link(params.code.trim()).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            return Redirect::to(&format!(
                "{LOGIN_PATH}?error={}",
                percent_encode(
                    "That sign-in link was already used or has expired. Restart livedash for a new one, or ask an admin."
                )
            ))
            .into_response();
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
    let mut response = Redirect::to(next).into_response();
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
            (
                &get,
                "/pkg/livedash.wasm",
                false,
                RouteAccess::Api(Access::Public),
            ),
            (&get, "/track.js", false, RouteAccess::Api(Access::Public)),
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
        assert_eq!(safe_next("/d/1?range=1h"), "/d/1?range=1h");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
    }
}
