//! The browser app: the document and routes ([`app`]), the pages, a dashboard's view and its
//! editor, the widgets and the charts they draw, and what several of them share.
//!
//! Where a change belongs: a page of its own → [`pages`]; a dashboard as viewers see it (grid,
//! live data, time range, share links) → [`dashboard`]; editing one → [`editor`]; what a widget
//! kind draws → [`widgets`]; drawing with plotters → [`charts`]; JSON, the live socket, the
//! connection status, identity and the metric picker → [`shared`].

pub mod app;
pub mod charts;
pub mod dashboard;
pub mod editor;
pub mod pages;
pub mod shared;
pub mod widgets;

pub use app::{App, shell};
pub use pages::dashboards::DashboardsPage;
pub use pages::explore::ExplorePage;
pub use pages::values::LiveValuesPage;
pub use shared::status::ConnectionStatus;
#[cfg(feature = "hydrate")]
pub use widgets::body::load_kinds_shown;
