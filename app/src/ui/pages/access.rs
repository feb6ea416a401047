//! The Access page where admins manage API tokens, signed-in browsers and one-time sign-in
//! links.

use leptos::prelude::*;

use crate::api::{
    create_login_link, create_token, list_sessions, list_tokens, revoke_session, revoke_token,
};
use crate::auth::{MAX_LABEL_CHARS, Role, TokenScope};
use crate::model::format_utc;
use crate::ui::shared::browser::browser_task;
use crate::ui::shared::identity::Identity;
use crate::ui::shared::json;

/// `/access`: API tokens, signed-in browsers and sign-in links (admins only).
#[component]
pub fn AccessPage() -> impl IntoView {
    let changes = RwSignal::new(0u32);
    let tokens = json::resource(move || changes.get(), |_| list_tokens());
    let sessions = json::resource(move || changes.get(), |_| list_sessions());
    let identity = use_context::<Identity>();
    let this_session = move || {
        identity
            .and_then(|Identity(resource)| resource.get().flatten())
            .and_then(|who| who.session)
    };
    let problem = RwSignal::new(None::<String>);
    let report = move |result: Result<(), crate::api::ApiError>| {
        if let Err(error) = result {
            problem.set(Some(error.to_string()));
        } else {
            problem.set(None);
        }
        changes.update(|count| *count += 1);
    };
    let revoke_token = browser_task(move |id: String| async move {
        report(revoke_token(id).await);
    });
    let revoke_session = browser_task(move |id: String| async move {
        report(revoke_session(id).await);
    });
    view! {
        <div class="access-page">
            <section class="panel">
                <h1>"Access"</h1>
                {move || problem.get().map(|problem| view! {
                    <p class="error" role="alert" data-testid="access-error">{problem}</p>
                })}
                <h2>"API tokens"</h2>
                <p class="note">
                    "Services send metrics and events with an ingest token (" <code>"Authorization: Token …"</code> "); "
                    "scripts that read use a viewer token. A token can also sign a browser in with its role."
                </p>
                <p class="note" data-testid="web-page-token-note">
                    "In a web page (the tracking snippet, track.js), put only an ingest token with the scope "
                    <strong>"events only"</strong>
                    ": everyone who opens the page can read it, and it can do no more than send events and "
                    "ask for experiment variants. Services that write metrics get a token of their own."
                </p>
                <NewToken changes />
                <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match tokens.await {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-scroll"><table class="values" data-testid="tokens">
                                    <thead><tr>
                                        <th>"Label"</th><th>"Role"</th><th>"Created"</th><th>"By"</th><th>"Last used"</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|token| {
                                            let id = token.id.clone();
                                            view! {
                                                <tr data-token=token.id.clone()>
                                                    <td>{token.label}</td>
                                                    <td>
                                                        {token.role.name()}
                                                        // What an ingest token may write (the role says it for the others).
                                                        {(token.role == Role::Ingest).then(|| view! {
                                                            <div class="muted small" data-testid="token-scope-cell">{token.scope.label()}</div>
                                                        })}
                                                    </td>
                                                    <td class="time">{format_utc(token.created_at)}</td>
                                                    <td class="muted small">{token.created_by}</td>
                                                    <td class="time">{token.last_used_at.map_or_else(|| "never".to_owned(), format_utc)}</td>
                                                    <td class="actions">
                                                        <button type="button" class="button danger small" data-testid="revoke-token"
                                                            on:click=move |_| revoke_token.run(id.clone())>"Revoke"</button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }.into_any(),
                            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            <section class="panel">
                <h2>"Signed-in browsers"</h2>
                <NewLoginLink />
                <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No browser is signed in."</p> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-scroll"><table class="values" data-testid="sessions">
                                    <thead><tr>
                                        <th>"Signed in with"</th><th>"Role"</th><th>"Since"</th><th>"Until"</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|session| {
                                            let id = session.id.clone();
                                            let current = this_session().as_deref() == Some(session.id.as_str());
                                            view! {
                                                <tr data-session=session.id.clone()>
                                                    <td>
                                                        {session.via}
                                                        {current.then(|| view! { <span class="badge">"this browser"</span> })}
                                                    </td>
                                                    <td>{session.role.name()}</td>
                                                    <td class="time">{format_utc(session.created_at)}</td>
                                                    <td class="time">{format_utc(session.expires_at)}</td>
                                                    <td class="actions">
                                                        <button type="button" class="button danger small" data-testid="revoke-session"
                                                            on:click=move |_| revoke_session.run(id.clone())>"Sign out"</button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }.into_any(),
                            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

/// The form that makes a token, and the token once made.
#[component]
fn NewToken(changes: RwSignal<u32>) -> impl IntoView {
    let label = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Ingest);
    let scope = RwSignal::new(TokenScope::Both);
    let made = RwSignal::new(None::<Result<String, String>>);
    let create = browser_task(move |(): ()| async move {
        let role = role.get_untracked();
        // Only ingest tokens have a scope; the others' role says what they may do.
        let scope = (role == Role::Ingest).then(|| scope.get_untracked());
        let result = create_token(role, label.get_untracked(), scope).await;
        made.set(Some(
            result
                .map(|created| created.token)
                .map_err(|error| error.to_string()),
        ));
        label.set(String::new());
        changes.update(|count| *count += 1);
    });
    view! {
        <form class="toolbar" on:submit=move |event| {
            event.prevent_default();
            create.run(());
        }>
            <input type="text" required placeholder="Label (what uses it)" aria-label="Token label"
                maxlength=MAX_LABEL_CHARS.to_string() data-testid="token-label"
                prop:value=move || label.get() on:input=move |event| label.set(event_target_value(&event)) />
            <RolePicker role roles=&Role::ALL test_id="token-role" />
            {move || (role.get() == Role::Ingest).then(|| view! { <ScopePicker scope /> })}
            <button type="submit" class="button" data-testid="create-token">"Create token"</button>
        </form>
        <ShownOnce made caption="New token (shown once; copy it now):" test_id="new-token" />
    }
}

/// The form that makes a one-time sign-in link, and the link once made.
#[component]
fn NewLoginLink() -> impl IntoView {
    let label = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let made = RwSignal::new(None::<Result<String, String>>);
    let create = browser_task(move |(): ()| async move {
        let result = create_login_link(role.get_untracked(), label.get_untracked()).await;
        made.set(Some(
            result
                .map(|link| address(&link.path))
                .map_err(|error| error.to_string()),
        ));
        label.set(String::new());
    });
    view! {
        <p class="note">"Invite someone with a one-time sign-in link (it works once, for a day):"</p>
        <form class="toolbar" on:submit=move |event| {
            event.prevent_default();
            create.run(());
        }>
            <input type="text" required placeholder="Who it is for" aria-label="Sign-in link label"
                maxlength=MAX_LABEL_CHARS.to_string() data-testid="login-link-label"
                prop:value=move || label.get() on:input=move |event| label.set(event_target_value(&event)) />
            <RolePicker role roles=&[Role::Viewer, Role::Admin] test_id="login-link-role" />
            <button type="submit" class="button secondary" data-testid="create-login-link">"Create sign-in link"</button>
        </form>
        <ShownOnce made caption="Sign-in link (shown once):" test_id="new-login-link" />
    }
}

/// A secret just made (shown this once), or why it could not be made.
#[component]
fn ShownOnce(
    made: RwSignal<Option<Result<String, String>>>,
    caption: &'static str,
    test_id: &'static str,
) -> impl IntoView {
    move || {
        made.get().map(|made| match made {
            Ok(secret) => view! {
                <div class="created-link">
                    <span>{caption}</span>
                    <input type="text" readonly class="code" aria-label=caption data-testid=test_id prop:value=secret />
                </div>
            }
            .into_any(),
            Err(error) => view! { <p class="error" role="alert">{error}</p> }.into_any(),
        })
    }
}

#[component]
fn RolePicker(
    role: RwSignal<Role>,
    roles: &'static [Role],
    test_id: &'static str,
) -> impl IntoView {
    view! {
        <select aria-label="Role" data-testid=test_id
            on:change=move |event| {
                if let Some(picked) = Role::from_name(&event_target_value(&event)) {
                    role.set(picked);
                }
            }>
            {roles.iter().map(|option| view! {
                <option value=option.name() selected=move || role.get() == *option>{option.name()}</option>
            }).collect_view()}
        </select>
    }
}

/// What an ingest token of `scope` may write, chosen when it is made.
#[component]
fn ScopePicker(scope: RwSignal<TokenScope>) -> impl IntoView {
    view! {
        <select aria-label="What the token may write" data-testid="token-scope"
            on:change=move |event| {
                if let Some(picked) = TokenScope::from_name(&event_target_value(&event)) {
                    scope.set(picked);
                }
            }>
            {TokenScope::ALL.iter().map(|option| {
                let text = match option {
                    TokenScope::Events => "events only (for web pages)",
                    other => other.label(),
                };
                view! {
                    <option value=option.name() selected=move || scope.get() == *option>{text}</option>
                }
            }).collect_view()}
        </select>
    }
}

/// `path` on this site, as a full address to hand on.
fn address(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Some(origin) = web_sys::window().and_then(|window| window.location().origin().ok()) {
        return format!("{origin}{path}");
    }
    path.to_owned()
}
