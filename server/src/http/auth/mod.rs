//! Access control at the HTTP edge: who a request comes from (API token, browser session, or
//! nobody), what the route needs, CSRF and Origin checks, security headers, and signing in.
//!
//! Every request passes [`guard`]. It puts the [`Principal`](app::auth::Principal) in the
//! request's extensions, where server functions (which check their own needs, also when the
//! server renders a page) and the live socket find it. Other routes are checked here by the
//! route table ([`crate::http::routes`], through [`route_access`]), and writes also by the
//! ingest token's scope ([`scope_needed`]).
//!
//! Failed authentications are counted per client address (`LIVEDASH_AUTH_FAILURE_LIMIT`); an
//! address past its budget is refused before its credential is looked up. Only the site's real
//! files and the health checks skip all of this; every other answer is `Cache-Control:
//! no-store`.

mod access;
mod browser;
mod credentials;
mod denied;
mod guard;
mod headers;
mod refusal;
mod sign_in;
#[cfg(test)]
mod tests;

pub use access::{RouteAccess, route_access, scope_needed};
pub use denied::Denied;
pub use guard::{client_address, guard};
pub use headers::{over_https, page_security_policy};
pub use sign_in::{LinkParams, LoginForm, announce_sign_in, login, login_link};
