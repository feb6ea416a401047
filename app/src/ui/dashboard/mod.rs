//! A dashboard as viewers see it: the view and share-link pages, the grid and its widget frames,
//! the live data that feeds them, the time range, and the share panel. The editor builds on
//! the grid, data and range parts.

pub mod data;
pub mod feed;
pub mod frame;
pub mod range;
pub mod share_panel;
pub mod view;
