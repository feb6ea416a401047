//! `/login`: signing in with a token.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/login`: sign in with a token (the one-time link printed at start signs in by itself).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|query| query.get("next").unwrap_or_else(|| "/".into()));
    let error = move || query.with(|query| query.get("error"));
    view! {
        <section class="panel login" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in"</h1>
            <p class="note">
                "Open the one-time sign-in link livedash printed when it started, or one an admin gave you. "
                "Or paste an admin or viewer token:"
            </p>
            {move || error().map(|error| view! {
                <p class="error" role="alert" data-testid="login-error">{error}</p>
            })}
            // A plain form: it works before (and without) the WebAssembly.
            <form class="login-form" method="post" action="/login">
                <input type="hidden" name="next" prop:value=next />
                <input type="password" name="token" required autocomplete="current-password"
                    placeholder="ldt_…" aria-label="Token" data-testid="login-token" />
                <button type="submit" class="button" data-testid="login-submit">"Sign in"</button>
            </form>
        </section>
    }
}
