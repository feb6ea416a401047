//! Web analytics on the Analytics page: every site that has sent page views, each opening its
//! Web analytics dashboard (made from the built-in layout the first time), and finding a person
//! by their id; with `?person=…`, the page shows that person instead (`pages::people`).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;

use crate::api::{web_dashboard, web_sites};
use crate::ui::shared::browser::browser_task;

/// The address parameter naming the person shown.
const PERSON_PARAM: &str = "person";

/// The address of a person's page.
#[must_use]
pub fn person_address(user_id: &str) -> String {
    let query: ParamsMap = [(PERSON_PARAM, user_id.to_owned())].into_iter().collect();
    format!("/analytics{}", query.to_query_string())
}

/// `/analytics`: the sites, funnels and experiments, or with `?person=…` that person.
#[component]
pub fn AnalyticsOrPerson() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let person = Memo::new(move |_| query.with(|query| query.get(PERSON_PARAM)));
    move || match person.get() {
        Some(id) => Either::Left(view! { <crate::ui::pages::people::PersonPage id /> }),
        None => Either::Right(view! {
            <Sites />
            <crate::ui::pages::analytics::AnalyticsPage />
        }),
    }
}

#[component]
fn Sites() -> impl IntoView {
    // Asked from the browser: the list changes as sites send their first page views.
    let sites = RwSignal::new(None::<Result<Vec<String>, String>>);
    let load = browser_task(move |()| async move {
        sites.set(Some(web_sites().await.map_err(|error| error.to_string())));
    });
    #[cfg(feature = "hydrate")]
    load.run(());
    #[cfg(not(feature = "hydrate"))]
    let _ = load;
    let problem = RwSignal::new(None::<String>);
    let navigate = leptos_router::hooks::use_navigate();
    let open = {
        let navigate = navigate.clone();
        browser_task(move |site: String| {
            let navigate = navigate.clone();
            async move {
                match web_dashboard(site).await {
                    Ok(id) => navigate(&format!("/d/{id}"), Default::default()),
                    Err(error) => problem.set(Some(error.to_string())),
                }
            }
        })
    };
    let person = RwSignal::new(String::new());
    let find = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let id = person.get_untracked();
        if !id.trim().is_empty() {
            navigate(&person_address(id.trim()), Default::default());
        }
    };
    view! {
        <section class="analytics-page" data-testid="web-sites-section">
            <h1>"Web analytics"</h1>
            <p class="muted">"Visitors, visits, sources, pages and devices of each site that sends page views. A site's dashboard is an ordinary dashboard: edit it, share it, or add its widgets to another."</p>
            {move || problem.get().map(|problem| view! { <p class="error" role="alert">{problem}</p> })}
            {move || match sites.get() {
                None => view! { <p class="empty">"Loading…"</p> }.into_any(),
                Some(Ok(sites)) if sites.is_empty() => view! {
                    <p class="empty" data-testid="no-sites">"No site has sent a page view yet: add the snippet (below) to its pages."</p>
                }.into_any(),
                Some(Ok(sites)) => view! {
                    <ul class="site-list" data-testid="web-sites">
                        {sites.into_iter().map(|site| {
                            let shown = if site.is_empty() { "(events without a site)".to_owned() } else { site.clone() };
                            view! {
                                <li>
                                    <button type="button" class="button secondary" data-testid="open-site" data-site=site.clone()
                                        on:click=move |_| open.run(site.clone())>{shown}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Some(Err(error)) => view! { <p class="error" role="alert">{error}</p> }.into_any(),
            }}
            <h2>"People"</h2>
            <form class="toolbar" on:submit=find>
                <input type="search" placeholder="A user id" aria-label="User id" data-testid="person-search" spellcheck="false"
                    prop:value=move || person.get() on:input=move |event| person.set(event_target_value(&event)) />
                <button class="button" type="submit" data-testid="person-find">"Show their timeline"</button>
            </form>
        </section>
    }
}
