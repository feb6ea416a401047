//! A dashboard as stored and exported (title, range, widgets, version), the list entry, saved
//! versions, share links and what a save did.

use serde::{Deserialize, Serialize};

use crate::dashboard::widget::Widget;

/// A saved dashboard, as stored and exported.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Dashboard {
    /// Opaque identifier, given by the server.
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The range the dashboard opens with.
    #[serde(default)]
    pub range: DashboardRange,
    #[serde(default)]
    pub widgets: Vec<Widget>,
    /// The version this content is (0 before the first save).
    #[serde(default)]
    pub version: u64,
}

/// The time range a dashboard opens with (the URL can override it).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DashboardRange {
    /// The last `ms` milliseconds, moving with now.
    Last { ms: i64 },
    /// A fixed span, ms since the epoch.
    Absolute { from: i64, to: i64 },
}

impl Default for DashboardRange {
    fn default() -> Self {
        Self::Last { ms: 3_600_000 }
    }
}

/// A dashboard in the list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub version: u64,
    /// When the current version was saved, ms since the epoch.
    pub saved_at: i64,
    pub widgets: usize,
}

/// One saved version, without its content.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VersionInfo {
    pub version: u64,
    /// ms since the epoch.
    pub saved_at: i64,
    pub saved_by: String,
    pub summary: String,
}

/// A read-only, live link to one dashboard.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ShareLink {
    /// Identifies the link for listing and revoking (not the token).
    pub id: String,
    /// The dashboard it shows.
    pub dashboard: String,
    #[serde(default)]
    pub label: String,
    /// ms since the epoch.
    pub created_at: i64,
    /// When it stops working, ms since the epoch; never when absent.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// A link just made, with its token: shown once, then only its hash is kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CreatedShareLink {
    pub token: String,
    pub link: ShareLink,
}

/// What a save did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SaveOutcome {
    /// Stored as this version.
    Saved { version: VersionInfo },
    /// Someone saved a newer version since the one the edit started from; nothing was stored.
    Conflict { current: VersionInfo },
}

impl Dashboard {
    /// An empty dashboard called `title`.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            title: title.into(),
            description: String::new(),
            range: DashboardRange::default(),
            widgets: Vec::new(),
            version: 0,
        }
    }
}
