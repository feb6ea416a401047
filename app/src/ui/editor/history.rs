//! The version list: preview any version, restore it as the newest.

use leptos::either::Either;
use leptos::prelude::*;

use crate::api::{dashboard_history, get_dashboard};
use crate::dashboard::Dashboard;
use crate::model::format_utc;
use crate::ui::shared::browser::browser_task;
use crate::ui::shared::json;

/// The version list: preview any version, restore it as the newest.
#[component]
pub fn History(
    id: String,
    changes: RwSignal<u32>,
    preview: RwSignal<Option<Dashboard>>,
    restore: Callback<u64>,
) -> impl IntoView {
    let versions = {
        let id = id.clone();
        json::resource(
            move || changes.get(),
            move |_| dashboard_history(id.clone()),
        )
    };
    let show = {
        let id = id.clone();
        browser_task(move |version: u64| {
            let id = id.clone();
            async move {
                if let Ok(dashboard) = get_dashboard(id, Some(version)).await {
                    preview.set(Some(dashboard));
                }
            }
        })
    };
    view! {
        <aside class="panel history" aria-label="Versions" data-testid="history">
            <h2>"Versions"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(list) => Either::Left(view! {
                            <ol class="versions">
                                {list.into_iter().map(|info| {
                                    let version = info.version;
                                    view! {
                                        <li data-testid="version" data-version=version>
                                            <span class="version-number">{format!("v{version}")}</span>
                                            <span class="version-meta">{format!("{} · {}", format_utc(info.saved_at), info.saved_by)}</span>
                                            <span class="version-summary">{info.summary.clone()}</span>
                                            <button class="button secondary" type="button" data-testid="preview-version"
                                                on:click=move |_| { show.run(version); }>"Preview"</button>
                                            <button class="button secondary" type="button" data-testid="restore-from-list"
                                                on:click=move |_| { restore.run(version); }>"Restore"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }),
                        Err(error) => Either::Right(view! { <p class="error" role="alert">{error.to_string()}</p> }),
                    }
                })}
            </Transition>
        </aside>
    }
}
