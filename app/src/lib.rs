//! The livedash Leptos app, shared by the server (`ssr`) and the browser (`hydrate`).
//!
//! # Layout
//! - [`model`]: series identity, samples and current values, with the validation rules that
//!   ingest enforces.
//! - [`alerts`]: alert rules, the per-instance state machine, templates, silences and
//!   contact points, and what the alerts API answers.
//! - [`dashboard`]: dashboards, widgets and the grid rules of the editor.
//! - [`events`]: analytics events, funnels, experiments and the reports their widgets show.
//! - [`web`]: web analytics' channels and device kinds.
//! - [`people`]: a person's summary and timeline, as shown and exported.
//! - [`live`]: the WebSocket protocol between the server's live hub and the browser.
//! - [`query`]: selectors, ranges, aggregations, and query results.
//! - [`analytics`]: the statistics of product analytics: intervals, p-values (also
//!   always-valid ones, for results watched live), stable experiment assignment, the funnel rule.
//! - [`auth`]: roles, credentials and the access each request needs, shared by the server
//!   (which enforces it) and the browser.
//! - [`api`]: server functions and the error type they return; under `ssr`, the
//!   [`api::backend`] trait that `server/` implements so that `app/` never touches Redis.
//! - [`widget_data`]: what each kind of widget shows, worked out from its live data.
//! - [`share_scope`]: what a share link may show (the server asks it before answering).
//! - [`markdown`]: notes' markdown read as blocks of plain text.
//! - [`format`]: numbers, counts and durations as people read them.
//! - [`clock`]: the one clock.
//! - [`random`]: a deterministic generator for simulations and tests.
//! - [`ui`]: the shell, the router, the pages, the dashboard view and editor, and the widgets.
//!
//! # Dependency rule
//!
//! The UI is on top and may use everything; below it, server functions and the share scope,
//! then what widgets show, the live protocol and analytics events, the domain types
//! (dashboards, series, roles), and at the bottom leaves that depend on nothing in the crate.
//!
//! ```text
//! ui
//! api | share_scope
//! widget_data | people
//! live | events | alerts
//! dashboard | model | auth
//! query | analytics | web | format | markdown | clock | random
//! ```
#![recursion_limit = "256"]

pub mod alerts;
pub mod analytics;
pub mod api;
pub mod auth;
pub mod clock;
pub mod dashboard;
pub mod events;
pub mod format;
pub mod live;
pub mod markdown;
pub mod model;
pub mod people;
pub mod query;
pub mod random;
pub mod share_scope;
pub mod ui;
pub mod web;
pub mod widget_data;

pub use ui::{App, shell};
