//! Taking a connection out of its address's count once a request on it is let through signed in.

use std::sync::Arc;

use super::clock::Clock;

/// Put in every request's extensions, so that [`admit_signed_in`] can stop counting the
/// connection against its address.
#[derive(Clone)]
pub struct ConnectionHandle(pub(super) Arc<Clock>);

/// Middleware, inside the authentication layer: a request let through with a credential (or
/// with access control off) takes its connection out of the per-address count.
pub async fn admit_signed_in(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.extensions().get::<app::auth::Principal>().is_some()
        && let Some(ConnectionHandle(clock)) = request.extensions().get()
    {
        clock.admitted();
    }
    next.run(request).await
}
