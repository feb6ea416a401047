//! Signing in: the form, one-time links, where a browser returns to, and the first admin
//! credential made (or printed) at start.

use app::auth::{Role, TokenScope};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

use super::browser::origin_allowed;
use super::denied::Denied;
use super::headers::over_https;
use super::refusal::{refuse, refuse_storage, see_other};
use crate::http::routes::LOGIN_PATH;
use crate::http::state::AppState;
use crate::storage::access::{AccessError, NewSession};
use app::clock::now_ms;

/// Longest `next` a sign-in returns to; longer ones are not a page of livedash.
pub(super) const MAX_NEXT_BYTES: usize = 2048;

/// `/login?next=<where the browser was going>`, if that is a path [`safe_next`] keeps.
pub(super) fn login_redirect(uri: &axum::http::Uri) -> String {
    let target = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    format!("{LOGIN_PATH}?next={}", percent_encode(safe_next(target)))
}

pub(super) fn percent_encode(text: &str) -> String {
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

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

/// `next` if it is a path of livedash itself that every browser reads the same way, else `/`.
pub(super) fn safe_next(next: &str) -> &str {
    if is_local_path(next) { next } else { "/" }
}

/// Whether `target` is an absolute path (and query) on this host, for any reader of a
/// `Location` header. Browsers drop tabs and newlines from URLs, read `\` as `/`, and take
/// `//host` as another host (so `/\t/evil.example` goes to evil.example): only the characters
/// a path and query may hold unescaped pass, well-formed escapes included, and what the path's
/// escapes decode to is held to the same rules, so no later decoding makes a host of it.
pub(super) fn is_local_path(target: &str) -> bool {
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
pub(super) fn percent_decode(text: &[u8]) -> Option<Vec<u8>> {
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
pub(super) struct SignInFailed;

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

pub(super) fn signed_in(
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
