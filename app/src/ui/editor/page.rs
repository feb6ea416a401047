//! `/d/:id/edit`: the editor page: title, range, undo and redo, saving with conflict detection
//! (reload theirs, overwrite, or save a copy), kept drafts, version previews, and the palette,
//! grid and side panel around the draft.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{create_dashboard, get_dashboard, restore_dashboard, save_dashboard};
use crate::dashboard::{Dashboard, SaveOutcome, VersionInfo, Widget};
use crate::model::format_utc;
use crate::ui::dashboard::feed::dashboard_data;
use crate::ui::dashboard::frame::ReadOnlyGrid;
use crate::ui::dashboard::range::RangePicker;
use crate::ui::editor::drafts::{StoredDraft, read_draft, write_draft};
use crate::ui::editor::grid::{EditableGrid, Palette, install_dragging};
use crate::ui::editor::history::History;
use crate::ui::editor::side_panel::SidePanel;
use crate::ui::editor::state::{Editor, same_content};
use crate::ui::editor::window_events::{install_leave_guard, install_shortcuts};
use crate::ui::shared::browser::{browser_task, hydrated};
use crate::ui::shared::json;
use crate::ui::shared::status::{StatusPill, StorageBanner};

/// `/d/:id/edit`.
#[component]
pub fn DashboardEditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let dashboard = json::resource(id, |id| get_dashboard(id, None));
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <EditorView dashboard /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="dashboard-error">{error.to_string()}</p>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// What the save conflict dialog offers.
#[derive(Clone, Debug, PartialEq)]
struct Conflict {
    current: VersionInfo,
}

