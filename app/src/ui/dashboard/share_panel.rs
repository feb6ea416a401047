//! A dashboard's share links: create one (optionally expiring), copy it, list and revoke them.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::ui::shared::browser::browser_task;
use crate::ui::shared::json;

use crate::api::{create_share_link, revoke_share_link, share_links};
use crate::dashboard::ShareLink;
use crate::model::format_utc;

/// Expiry choices, in ms (`None`: never).
const EXPIRIES: [(&str, Option<i64>); 5] = [
    ("Never", None),
    ("1 hour", Some(3_600_000)),
    ("1 day", Some(86_400_000)),
    ("7 days", Some(7 * 86_400_000)),
    ("30 days", Some(30 * 86_400_000)),
];

/// The share panel of dashboard `id`, in a WASM chunk of its own: only owners open it, so a
/// dashboard's viewers do not download it.
#[lazy]
pub async fn share_panel(id: String) -> AnyView {
    view! { <SharePanel id /> }.into_any()
}

#[component]
fn SharePanel(id: String) -> impl IntoView {
    let changes = RwSignal::new(0u32);
    let links = {
        let id = id.clone();
        json::resource(move || changes.get(), move |_| share_links(id.clone()))
    };
    let label = RwSignal::new(String::new());
    let expiry = RwSignal::new(0usize);
    let created = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let create = {
        let id = id.clone();
        browser_task(move |(): ()| {
            let (id, label) = (id.clone(), label.get_untracked());
            let expires_in_ms = EXPIRIES[expiry.get_untracked()].1;
            async move {
                match create_share_link(id, label, expires_in_ms).await {
                    Ok(made) => {
                        created.set(Some(share_address(&made.token)));
                        problem.set(None);
                    }
                    Err(error) => problem.set(Some(error.to_string())),
                }
                changes.update(|count| *count += 1);
            }
        })
    };
    let revoke = {
        let id = id.clone();
        browser_task(move |link: String| {
            let id = id.clone();
            async move {
                if let Err(error) = revoke_share_link(id, link).await {
                    problem.set(Some(error.to_string()));
                }
                changes.update(|count| *count += 1);
            }
        })
    };
    view! {
        <aside class="panel share-panel" data-testid="share-panel" aria-label="Share links">
            <h2>"Share links"</h2>
            <p class="note">"Anyone with a link sees this dashboard live, read-only, until the link is revoked or expires."</p>
            <form class="toolbar" on:submit=move |event| {
                event.prevent_default();
                create.run(());
            }>
                <input type="text" placeholder="Label (who it is for)" aria-label="Link label"
                    maxlength="200" data-testid="share-label"
                    prop:value=move || label.get() on:input=move |event| label.set(event_target_value(&event)) />
                <select aria-label="Expires" data-testid="share-expiry"
                    on:change=move |event| expiry.set(event_target_value(&event).parse().unwrap_or(0))>
                    {EXPIRIES.iter().enumerate().map(|(index, (name, _))| view! {
                        <option value=index.to_string()>{format!("Expires: {name}")}</option>
                    }).collect_view()}
                </select>
                <button class="button secondary" type="submit" data-testid="create-share">"Create link"</button>
            </form>
            {move || created.get().map(|address| view! {
                <div class="created-link">
                    <span>"New link (shown once):"</span>
                    <input type="text" readonly aria-label="New share link" data-testid="share-url" prop:value=address.clone()
                        on:focus=move |event| {
                            #[cfg(feature = "hydrate")]
                            {
                                use wasm_bindgen::JsCast;
                                if let Some(input) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                    input.select();
                                }
                            }
                            #[cfg(not(feature = "hydrate"))]
                            let _ = event;
                        } />
                </div>
            })}
            {move || problem.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match links.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"No links yet."</p> }),
                        Ok(list) => EitherOf3::B(view! {
                            <table class="values" data-testid="share-links">
                                <thead><tr><th>"Label"</th><th>"Created"</th><th>"Expires"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|link| link_row(link, revoke)).collect_view()}
                                </tbody>
                            </table>
                        }),
                        Err(error) => EitherOf3::C(view! { <p class="error" role="alert">{error.to_string()}</p> }),
                    }
                })}
            </Transition>
        </aside>
    }
}

fn link_row(link: ShareLink, revoke: Callback<String>) -> impl IntoView {
    let id = link.id.clone();
    view! {
        <tr data-testid="share-link">
            <td>{if link.label.is_empty() { "(no label)".to_owned() } else { link.label.clone() }}</td>
            <td>{format_utc(link.created_at)}</td>
            <td>{link.expires_at.map_or_else(|| "never".to_owned(), format_utc)}</td>
            <td>
                <button class="button danger" type="button" data-testid="revoke-share"
                    on:click=move |_| { revoke.run(id.clone()); }>"Revoke"</button>
            </td>
        </tr>
    }
}

/// The full address of a share link with `token`.
fn share_address(token: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Some(origin) = web_sys::window().and_then(|window| window.location().origin().ok()) {
        return format!("{origin}/s/{token}");
    }
    format!("/s/{token}")
}
