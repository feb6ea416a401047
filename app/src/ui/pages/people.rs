//! A person's page (`/analytics?person=…`): their summary (first and last seen, visits, the source of
//! their first visit, their events by name) and their timeline, newest first.

use leptos::either::Either;
use leptos::prelude::*;

use crate::api::person;
use crate::format;
use crate::model::format_utc;
use crate::people::Person;

#[component]
pub fn PersonPage(id: String) -> impl IntoView {
    // Personal data is asked from the browser, never put in the server's page.
    let found = RwSignal::new(None::<Result<Person, String>>);
    let load = crate::ui::shared::browser::browser_task(move |id: String| async move {
        found.set(Some(person(id).await.map_err(|error| error.to_string())));
    });
    #[cfg(feature = "hydrate")]
    load.run(id);
    #[cfg(not(feature = "hydrate"))]
    let _ = (load, id);
    view! {
        <section class="panel" data-testid="person-page">
            <div class="panel-head">
                <h1>"Person"</h1>
                <a class="button secondary" href="/analytics" data-testid="person-back">"All of Analytics"</a>
            </div>
            {move || match found.get() {
                None => Either::Left(view! { <p class="empty">"Loading…"</p> }.into_any()),
                Some(Ok(person)) => Either::Left(view! { <PersonView person /> }.into_any()),
                Some(Err(error)) => Either::Right(view! {
                    <p class="error" role="alert" data-testid="person-error">{error}</p>
                }),
            }}
        </section>
    }
}

#[component]
fn PersonView(person: Person) -> impl IntoView {
    let source = if person.first_source.is_empty() {
        "direct".to_owned()
    } else {
        person
            .first_source
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <div class="person-body">
        <h2 class="person-id" data-testid="person-id">{person.user_id.clone()}</h2>
        <dl class="facts" data-testid="person-summary">
            <dt>"First seen"</dt><dd>{format_utc(person.first_seen)}</dd>
            <dt>"Last seen"</dt><dd>{format_utc(person.last_seen)}</dd>
            <dt>"Visits"</dt><dd data-testid="person-visits">{person.visits}</dd>
            <dt>"First visit's source"</dt><dd data-testid="person-source">{source}</dd>
            <dt>"Events"</dt>
            <dd>{person.events.iter().map(|(name, count)| format!("{name} × {}", format::count(*count))).collect::<Vec<_>>().join(", ")}</dd>
        </dl>
        <h2>"Timeline"</h2>
        <ol class="timeline" data-testid="person-timeline">
            {person.timeline.into_iter().map(|event| {
                let page = event.properties.get("path").cloned().unwrap_or_default();
                let details = event
                    .properties
                    .iter()
                    .filter(|(name, _)| name.as_str() != "path")
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = event.event.clone();
                view! {
                    <li class="timeline-item" data-testid="timeline-event" data-event=name>
                        <span class="feed-time muted">{format_utc(event.ts)}</span>
                        <span class="feed-event">{event.event}</span>
                        <span class="timeline-page">{page}</span>
                        <span class="feed-props muted">{details}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
        </div>
    }
}
