//! The dashboard list: search, create, duplicate, delete (after a confirmation), import and
//! export as JSON files.

use leptos::prelude::*;

use crate::ui::shared::browser::browser_task;
use crate::ui::shared::json;

use crate::api::{ApiError, create_dashboard, delete_dashboard, get_dashboard, list_dashboards};
use crate::dashboard::{Dashboard, DashboardSummary};
use crate::model::format_utc;

/// Lists every dashboard.
#[component]
pub fn DashboardsPage() -> impl IntoView {
    // Bumped after every change, so the list is read again.
    let changes = RwSignal::new(0u32);
    let dashboards = json::resource(move || changes.get(), |_| list_dashboards());
    let search = RwSignal::new(String::new());
    // What the last action did or why it failed, for the status line.
    let outcome: RwSignal<Option<Result<String, String>>> = RwSignal::new(None);
    let report = move |result: Result<String, ApiError>| {
        outcome.set(Some(result.map_err(|error| error.to_string())));
        changes.update(|count| *count += 1);
    };

    let new_title = RwSignal::new(String::new());
    let navigate = leptos_router::hooks::use_navigate();
    // A new dashboard opens in the editor, ready for its first widget.
    let create = browser_task(move |title: String| {
        let dashboard = Dashboard::new(title.trim());
        let navigate = navigate.clone();
        async move {
            match create_dashboard(dashboard, "Created".into()).await {
                Ok(created) => navigate(&format!("/d/{}/edit", created.id), Default::default()),
                Err(error) => report(Err(error)),
            }
        }
    });

    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Dashboards"</h1>
                <input
                    class="search"
                    type="search"
                    placeholder="Search by title"
                    aria-label="Search dashboards"
                    data-testid="dashboard-search"
                    prop:value=move || search.get()
                    on:input=move |event| search.set(event_target_value(&event))
                />
            </div>
            <Show when=crate::ui::shared::identity::can_edit()>
            <form
                class="toolbar"
                on:submit=move |event| {
                    event.prevent_default();
                    create.run(new_title.get_untracked());
                }
            >
                <input
                    type="text"
                    placeholder="New dashboard title"
                    aria-label="New dashboard title"
                    data-testid="new-dashboard-title"
                    maxlength="200"
                    required
                    prop:value=move || new_title.get()
                    on:input=move |event| new_title.set(event_target_value(&event))
                />
                <button type="submit" class="button">"Create"</button>
                <ImportButton report />
            </form>
            </Show>
            {move || {
                outcome
                    .get()
                    .map(|outcome| match outcome {
                        Ok(message) => view! { <p class="note" role="status">{message}</p> }.into_any(),
                        Err(message) => {
                            view! {
                                <p class="error" role="alert" data-testid="dashboard-error">
                                    {message}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboards.await {
                        Ok(list) => view! { <DashboardTable list search report /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load dashboards: {error}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DashboardTable(
    list: Vec<DashboardSummary>,
    search: RwSignal<String>,
    report: impl Fn(Result<String, ApiError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty">"No dashboards yet. Give the first one a title above, or import one."</p>
        }
            .into_any();
    }
    let shown = move || {
        let needle = search.get().to_lowercase();
        list.iter()
            .filter(|summary| summary.title.to_lowercase().contains(needle.trim()))
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <table class="values dashboards">
            <thead>
                <tr>
                    <th scope="col">"Title"</th>
                    <th scope="col" class="num">"Widgets"</th>
                    <th scope="col" class="num">"Version"</th>
                    <th scope="col">"Saved"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                <For each=shown key=|summary| (summary.id.clone(), summary.version) let:summary>
                    <DashboardRow summary report />
                </For>
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn DashboardRow(
    summary: DashboardSummary,
    report: impl Fn(Result<String, ApiError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let id = summary.id.clone();
    let title = summary.title.clone();
    let duplicate = browser_task({
        let id = id.clone();
        move |(): ()| {
            let id = id.clone();
            async move {
                let copied = async {
                    let mut dashboard = get_dashboard(id, None).await?;
                    let source = dashboard.title.clone();
                    dashboard.title = copy_title(&source);
                    create_dashboard(dashboard, format!("Duplicated from “{source}”")).await
                }
                .await;
                report(copied.map(|dashboard| format!("Created “{}”.", dashboard.title)));
            }
        }
    });
    let delete = browser_task({
        let (id, title) = (id.clone(), title.clone());
        move |(): ()| {
            let (id, title) = (id.clone(), title.clone());
            async move {
                let deleted = delete_dashboard(id).await;
                report(deleted.map(|()| format!("Deleted “{title}”.")));
            }
        }
    });
    let export = format!("/api/v1/dashboards/{id}/export");
    view! {
        <tr data-dashboard=id.clone()>
            <td class="title">
                <a href=format!("/d/{id}") data-testid="dashboard-link">{title.clone()}</a>
            </td>
            <td class="num">{summary.widgets}</td>
            <td class="num">{summary.version}</td>
            <td class="time">{format_utc(summary.saved_at)}</td>
            <td class="actions">
                <div class="row-actions">
                <Show
                    when=move || confirming.get()
                    fallback=move || {
                        view! {
                            <a class="button secondary" href=export.clone() download>"Export"</a>
                            <Show when=crate::ui::shared::identity::can_edit()>
                                <button
                                    type="button"
                                    class="button secondary"
                                    on:click=move |_| { duplicate.run(()); }
                                >
                                    "Duplicate"
                                </button>
                                <button
                                    type="button"
                                    class="button danger"
                                    on:click=move |_| confirming.set(true)
                                >
                                    "Delete"
                                </button>
                            </Show>
                        }
                    }
                >
                    <span class="confirm" role="group" aria-label="Confirm deletion">
                        {format!("Delete “{title}” and its history?")}
                        <button
                            type="button"
                            class="button danger"
                            on:click=move |_| { delete.run(()); }
                        >
                            "Delete for good"
                        </button>
                        <button
                            type="button"
                            class="button secondary"
                            on:click=move |_| confirming.set(false)
                        >
                            "Cancel"
                        </button>
                    </span>
                </Show>
                </div>
            </td>
        </tr>
    }
}

/// The title of a copy: "Copy of …", within the title limit.
fn copy_title(title: &str) -> String {
    let copy = format!("Copy of {title}");
    copy.chars()
        .take(crate::dashboard::MAX_TITLE_CHARS)
        .collect()
}

/// A file picker that imports a dashboard exported as JSON.
#[component]
fn ImportButton(
    report: impl Fn(Result<String, ApiError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let on_change = move |event: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let name = file.name();
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|text| text.as_string())
                .unwrap_or_default();
            let imported = match import_from(&text, &name) {
                Ok(dashboard) => create_dashboard(dashboard, format!("Imported from {name}"))
                    .await
                    .map(|dashboard| format!("Imported “{}”.", dashboard.title)),
                Err(error) => Err(error),
            };
            report(imported);
        });
    };
    #[cfg(not(feature = "hydrate"))]
    let on_change = move |_: leptos::ev::Event| {
        let _ = report;
    };
    view! {
        <label class="button secondary">
            "Import…"
            <input
                type="file"
                accept="application/json,.json"
                class="visually-hidden"
                data-testid="import-dashboard"
                on:change=on_change
            />
        </label>
    }
}

/// Reads an exported dashboard; it gets a new id and starts a new history when imported.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn import_from(text: &str, name: &str) -> Result<Dashboard, ApiError> {
    let mut dashboard: Dashboard = json::from_text(text).map_err(|error| {
        ApiError::Invalid(format!("{name} is not a livedash dashboard: {error}"))
    })?;
    dashboard.id = String::new();
    dashboard.version = 0;
    Ok(dashboard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies are named after their source, within the limit; imports drop id and version.
    #[test]
    fn copies_and_imports() {
        assert_eq!(copy_title("Ops"), "Copy of Ops");
        let long = "x".repeat(crate::dashboard::MAX_TITLE_CHARS);
        assert_eq!(
            copy_title(&long).chars().count(),
            crate::dashboard::MAX_TITLE_CHARS
        );
        let imported = import_from(
            r#"{"id":"0123456789abcdef","title":"T","version":7}"#,
            "t.json",
        )
        .unwrap();
        assert_eq!((imported.id.as_str(), imported.version), ("", 0));
        let refused = import_from("{\"widgets\":[]}", "bad.json").unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("bad.json is not a livedash dashboard")
        );
    }
}
