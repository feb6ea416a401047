//! Why a request was refused before it reached its handler, and with which status.

use app::auth::{Access, Role, TokenScope};
use axum::http::StatusCode;

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
