//! Who sent a request: the token it presents (header, query, Basic password) or its browser
//! session, looked up once.

use app::auth::{Credential, Principal, Role, SESSION_COOKIE, TokenScope, cookie_value};
use axum::http::{HeaderMap, header};

use super::denied::Denied;
use crate::http::state::AppState;
use crate::storage::access::AccessError;
use app::clock::now_ms;

/// A request's credential, once checked, and its session's CSRF token.
pub(super) struct Authenticated {
    pub(super) principal: Principal,
    pub(super) csrf: Option<String>,
    /// What the token may write (`Both` for sessions, whose role decides).
    pub(super) scope: TokenScope,
}

/// What a request's credential turned out to be.
pub(super) enum Identified {
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
pub(super) enum TokenSource {
    Header,
    Url,
}

/// The token in the `Authorization` header (`Token`, `Bearer`, or Basic with the token as the
/// password, as Telegraf's InfluxDB v1 output sends it), or in `?token=` / InfluxDB v1's `?p=`.
pub(super) fn presented_token(
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

/// Standard base64 with or without padding, as Basic credentials come (lenient about the
/// unused bits of the last character, as browsers and HTTP clients are).
const BASIC: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `text` decoded as standard base64; `None` if it is not.
pub(super) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    BASIC.decode(text).ok()
}

/// Works out who sent the request.
pub(super) async fn authenticate(
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

/// Compares secrets in time that does not depend on where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}
