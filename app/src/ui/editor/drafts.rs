//! Unsaved edits kept in the browser's local storage until they are saved or discarded.

#[cfg(feature = "hydrate")]
use crate::clock::now_ms;
use crate::dashboard::Dashboard;
#[cfg(feature = "hydrate")]
use crate::ui::shared::json;

/// The local-storage key of a dashboard's unsaved draft.
fn draft_key(id: &str) -> String {
    format!("livedash:draft:{id}")
}

/// An unsaved draft kept in the browser.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct StoredDraft {
    /// ms since the epoch.
    pub kept_at: i64,
    pub dashboard: Dashboard,
}

#[cfg(feature = "hydrate")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn read_draft(id: &str) -> Option<StoredDraft> {
    #[cfg(feature = "hydrate")]
    {
        let text = local_storage()?.get_item(&draft_key(id)).ok().flatten()?;
        json::from_text(&text).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = draft_key(id);
        None
    }
}

pub fn write_draft(id: &str, draft: Option<&Dashboard>) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = local_storage() {
        let key = draft_key(id);
        let _ = match draft {
            Some(dashboard) => serde_json::to_string(&StoredDraft {
                kept_at: now_ms(),
                dashboard: dashboard.clone(),
            })
            .map(|json| storage.set_item(&key, &json)),
            None => Ok(storage.remove_item(&key)),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, draft);
}