#[component]
fn EditorView(dashboard: Dashboard) -> impl IntoView {
    let id = dashboard.id.clone();
    let editor = Editor::new(dashboard);
    let preview = RwSignal::new(None::<Dashboard>);
    // Memos: widgets read these many times per live update.
    let widgets: Signal<Vec<Widget>> = Memo::new(move |_| match preview.get() {
        Some(version) => version.widgets,
        None => editor.draft.with(|draft| draft.widgets.clone()),
    })
    .into();
    let range = Memo::new(move |_| editor.draft.with(|draft| draft.range));
    let data = dashboard_data(widgets, range.into(), None);
    let summary = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let conflict = RwSignal::new(None::<Conflict>);
    let history_open = RwSignal::new(false);
    let history_changes = RwSignal::new(0u32);
    // Read after hydration: the server cannot know what this browser kept.
    let offered_draft = RwSignal::new(None::<StoredDraft>);
    {
        let id = id.clone();
        Effect::new(move |_| {
            let kept = read_draft(&id).filter(|stored| {
                editor
                    .saved
                    .with_untracked(|saved| !same_content(saved, &stored.dashboard))
            });
            offered_draft.set(kept);
        });
    }
    let navigate = use_navigate();

    // Unsaved edits are kept in the browser until saved or discarded.
    {
        let id = id.clone();
        Effect::new(move |first: Option<()>| {
            let dirty = editor.dirty();
            let draft = editor.draft.get();
            // The first run comes before the kept draft was read; an offer stands until
            // answered.
            if first.is_some() && offered_draft.with_untracked(Option::is_none) {
                write_draft(&id, dirty.then_some(&draft));
            }
        });
    }

    let save = {
        let id = id.clone();
        browser_task(move |overwrite: Option<u64>| {
            let mut dashboard = editor.draft.get_untracked();
            if let Some(version) = overwrite {
                dashboard.version = version;
            }
            let summary_text = summary.get_untracked();
            let id = id.clone();
            async move {
                if let Err(invalid) = dashboard.validate() {
                    message.set(Some(Err(format!("Not saved: {invalid}"))));
                    return;
                }
                let summary_text = if summary_text.trim().is_empty() {
                    "Edited".to_owned()
                } else {
                    summary_text
                };
                match save_dashboard(dashboard.clone(), summary_text).await {
                    Ok(SaveOutcome::Saved { version }) => {
                        let saved_version = version.version;
                        // Edits made while the save was under way stay in the draft.
                        editor.saved.set(Dashboard {
                            version: saved_version,
                            ..dashboard
                        });
                        editor.draft.update(|draft| draft.version = saved_version);
                        summary.set(String::new());
                        conflict.set(None);
                        if !editor.dirty() {
                            write_draft(&id, None);
                        }
                        history_changes.update(|count| *count += 1);
                        message.set(Some(Ok(format!("Saved as version {saved_version}."))));
                    }
                    Ok(SaveOutcome::Conflict { current }) => {
                        conflict.set(Some(Conflict { current }));
                    }
                    Err(error) => message.set(Some(Err(format!("Not saved: {error}")))),
                }
            }
        })
    };

    let reload = {
        let id = id.clone();
        browser_task(move |(): ()| {
            let id = id.clone();
            async move {
                match get_dashboard(id.clone(), None).await {
                    Ok(current) => {
                        editor.reset(current);
                        write_draft(&id, None);
                        conflict.set(None);
                        message.set(Some(Ok("Reloaded the current version.".into())));
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    let save_copy = {
        let navigate = navigate.clone();
        browser_task(move |(): ()| {
            let mut copy = editor.draft.get_untracked();
            copy.title = format!("{} (copy)", copy.title);
            copy.id = String::new();
            copy.version = 0;
            let navigate = navigate.clone();
            async move {
                match create_dashboard(copy, "Saved as a copy after a conflict".into()).await {
                    Ok(created) => {
                        editor.reset(editor.saved.get_untracked());
                        conflict.set(None);
                        navigate(&format!("/d/{}/edit", created.id), Default::default());
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    let restore = {
        let id = id.clone();
        browser_task(move |version: u64| {
            let id = id.clone();
            let base = editor.saved.with_untracked(|saved| saved.version);
            async move {
                match restore_dashboard(id.clone(), version, base).await {
                    Ok(SaveOutcome::Saved { version: made }) => {
                        if let Ok(current) = get_dashboard(id.clone(), None).await {
                            editor.reset(current);
                        }
                        write_draft(&id, None);
                        preview.set(None);
                        history_changes.update(|count| *count += 1);
                        message.set(Some(Ok(format!(
                            "Restored version {version} as version {}.",
                            made.version
                        ))));
                    }
                    Ok(SaveOutcome::Conflict { current }) => {
                        conflict.set(Some(Conflict { current }))
                    }
                    Err(error) => message.set(Some(Err(error.to_string()))),
                }
            }
        })
    };

    install_shortcuts(editor, save);
    install_leave_guard(editor);

    let grid = NodeRef::<leptos::html::Div>::new();
    install_dragging(editor, grid);

    let view_link = format!("/d/{id}");
    let draft_id = id.clone();
    view! {
        <section class="dashboard editor" data-testid="editor" data-ready=hydrated()>
            <div class="dashboard-head">
                <input
                    class="title-input"
                    type="text"
                    aria-label="Dashboard title"
                    data-testid="dashboard-title-input"
                    maxlength="200"
                    prop:value=move || editor.draft.with(|draft| draft.title.clone())
                    on:input=move |event| {
                        let title = event_target_value(&event);
                        editor.edit("title", |draft| draft.title = title);
                    }
                />
                <StatusPill status=data.status />
                <span class="save-state" data-testid="save-state">
                    {move || if editor.dirty() { "Unsaved changes" } else { "All changes saved" }}
                </span>
                <div class="spacer"></div>
                <RangePicker range=range.into() on_change=Callback::new(move |range| editor.edit("", |draft| draft.range = range)) />
                <button class="button secondary" type="button" data-testid="undo" title="Undo (Ctrl+Z)"
                    disabled=move || editor.undo.with(Vec::is_empty)
                    on:click=move |_| editor.undo()>"Undo"</button>
                <button class="button secondary" type="button" data-testid="redo" title="Redo (Ctrl+Shift+Z)"
                    disabled=move || editor.redo.with(Vec::is_empty)
                    on:click=move |_| editor.redo()>"Redo"</button>
                <button class="button secondary" type="button" data-testid="open-history"
                    on:click=move |_| history_open.update(|open| *open = !*open)>"History"</button>
                <form class="save-form" on:submit=move |event| {
                    event.prevent_default();
                    save.run(None);
                }>
                    <input type="text" placeholder="What changed (optional)" aria-label="Version summary"
                        maxlength="500" data-testid="save-summary"
                        prop:value=move || summary.get()
                        on:input=move |event| summary.set(event_target_value(&event)) />
                    <button class="button" type="submit" data-testid="save"
                        title="Save (Ctrl+S)">"Save"</button>
                </form>
                <a class="button secondary" href=view_link data-testid="done">"Done"</a>
            </div>
            <StorageBanner status=data.status />
            {move || message.get().map(|message| match message {
                Ok(text) => Either::Left(view! { <p class="note" role="status" data-testid="editor-message">{text}</p> }),
                Err(text) => Either::Right(view! { <p class="error" role="alert" data-testid="editor-error">{text}</p> }),
            })}
            {move || offered_draft.get().map(|stored| {
                let kept = stored.dashboard.clone();
                let draft_id = draft_id.clone();
                view! {
                    <div class="banner" role="alert" data-testid="draft-offer">
                        <span>{format!("Unsaved edits from {} were kept in this browser.", format_utc(stored.kept_at))}</span>
                        <button class="button" type="button" data-testid="restore-draft"
                            on:click=move |_| {
                                let kept = kept.clone();
                                editor.edit("", |draft| *draft = kept);
                                offered_draft.set(None);
                            }>"Restore them"</button>
                        <button class="button secondary" type="button" data-testid="discard-draft"
                            on:click={
                                let id = draft_id.clone();
                                move |_| {
                                    offered_draft.set(None);
                                    write_draft(&id, None);
                                }
                            }>"Discard"</button>
                    </div>
                }
            })}
            {move || conflict.get().map(|conflict| view! {
                <div class="dialog" role="alertdialog" aria-labelledby="conflict-title" data-testid="conflict">
                    <h2 id="conflict-title">"Someone saved a newer version"</h2>
                    <p>{format!(
                        "Version {} was saved by {} at {}{}. Your edits started from version {}.",
                        conflict.current.version,
                        conflict.current.saved_by,
                        format_utc(conflict.current.saved_at),
                        if conflict.current.summary.is_empty() { String::new() } else { format!(" (“{}”)", conflict.current.summary) },
                        editor.draft.with_untracked(|draft| draft.version),
                    )}</p>
                    <div class="dialog-actions">
                        <button class="button secondary" type="button" data-testid="conflict-reload"
                            on:click=move |_| { reload.run(()); }>"Reload theirs (drop mine)"</button>
                        <button class="button danger" type="button" data-testid="conflict-overwrite"
                            on:click=move |_| { save.run(Some(conflict.current.version)); }>"Overwrite with mine"</button>
                        <button class="button" type="button" data-testid="conflict-copy"
                            on:click=move |_| { save_copy.run(()); }>"Save mine as a copy"</button>
                    </div>
                </div>
            })}
            {move || preview.get().map(|shown| {
                let version = shown.version;
                view! {
                    <div class="banner" role="status" data-testid="preview-banner">
                        <span>{format!("Previewing version {version} (read-only).")}</span>
                        <button class="button" type="button" data-testid="restore-version"
                            on:click=move |_| { restore.run(version); }>"Restore this version"</button>
                        <button class="button secondary" type="button" data-testid="end-preview"
                            on:click=move |_| preview.set(None)>"Back to editing"</button>
                    </div>
                }
            })}
            <div class="editor-body">
                <Palette editor />
                <div class="grid-wrap">
                    <Show
                        when=move || preview.with(Option::is_none)
                        fallback=move || view! { <ReadOnlyGrid widgets data /> }
                    >
                        <EditableGrid editor data grid />
                    </Show>
                </div>
                {move || editor.selected.get().filter(|_| preview.with(Option::is_none)).map(|selected| view! {
                    <SidePanel editor id=selected />
                })}
            </div>
            <Show when=move || history_open.get()>
                <History id=id.clone() changes=history_changes preview restore />
            </Show>
        </section>
    }
}
