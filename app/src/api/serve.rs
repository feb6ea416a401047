//! How a server function is served on the server: who asks and whether they may, the backend
//! that answers, and the HTTP status of a failure.

use leptos::prelude::*;

use crate::api::backend::{Backend, BoxFuture, SharedBackend};
use crate::api::error::ApiError;
use crate::auth::{Access, Credential, Principal};

/// The storage backend the server provided.
pub fn storage() -> Result<SharedBackend, ApiError> {
    use_context::<SharedBackend>()
        .ok_or_else(|| ApiError::Transport("no storage backend in context".into()))
}

/// Who made the request, as the authentication layer put it in the request (also when the
/// server renders a page); `None` when nobody signed in.
fn principal() -> Option<Principal> {
    use_context::<leptos::server_fn::http_export::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
}

/// Refuses the request unless its principal may do what needs `access`.
pub fn authorize(access: Access) -> Result<Option<Principal>, ApiError> {
    let principal = principal();
    if access == Access::Public {
        return Ok(principal);
    }
    match &principal {
        None => Err(ApiError::Unauthorized(
            "sign in first (your session may have ended)".into(),
        )),
        Some(principal) if !principal.role.allows(access) => Err(ApiError::Forbidden(format!(
            "the {} role may not {}",
            principal.role.name(),
            access.describe()
        ))),
        Some(_) => Ok(principal),
    }
}

/// Who a version is saved by: the label of the credential that saved it.
fn author(principal: Option<Principal>) -> String {
    match principal.and_then(|principal| principal.credential) {
        Some(Credential::Session { via, .. }) => via,
        Some(Credential::Token { label, .. }) => format!("token “{label}”"),
        None => "local user".into(),
    }
}

/// Gives a failed answer the HTTP status that says what kind of failure it is.
pub fn with_status<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    use leptos::server_fn::http_export::StatusCode;
    use leptos_axum::ResponseOptions;
    if let Err(error) = &result
        && let Some(response) = use_context::<ResponseOptions>()
    {
        response.set_status(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}

/// Answers with `call` on the backend once the request's principal may do what needs `access`;
/// a failure carries its HTTP status.
pub async fn serve<T>(
    access: Access,
    call: impl for<'a> FnOnce(&'a dyn Backend) -> BoxFuture<'a, Result<T, ApiError>>,
) -> Result<T, ApiError> {
    serve_as(access, |backend, _author| call(backend)).await
}

/// As [`serve`], for calls that record who made them: `call` also gets the author, the label of
/// the request's credential.
pub async fn serve_as<T>(
    access: Access,
    call: impl for<'a> FnOnce(&'a dyn Backend, String) -> BoxFuture<'a, Result<T, ApiError>>,
) -> Result<T, ApiError> {
    with_status(
        async {
            let author = author(authorize(access)?);
            let backend = storage()?;
            call(backend.as_ref(), author).await
        }
        .await,
    )
}

/// Answers an Alerts page call: reading needs read access, changing needs an admin.
pub async fn serve_alerts(
    call: crate::alerts::api::AlertsCall,
) -> Result<crate::alerts::api::AlertsAnswer, ApiError> {
    with_status(
        async {
            let access = if call.changes() {
                Access::Admin
            } else {
                Access::Read
            };
            let author = author(authorize(access)?);
            let backend = use_context::<crate::api::backend::SharedAlerts>()
                .ok_or_else(|| ApiError::Transport("no alerting backend in context".into()))?;
            backend.alerts(call, author).await
        }
        .await,
    )
}
