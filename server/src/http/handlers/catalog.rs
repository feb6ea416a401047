//! Reading: `GET /api/v1/query`, and the catalog (series, metric names, labels) for
//! autocomplete.

use axum::Json;
use axum::extract::{Query, State};

use app::clock::now_ms;

use crate::http::error::AppError;
use crate::http::state::AppState;
use app::query::{QueryResult, Selector};

use crate::http::query_params::{BadParameter, QueryParams};
use crate::storage::catalog::{LabelListing, NamePage, SeriesPage};

/// `GET /api/v1/query`: see [`crate::http::query_params`].
pub async fn query(
    State(state): State<AppState>,
    Query(params): Query<QueryParams>,
) -> Result<Json<QueryResult>, AppError> {
    let query = params.into_query()?;
    Ok(Json(state.store.query(&query, now_ms()).await?))
}

/// Parameters of the catalog endpoints.
#[derive(Debug, serde::Deserialize)]
pub struct CatalogParams {
    /// A selector (`series`, `labels`).
    #[serde(rename = "match")]
    selector: Option<String>,
    /// A name or value prefix (`names`, `labels`).
    prefix: Option<String>,
    /// The last name of the previous page (`names`).
    after: Option<String>,
    /// Where the page starts (`series`).
    offset: Option<usize>,
    /// Page size (default 100, at most 1000).
    limit: Option<usize>,
}

impl CatalogParams {
    fn selector(&self) -> Result<Selector, BadParameter> {
        let text = self.selector.as_deref().ok_or_else(|| BadParameter {
            name: "match",
            reason: "missing; give a selector such as http_requests{route=\"/api\"}".into(),
        })?;
        Selector::parse(text).map_err(|error| BadParameter {
            name: "match",
            reason: error.to_string(),
        })
    }

    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_CATALOG_LIMIT)
    }
}

/// Catalog page size when none is asked for.
const DEFAULT_CATALOG_LIMIT: usize = 100;

/// `GET /api/v1/series?match=…&offset=&limit=`: the series a selector matches.
pub async fn series(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<SeriesPage>, AppError> {
    let selector = params.selector()?;
    let page = state
        .store
        .list_series(&selector, params.offset.unwrap_or(0), params.limit())
        .await?;
    Ok(Json(page))
}

/// `GET /api/v1/series/names?prefix=&after=&limit=`: metric names, for autocomplete.
pub async fn metric_names(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<NamePage>, AppError> {
    let page = state
        .store
        .metric_names(
            params.prefix.as_deref().unwrap_or(""),
            params.after.as_deref(),
            params.limit(),
        )
        .await?;
    Ok(Json(page))
}

/// `GET /api/v1/series/labels?match=…&prefix=&limit=`: label names and values of a selector's
/// series, for autocomplete.
pub async fn labels(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<LabelListing>, AppError> {
    let selector = params.selector()?;
    let listing = state
        .store
        .list_labels(
            &selector,
            params.prefix.as_deref().unwrap_or(""),
            params.limit(),
        )
        .await?;
    Ok(Json(listing))
}
