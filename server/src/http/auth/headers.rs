//! Security headers every answer carries, and a rendered page's Content-Security-Policy.

use axum::http::{HeaderMap, HeaderValue, header};

/// Headers every response carries; HTML pages get their Content-Security-Policy where they are
/// rendered ([`page_security_policy`]), everything else a policy that allows nothing.
pub(super) fn secure_headers(headers: &mut HeaderMap) {
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
