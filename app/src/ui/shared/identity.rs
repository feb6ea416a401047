//! Who the browser is and what it may do, for every page; the top bar's account menu and the
//! banner shown while access control is off.

use leptos::prelude::*;

use crate::api::{sign_out, whoami};
use crate::auth::{Access, WhoAmI};
use crate::ui::shared::browser::browser_task;
use crate::ui::shared::json;

/// Who the browser is, for the whole app (read once per page load).
#[derive(Clone, Copy)]
pub struct Identity(pub Resource<Option<WhoAmI>, json::Json>);

/// Reads who the browser is and makes it available to every page.
pub fn provide_identity() {
    let resource = json::resource(|| (), |()| async { whoami().await.ok() });
    provide_context(Identity(resource));
}

/// Whether the browser may do what needs `access` (false until known).
pub fn allowed(access: Access) -> Signal<bool> {
    let identity = use_context::<Identity>();
    Signal::derive(move || {
        identity
            .and_then(|Identity(resource)| resource.get().flatten())
            .is_some_and(|who| who.allows(access))
    })
}

/// Whether the browser may change dashboards, analytics definitions and tokens.
pub fn can_edit() -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let allowed = allowed(Access::Admin);
    move || allowed.get()
}

/// The top bar's end: the role, the Access page for admins, and signing out.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let Some(Identity(identity)) = use_context::<Identity>() else {
        return ().into_any();
    };
    let signing_out = browser_task(move |(): ()| async move {
        let _ = sign_out().await;
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign("/login");
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || identity.get().flatten().map(|who| {
                let admin = who.allows(Access::Admin);
                let signed_in = who.session.is_some();
                view! {
                    <div class="account">
                        {(!who.auth_enabled).then(|| view! {
                            <span class="badge badge-down" data-testid="auth-off"
                                title="Started with LIVEDASH_AUTH=off">"access control off"</span>
                        })}
                        {who.role.filter(|_| who.auth_enabled).map(|role| view! {
                            <span class="badge" data-testid="role">{role.name()}</span>
                        })}
                        {(admin && who.auth_enabled).then(|| view! {
                            <a href="/access" data-testid="access-link">"Access"</a>
                        })}
                        {signed_in.then(|| view! {
                            <button type="button" class="button secondary small" data-testid="sign-out"
                                on:click=move |_| signing_out.run(())>"Sign out"</button>
                        })}
                    </div>
                }
            })}
        </Transition>
    }
    .into_any()
}

/// The warning shown on every page while access control is off.
#[component]
pub fn AuthOffBanner() -> impl IntoView {
    let Some(Identity(identity)) = use_context::<Identity>() else {
        return ().into_any();
    };
    view! {
        <Transition fallback=|| ()>
            {move || identity.get().flatten().filter(|who| !who.auth_enabled).map(|_| view! {
                <p class="error banner" role="alert" data-testid="auth-off-banner">
                    "Access control is off (LIVEDASH_AUTH=off): anyone who can reach this server can read and change everything."
                </p>
            })}
        </Transition>
    }
    .into_any()
}
