//! The router: every route of the table in [`crate::http::routes`] with its handler, the
//! Leptos app's pages and server functions, and the layers every request passes (the access
//! guard, the server functions' edge, the body limit, tracing). A path the table does not
//! declare is refused at start-up, so no route exists without a declared access.

use app::api::backend::SharedBackend;
use app::auth::LOGIN_LINK_PATH;
use app::live::LIVE_PATH;
use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::routing::{MethodRouter, delete, get, post, put};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::http::handlers::{
    alerts, catalog, dashboards, health, influx, ingest, live, metrics, people,
};
use crate::http::routes::{self, ASSIGN_PATH, LOGIN_PATH};
use crate::http::state::AppState;
use crate::http::{auth, server_fn_edge, serving};
use crate::telemetry::exposition::METRICS_PATH;

/// The handlers of the API routes, by the path the table declares them under. InfluxDB's write
/// routes are the ones whose bodies may be gzip-compressed.
#[must_use]
pub fn api_handlers() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let gzip = || RequestDecompressionLayer::new();
    vec![
        ("/healthz", get(health::healthz)),
        ("/readyz", get(health::readyz)),
        (METRICS_PATH, get(metrics::scrape)),
        ("/api/v1/ingest", post(ingest::ingest)),
        (
            "/api/v1/events",
            post(ingest::events).options(ingest::cors_preflight),
        ),
        (
            ASSIGN_PATH,
            get(ingest::assign)
                .post(ingest::assign)
                .options(ingest::cors_preflight),
        ),
        ("/api/v1/query", get(catalog::query)),
        ("/api/v1/series", get(catalog::series)),
        ("/api/v1/series/names", get(catalog::metric_names)),
        ("/api/v1/series/labels", get(catalog::labels)),
        (
            "/api/v1/dashboards/{id}/export",
            get(dashboards::export_dashboard),
        ),
        ("/api/v1/share/{token}", get(dashboards::shared_dashboard)),
        (
            "/api/v1/people/{id}",
            get(people::export_person).delete(people::delete_person),
        ),
        ("/api/v2/write", post(influx::write_v2).layer(gzip())),
        ("/write", post(influx::write_v1).layer(gzip())),
        ("/ping", get(influx::ping).head(influx::ping)),
        ("/health", get(influx::health)),
        (LIVE_PATH, get(live::upgrade)),
        (LOGIN_PATH, post(auth::login)),
        (LOGIN_LINK_PATH, get(auth::login_link)),
        (
            "/api/v1/alerts/rules",
            get(alerts::list_rules).post(alerts::create_rule),
        ),
        ("/api/v1/alerts/rules/preview", post(alerts::preview_rule)),
        (
            "/api/v1/alerts/rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        ),
        ("/api/v1/alerts/instances", get(alerts::instances)),
        ("/api/v1/alerts/history", get(alerts::history)),
        (
            "/api/v1/alerts/silences",
            get(alerts::list_silences).post(alerts::create_silence),
        ),
        (
            "/api/v1/alerts/silences/{id}",
            delete(alerts::expire_silence),
        ),
        (
            "/api/v1/alerts/contact-points",
            get(alerts::list_contacts).post(alerts::create_contact),
        ),
        (
            "/api/v1/alerts/contact-points/{name}",
            put(alerts::update_contact).delete(alerts::delete_contact),
        ),
        (
            "/api/v1/alerts/contact-points/{name}/test",
            post(alerts::test_contact),
        ),
        ("/api/v1/alerts/dead-letters", get(alerts::dead_letters)),
        ("/api/v1/alerts/export", get(alerts::export)),
        ("/api/v1/alerts/import", post(alerts::import)),
    ]
}

/// The paths of the app's pages, as the Leptos router gives them to axum.
#[must_use]
pub fn page_paths() -> Vec<String> {
    generate_route_list(App)
        .iter()
        .map(|route| route.path().to_owned())
        .collect()
}

/// Builds the whole HTTP surface on `state`.
///
/// # Panics
/// A handler or page whose path the route table does not declare: a programming error, caught
/// by the tests and at start-up, never by a request.
pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(App);
    for page in &pages {
        assert!(
            routes::declared(page.path()).is_some(),
            "the page {} has no entry in http::routes::PAGES",
            page.path()
        );
    }
    let backend: SharedBackend = std::sync::Arc::new(state.store.clone());
    let alerts: app::api::backend::SharedAlerts =
        std::sync::Arc::new(crate::http::backend::AlertsFunction(state.alerting.clone()));
    let options = state.leptos_options.clone();
    let share_frame_ancestors = state.config.auth.share_frame_ancestors.clone();
    let context = move || {
        provide_context(backend.clone());
        provide_context(alerts.clone());
        page_security_policy(&share_frame_ancestors);
    };
    let mut router = Router::new();
    for (path, handler) in api_handlers() {
        assert!(
            routes::declared(path).is_some(),
            "the route {path} has no entry in http::routes::API"
        );
        router = router.route(path, handler);
    }
    router
        .leptos_routes_with_context(&state, pages, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server_fn_edge::edge,
        ))
        // Inside the guard, which puts the credential it accepted in the request.
        .layer(axum::middleware::from_fn(serving::admit_signed_in))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Gives a page being rendered its Content-Security-Policy, with the nonce Leptos puts on the
/// page's inline scripts; share link pages may be framed as configured, others not at all.
fn page_security_policy(share_frame_ancestors: &str) {
    use leptos::prelude::{use_context, use_nonce};
    let (Some(nonce), Some(response), Some(parts)) = (
        use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
        use_context::<axum::http::request::Parts>(),
    ) else {
        return;
    };
    let frame_ancestors = if parts.uri.path().starts_with("/s/") {
        share_frame_ancestors
    } else {
        "'none'"
    };
    let policy = auth::page_security_policy(&nonce, frame_ancestors);
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::http::routes::{API, PAGES, SERVER_FN_PREFIX};

    // The Leptos route list is made on a runtime.
    #[tokio::test]
    async fn every_route_served_is_in_the_access_table_and_back() {
        let served: BTreeSet<&str> = api_handlers().iter().map(|(path, _)| *path).collect();
        let declared: BTreeSet<&str> = API.iter().map(|route| route.path).collect();
        assert_eq!(
            served, declared,
            "API handlers and the table's API routes differ"
        );
        let pages: BTreeSet<String> = page_paths().into_iter().collect();
        let declared: BTreeSet<String> = PAGES.iter().map(|route| route.path.to_owned()).collect();
        assert_eq!(
            pages, declared,
            "the app's pages and the table's PAGES differ"
        );
        for page in &pages {
            assert!(routes::declared(page).is_some(), "{page}");
        }
    }

    #[test]
    fn server_functions_are_all_under_their_prefix() {
        let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
        assert!(
            functions.len() > 20,
            "server functions are registered: {functions:?}"
        );
        for (path, _) in functions {
            assert!(path.starts_with(SERVER_FN_PREFIX), "{path}");
        }
    }
}
