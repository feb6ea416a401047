//! `/alerts`: firing alerts, rules with their state, the rule editor with its preview, the
//! history of transitions, silences, contact points and dead letters. Everything comes from
//! one server function (`alerts`); the page refreshes whenever an alert's state changes, which
//! it learns live from the `livedash_alert_state` series.

mod contacts;
mod draft;
mod editor;
mod page;
mod shared;
mod tables;

pub use page::AlertsPage;
