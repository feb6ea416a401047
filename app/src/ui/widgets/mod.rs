//! The widgets of a dashboard, each drawn from its live view: the body by kind (and which kinds
//! load as chunks of their own), charts, stats and gauges, tables, notes, the analytics
//! and web analytics widgets; and a fresh widget of a kind, as the editor and Explore add one.

pub mod analytics;
pub mod body;
pub mod chart_body;
pub mod context;
pub mod fresh;
pub mod note;
pub mod rows;
pub mod stat;
pub mod web;
