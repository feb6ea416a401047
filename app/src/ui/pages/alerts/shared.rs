//! What the parts of the Alerts page share: asking the server, the page's state, and how
//! times, labels and transitions read.

use leptos::prelude::*;

use super::draft::Draft;
use crate::alerts::api::{AlertsAnswer, AlertsCall, HistoryEntry};
use crate::api::ApiError;

/// Asks the server; what it answered, or why not.
pub async fn ask(call: AlertsCall) -> Result<AlertsAnswer, ApiError> {
    crate::api::alerts(call).await
}

/// What every part of the page shares: bump `changes` to reload, `problem` to show an error.
#[derive(Clone, Copy)]
pub struct PageState {
    pub changes: RwSignal<u32>,
    pub problem: RwSignal<Option<String>>,
    /// The rule being edited (a new one when its id is empty).
    pub editing: RwSignal<Option<Draft>>,
}

impl PageState {
    /// Shows `result`'s error, if any, and reloads.
    pub fn report<T>(&self, result: Result<T, ApiError>) -> Option<T> {
        self.changes.update(|count| *count += 1);
        match result {
            Ok(value) => {
                self.problem.set(None);
                Some(value)
            }
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                None
            }
        }
    }
}

/// A time as people read it.
pub fn when(ms: i64) -> String {
    crate::model::format_utc(ms)
}

/// Labels as `name=value, …`, without `alertname` (shown on its own).
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .filter(|(name, _)| *name != "alertname")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a history entry says, in a line.
pub fn transition_text(entry: &HistoryEntry) -> String {
    format!(
        "{} → {}",
        entry.from.name().replace('_', " "),
        entry.to.name().replace('_', " ")
    )
}
