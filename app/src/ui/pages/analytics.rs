//! The Analytics page's funnels and experiments (define and delete them), and how to send
//! events; its web analytics part is `pages::web`.

use leptos::prelude::*;

use crate::api::{change_analytics, list_analytics};
use crate::events::{
    AnalyticsChange, AnalyticsDefinitions, Experiment, Funnel, FunnelStep, MIN_FUNNEL_STEPS,
    Variant,
};
use crate::format;
use crate::ui::shared::browser::browser_task;

/// Conversion windows offered for a new funnel.
const WINDOWS: [(&str, i64); 6] = [
    ("5 minutes", 300_000),
    ("30 minutes", 1_800_000),
    ("1 hour", 3_600_000),
    ("1 day", 86_400_000),
    ("7 days", 7 * 86_400_000),
    ("30 days", 30 * 86_400_000),
];

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let definitions = RwSignal::new(None::<AnalyticsDefinitions>);
    let problem = RwSignal::new(None::<String>);
    let load = browser_task(move |()| async move {
        match list_analytics().await {
            Ok(found) => definitions.set(Some(found)),
            Err(error) => problem.set(Some(error.to_string())),
        }
    });
    #[cfg(feature = "hydrate")]
    load.run(());
    #[cfg(not(feature = "hydrate"))]
    let _ = load;
    let apply = browser_task(move |change: AnalyticsChange| async move {
        match change_analytics(change).await {
            Ok(found) => {
                problem.set(None);
                definitions.set(Some(found));
            }
            Err(error) => problem.set(Some(error.to_string())),
        }
    });
    let delete = move |what: &'static str, name: String, change: AnalyticsChange| {
        #[cfg(feature = "hydrate")]
        {
            let asked = format!("Delete the {what} “{name}” and its counts?");
            if !window().confirm_with_message(&asked).unwrap_or(false) {
                return;
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (what, name);
        apply.run(change);
    };
    let funnels =
        move || definitions.with(|d| d.as_ref().map(|d| d.funnels.clone()).unwrap_or_default());
    let experiments = move || {
        definitions.with(|d| {
            d.as_ref()
                .map(|d| d.experiments.clone())
                .unwrap_or_default()
        })
    };
    let can_edit = crate::ui::shared::identity::can_edit();
    view! {
        <section class="analytics-page" data-testid="analytics-page" data-ready=move || definitions.with(|d| d.is_some().to_string())>
            <h1>"Funnels and experiments"</h1>
            <p class="muted">
                "Funnels and experiments count the events sent to "<code>"POST /api/v1/events"</code>
                ". Show them on a dashboard with the Funnel and Experiment widgets."
            </p>
            {move || problem.get().map(|problem| view! { <p class="error" role="alert" data-testid="analytics-problem">{problem}</p> })}
            <h2>"Funnels"</h2>
            <ul class="definition-list" data-testid="funnel-list">
                {move || funnels().into_iter().map(|funnel| {
                    let steps = funnel.steps.iter().map(|s| s.event.clone()).collect::<Vec<_>>().join(" → ");
                    let change = AnalyticsChange::DeleteFunnel { id: funnel.id.clone() };
                    let name = funnel.name.clone();
                    view! {
                        <li>
                            <strong>{funnel.name.clone()}</strong>
                            <span class="muted">{format!(" · {steps} · within {}", format::duration_ms(funnel.window_ms as f64))}</span>
                            <Show when=can_edit>
                                <button type="button" class="button danger small" on:click={
                                    let (name, change) = (name.clone(), change.clone());
                                    move |_| delete("funnel", name.clone(), change.clone())
                                }>"Delete"</button>
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=can_edit>
                <NewFunnel create=Callback::new(move |(funnel, backfill)| apply.run(AnalyticsChange::CreateFunnel { funnel, backfill })) />
            </Show>
            <h2>"Experiments"</h2>
            <ul class="definition-list" data-testid="experiment-list">
                {move || experiments().into_iter().map(|experiment| {
                    let variants = experiment.variants.iter().map(|v| format!("{} ({})", v.name, v.weight)).collect::<Vec<_>>().join(", ");
                    let change = AnalyticsChange::DeleteExperiment { id: experiment.id.clone() };
                    let name = experiment.name.clone();
                    view! {
                        <li>
                            <strong>{experiment.name.clone()}</strong>
                            <span class="muted">{format!(" · {variants} · goal {}", experiment.goal_event)}</span>
                            <code class="small">{format!("GET /api/v1/experiments/{}/assign?user_id=…", experiment.id)}</code>
                            <Show when=can_edit>
                                <button type="button" class="button danger small" on:click={
                                    let (name, change) = (name.clone(), change.clone());
                                    move |_| delete("experiment", name.clone(), change.clone())
                                }>"Delete"</button>
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=can_edit>
                <NewExperiment create=Callback::new(move |experiment| apply.run(AnalyticsChange::CreateExperiment { experiment })) />
            </Show>
            <h2>"Sending page views from a website"</h2>
            <p>"Add one line to every page, with an ingest token from the Access page (it can only write events); it sends a page view with the path and keeps an anonymous id in local storage. "<code>"data-site"</code>" names the site (by default the page's host); with "<code>"data-mode=\"cookieless\""</code>" nothing is stored in the browser:"</p>
            <pre class="snippet">{"<script defer src=\"http://<livedash host>/track.js\" data-token=\"ldt_…\" data-site=\"example.com\"></script>"}</pre>
            <p>"Custom events: "<code>"livedash.track(\"signup_completed\", {plan: \"pro\"})"</code>"."</p>
        </section>
    }
}

/// The form for a new funnel: name, steps (event and optional property filter), window.
#[component]
fn NewFunnel(create: Callback<(Funnel, bool)>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let steps = RwSignal::new(vec![(String::new(), String::new()); MIN_FUNNEL_STEPS]);
    let window_ms = RwSignal::new(3_600_000_i64);
    let backfill = RwSignal::new(true);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let steps = steps
            .get_untracked()
            .into_iter()
            .map(|(event, filter)| FunnelStep {
                event: event.trim().to_owned(),
                filter: filter
                    .split_once('=')
                    .map(|(property, value)| (property.trim().to_owned(), value.trim().to_owned())),
            })
            .collect();
        create.run((
            Funnel {
                id: String::new(),
                name: name.get_untracked(),
                steps,
                window_ms: window_ms.get_untracked(),
                created_ms: 0,
                counts_from_ms: None,
            },
            backfill.get_untracked(),
        ));
    };
    view! {
        <form class="definition-form" data-testid="new-funnel" on:submit=submit>
            <h3>"New funnel"</h3>
            <label class="field">
                <span>"Name"</span>
                <input type="text" required maxlength="200" data-testid="funnel-name"
                    prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e)) />
            </label>
            <ol class="step-rows">
                {move || (0..steps.with(Vec::len)).map(|index| {
                    let read = move |part: usize| steps.with(|s| s.get(index).map(|(e, f)| if part == 0 { e.clone() } else { f.clone() }).unwrap_or_default());
                    let write = move |part: usize, text: String| steps.update(|s| if let Some(step) = s.get_mut(index) {
                        if part == 0 { step.0 = text } else { step.1 = text }
                    });
                    view! {
                        <li class="field-row">
                            <input type="text" required placeholder="event, e.g. page_view" data-testid="funnel-step-event"
                                aria-label=format!("Step {} event", index + 1)
                                prop:value=move || read(0) on:input=move |e| write(0, event_target_value(&e)) />
                            <input type="text" placeholder="only if property=value (optional)" data-testid="funnel-step-filter"
                                aria-label=format!("Step {} filter", index + 1)
                                prop:value=move || read(1) on:input=move |e| write(1, event_target_value(&e)) />
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="field-row">
                <button type="button" class="button secondary small" data-testid="funnel-add-step"
                    disabled={move || steps.with(Vec::len) >= crate::events::MAX_FUNNEL_STEPS}
                    on:click=move |_| steps.update(|s| s.push((String::new(), String::new())))>"Add step"</button>
                <button type="button" class="button secondary small"
                    disabled={move || steps.with(Vec::len) <= MIN_FUNNEL_STEPS}
                    on:click=move |_| steps.update(|s| { s.pop(); })>"Remove last step"</button>
            </div>
            <label class="field">
                <span>"Conversion window (from the first step)"</span>
                <select data-testid="funnel-window" on:change=move |e| {
                    if let Ok(ms) = event_target_value(&e).parse() { window_ms.set(ms) }
                }>
                    {WINDOWS.iter().map(|(label, ms)| view! {
                        <option value=ms.to_string() selected=move || window_ms.get() == *ms>{*label}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" prop:checked=move || backfill.get() on:change=move |e| backfill.set(event_target_checked(&e)) />
                " Count the events still in the raw event log (kept 7 days by default), not only new ones"
            </label>
            <button type="submit" class="button" data-testid="funnel-create">"Create funnel"</button>
        </form>
    }
}

/// The form for a new experiment: id, name, goal event, variants with weights.
#[component]
fn NewExperiment(create: Callback<Experiment>) -> impl IntoView {
    let id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let goal = RwSignal::new(String::new());
    let variants = RwSignal::new(vec![
        ("control".to_owned(), 50_u32),
        ("variant".to_owned(), 50),
    ]);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        create.run(Experiment {
            id: id.get_untracked().trim().to_owned(),
            name: name.get_untracked(),
            variants: variants
                .get_untracked()
                .into_iter()
                .map(|(name, weight)| Variant {
                    name: name.trim().to_owned(),
                    weight,
                })
                .collect(),
            goal_event: goal.get_untracked().trim().to_owned(),
            created_ms: 0,
        });
    };
    view! {
        <form class="definition-form" data-testid="new-experiment" on:submit=submit>
            <h3>"New experiment"</h3>
            <div class="field-row">
                <label class="field">
                    <span>"Id (letters, digits, - and _; used in the assignment URL)"</span>
                    <input type="text" required maxlength="64" pattern="[A-Za-z0-9_\\-]+" data-testid="experiment-id"
                        prop:value=move || id.get() on:input=move |e| id.set(event_target_value(&e)) />
                </label>
                <label class="field">
                    <span>"Name"</span>
                    <input type="text" required maxlength="200" data-testid="experiment-name"
                        prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e)) />
                </label>
            </div>
            <label class="field">
                <span>"Goal event (a conversion, counted once per exposed user)"</span>
                <input type="text" required maxlength="200" data-testid="experiment-goal"
                    prop:value=move || goal.get() on:input=move |e| goal.set(event_target_value(&e)) />
            </label>
            <ol class="step-rows">
                {move || (0..variants.with(Vec::len)).map(|index| view! {
                    <li class="field-row">
                        <input type="text" required placeholder="variant name" aria-label=format!("Variant {} name", index + 1)
                            prop:value=move || variants.with(|v| v.get(index).map(|v| v.0.clone()).unwrap_or_default())
                            on:input=move |e| { let text = event_target_value(&e); variants.update(|v| if let Some(v) = v.get_mut(index) { v.0 = text }) } />
                        <input type="number" min="0" max="1000000" required aria-label="weight"
                            prop:value=move || variants.with(|v| v.get(index).map(|v| v.1.to_string()).unwrap_or_default())
                            on:input=move |e| { let weight = event_target_value(&e).parse().unwrap_or(0); variants.update(|v| if let Some(v) = v.get_mut(index) { v.1 = weight }) } />
                    </li>
                }).collect_view()}
            </ol>
            <div class="field-row">
                <button type="button" class="button secondary small"
                    disabled={move || variants.with(Vec::len) >= crate::events::MAX_VARIANTS}
                    on:click=move |_| variants.update(|v| { let n = v.len(); v.push((format!("variant-{n}"), 50)) })>"Add variant"</button>
                <button type="button" class="button secondary small"
                    disabled={move || variants.with(Vec::len) <= 2}
                    on:click=move |_| variants.update(|v| { v.pop(); })>"Remove last variant"</button>
            </div>
            <p class="muted small">"The first variant is the control. Keep the weights fixed while the experiment runs."</p>
            <button type="submit" class="button" data-testid="experiment-create">"Create experiment"</button>
        </form>
    }
}
