//! The live connection's state, and the pill that shows it.

use leptos::prelude::*;

/// The state of a page's live connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Before the first connection is open (and on the server, which never connects).
    Connecting,
    /// Open, and the data is current.
    Live,
    /// Open, but the server lost its own feed of changes for a moment: updates are delayed
    /// and will be filled in.
    Degraded { reason: String },
    /// Lost; the next attempt follows after `in_ms`. `reason` is what the server said when
    /// it closed the connection, or what the browser saw.
    Reconnecting { in_ms: u32, reason: String },
    /// Closed for good: the access it was opened with ended (a revoked share link); `reason`
    /// is the server's.
    Ended { reason: String },
}

/// "Live", "Connecting…", "Delayed (…)", "Reconnecting… (…)" or "Ended: …", with a coloured
/// dot.
#[component]
pub fn StatusPill(status: RwSignal<ConnectionStatus>) -> impl IntoView {
    let text = move || match status.get() {
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Live => "Live".to_owned(),
        ConnectionStatus::Degraded { reason } => format!("Delayed ({reason})"),
        ConnectionStatus::Reconnecting { reason, .. } => format!("Reconnecting… ({reason})"),
        ConnectionStatus::Ended { reason } => format!("Ended: {reason}"),
    };
    let class = move || match status.get() {
        ConnectionStatus::Live => "pill pill-live",
        ConnectionStatus::Connecting | ConnectionStatus::Degraded { .. } => "pill pill-wait",
        ConnectionStatus::Reconnecting { .. } | ConnectionStatus::Ended { .. } => "pill pill-down",
    };
    let title = move || match status.get() {
        ConnectionStatus::Reconnecting { in_ms, .. } => {
            format!("Next attempt in {:.1} s", f64::from(in_ms) / 1000.0)
        }
        _ => String::new(),
    };
    view! {
        <span class=class title=title role="status" aria-live="polite" data-testid="live-status">
            <span class="pill-dot" aria-hidden="true"></span>
            {text}
        </span>
    }
}

/// While the server cannot reach Redis, a banner that says what that means for the page: the
/// pill alone is easy to miss on a wall display.
#[component]
pub fn StorageBanner(status: RwSignal<ConnectionStatus>) -> impl IntoView {
    move || match status.get() {
        ConnectionStatus::Degraded { reason } => Some(view! {
            <p class="error banner" role="alert" data-testid="storage-banner">
                <strong>"Storage unavailable."</strong>
                {format!(
                    " livedash cannot reach Redis ({reason}). Panels keep what they show and catch \
                     up by themselves once Redis is back; meanwhile writes are refused (503, retry \
                     later)."
                )}
            </p>
        }),
        _ => None,
    }
}
