//! The HTTP edge: routes and the access each needs, the guard that enforces it, the handlers,
//! the server functions' backend, the one mapping of failures to responses, connection serving
//! and rate limits. Only this folder knows axum's request and response types (the live
//! socket's loop excepted: it speaks WebSocket).

pub mod auth;
pub mod backend;
pub mod body;
pub mod error;
pub mod handlers;
pub mod idempotency;
pub mod json_body;
pub mod query_params;
pub mod rate_limit;
pub mod router;
pub mod routes;
pub mod server_fn_edge;
pub mod serving;
pub mod state;
