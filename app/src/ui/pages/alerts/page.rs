//! The Alerts page: its parts in order, the data they share, and the live refresh.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::draft::Draft;
use super::shared::{PageState, ask};
use super::{contacts, editor, tables};
use crate::alerts::api::{AlertsAnswer, AlertsCall, AlertsOverview};
use crate::ui::shared::json;

/// `/alerts`.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let state = PageState {
        changes: RwSignal::new(0),
        problem: RwSignal::new(None),
        editing: RwSignal::new(None),
    };
    let overview = json::resource(
        move || state.changes.get(),
        |_| async {
            match ask(AlertsCall::Overview).await {
                Ok(AlertsAnswer::Overview(overview)) => Ok(*overview),
                Ok(_) => Err("unexpected answer".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        },
    );
    let history = json::resource(
        move || state.changes.get(),
        |_| async {
            match ask(AlertsCall::History {
                rule: None,
                limit: 100,
            })
            .await
            {
                Ok(AlertsAnswer::History(entries)) => Ok(entries),
                Ok(_) => Err("unexpected answer".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        },
    );
    // "Alert on this" from a chart: a new rule from its query.
    let query = use_query_map();
    Effect::new(move |_| {
        query.with(|query| {
            if query.get("new").is_some()
                && let Some(selector) = query.get("selector")
            {
                state.editing.set(Some(Draft::from_query(
                    &selector,
                    query.get("fn").as_deref(),
                    query.get("by").as_deref(),
                    query.get("dashboard"),
                )));
            }
        });
    });
    // An alert changed state: reload.
    #[cfg(feature = "hydrate")]
    {
        use crate::live::{LiveQuery, View};
        use crate::ui::shared::live_socket::{LiveSubscription, connect};
        let view = RwSignal::new(View::default());
        connect(
            vec![LiveSubscription {
                id: 1,
                query: LiveQuery::Latest {
                    selector: crate::query::Selector::parse(crate::alerts::api::STATE_METRIC).ok(),
                },
                view,
            }],
            RwSignal::new(crate::ui::shared::status::ConnectionStatus::Connecting),
        );
        Effect::new(move |seen: Option<Option<crate::live::Cursor>>| {
            let cursor = view.with(|view| view.cursor.clone());
            if seen.is_some_and(|seen| seen.is_some() && seen != cursor) {
                state.changes.update(|count| *count += 1);
            }
            cursor
        });
    }
    // The rule editor's contact points, kept apart so that the editor outlives reloads.
    let contacts = RwSignal::new(Vec::new());
    let analytics = RwSignal::new(crate::alerts::api::Watchable::default());
    Effect::new(move |_| {
        if let Some(Ok(overview)) = overview.get() {
            contacts.set(overview.contact_points);
            analytics.set(overview.analytics);
        }
    });
    let analytics = analytics.into();
    let contacts: Signal<Vec<crate::alerts::ContactPoint>> = contacts.into();
    let contact_form = contacts::ContactForm::new();
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    view! {
        <div class="alerts-page" data-testid="alerts-page">
            <section class="panel">
                <div class="panel-head">
                    <h1>"Alerts"</h1>
                    <button type="button" class="button" data-testid="new-rule"
                        on:click=move |_| state.editing.set(Some(Draft::default()))>"New rule"</button>
                </div>
                <p class="note">
                    "Rules are evaluated as data arrives, not on a timer: a write that breaks one notifies within "
                    "milliseconds, once per change of state, however many livedash processes run."
                </p>
                {move || state.problem.get().map(|problem| view! {
                    <p class="error" role="alert" data-testid="alerts-error">{problem}</p>
                })}

            </section>
            {move || state.editing.get().map(|draft| view! {
                <editor::RuleEditor draft state contacts analytics />
            })}
            // Drawn in the browser only: the lists change with every alert, and the server's
            // drawing would be stale (or differ) by the time the page hydrates.
            {move || ready.get().then(|| view! {
            <Transition fallback=|| view! { <section class="panel"><p class="empty">"Loading…"</p></section> }>
                {move || Suspend::new(async move {
                    let (overview, problem): (AlertsOverview, _) = match overview.await {
                        Ok(overview) => (overview, None),
                        Err(problem) => (AlertsOverview::default(), Some(problem)),
                    };
                    let history = history.await.unwrap_or_default();
                    view! {
                        {problem.map(|problem| view! {
                            <section class="panel"><p class="error" role="alert">{problem}</p></section>
                        })}
                        <tables::Firing instances=overview.instances state />
                        <tables::Rules rules=overview.rules state />
                        <tables::History entries=history />
                        <tables::Silences silences=overview.silences state />
                        <contacts::ContactPoints contacts=overview.contact_points form=contact_form state />
                        <tables::DeadLetters letters=overview.dead_letters />
                    }
                })}
            </Transition>
            })}
        </div>
    }
}
