//! The explore page: type a selector, pick an aggregation, step and window, and watch it live.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{get_dashboard, list_dashboards, save_dashboard};
use crate::clock::now_ms;
use crate::dashboard::{GridRect, SaveOutcome, Widget, WidgetKind, free_spot};
use crate::ui::shared::browser::browser_task;
use crate::ui::shared::json;
use crate::ui::widgets::fresh::new_widget_id;

use crate::live::{LiveQuery, View};
use crate::query::{Aggregation, Selector, parse_duration_ms};
use crate::ui::charts::chart::LiveChart;
use crate::ui::shared::metric_picker::MetricPicker;
use crate::ui::shared::status::{ConnectionStatus, StatusPill, StorageBanner};

const STEPS: [&str; 8] = ["1s", "5s", "10s", "30s", "1m", "5m", "1h", "1d"];
const WINDOWS: [&str; 8] = ["1m", "5m", "15m", "1h", "6h", "24h", "7d", "30d"];
const DEFAULT_STEP: &str = "10s";
const DEFAULT_WINDOW: &str = "15m";
const DEFAULT_AGGREGATION: &str = "avg";
/// Selectors the empty page offers, each of which fills the selector box.
const EXAMPLES: [&str; 3] = [
    r#"http_requests_total{route="/api"}"#,
    r#"http_requests_total{route="/api", method=~"GET|POST"}"#,
    r#"{__name__=~"http_.*"}"#,
];

/// The form's values, as read from the address.
#[derive(Clone, Debug, PartialEq)]
struct Form {
    selector: String,
    aggregation: String,
    step: String,
    window: String,
}

/// What the form asks for, checked.
fn live_query(form: &Form) -> Result<LiveQuery, String> {
    let selector = Selector::parse(&form.selector).map_err(|error| error.to_string())?;
    let aggregation = Aggregation::from_name(&form.aggregation)
        .ok_or_else(|| format!("aggregation {:?} is unknown", form.aggregation))?;
    let step_ms = parse_duration_ms(&form.step).map_err(|error| format!("step: {error}"))?;
    let window_ms = parse_duration_ms(&form.window).map_err(|error| format!("window: {error}"))?;
    let query = LiveQuery::Range {
        selector,
        aggregation,
        step_ms,
        window_ms,
        group_by: None,
    };
    query.validate()?;
    Ok(query)
}

/// A selector box, the chart it describes, live.
#[component]
pub fn ExplorePage() -> impl IntoView {
    let params = use_query_map();
    let form = params.with_untracked(|params| Form {
        selector: params.get("q").unwrap_or_default(),
        aggregation: params
            .get("fn")
            .unwrap_or_else(|| DEFAULT_AGGREGATION.into()),
        step: params.get("step").unwrap_or_else(|| DEFAULT_STEP.into()),
        window: params
            .get("window")
            .unwrap_or_else(|| DEFAULT_WINDOW.into()),
    });
    let status = RwSignal::new(ConnectionStatus::Connecting);
    // The selector box's text: typed, or changed by a picked suggestion or an example.
    let text = RwSignal::new(form.selector.clone());
    // Only a query that runs has a connection whose state is worth showing.
    let mut live = false;
    let body = if form.selector.trim().is_empty() {
        EitherOf3::A(view! { <EmptyState text /> })
    } else {
        match live_query(&form) {
            Ok(query) => {
                live = true;
                let widget = widget_of(&form, &query);
                EitherOf3::B(view! {
                    {live_chart(query, status)}
                    <AddToDashboard widget />
                })
            }
            Err(problem) => EitherOf3::C(view! {
                <p class="error" role="alert" data-testid="query-error">{problem}</p>
            }),
        }
    };
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Explore"</h1>
                {live.then(|| view! { <StatusPill status /> })}
            </div>
            {live.then(|| view! { <StorageBanner status /> })}
            <QueryForm form text />
            {body}
        </section>
    }
}

/// What the page shows before a query: what to type, and examples that fill the selector box.
#[component]
fn EmptyState(text: RwSignal<String>) -> impl IntoView {
    view! {
        <div class="empty" data-testid="explore-empty">
            <p>
                "Type a metric name in the selector box, or pick one from the names it suggests as you type. "
                "Add label matchers in braces to narrow it, then press Show to chart it live. For example:"
            </p>
            <p>
                {EXAMPLES.iter().map(|example| {
                    let example = *example;
                    view! {
                        <button type="button" class="button secondary small metric"
                            data-testid="explore-example"
                            on:click=move |_| text.set(example.to_owned())>
                            {example}
                        </button>
                    }
                }).collect_view()}
            </p>
            <p>"The last one charts every metric whose name starts with http_, as in Prometheus."</p>
        </div>
    }
}

/// The line chart the form describes, as a dashboard widget (placed when added).
fn widget_of(form: &Form, query: &LiveQuery) -> Widget {
    let LiveQuery::Range {
        aggregation,
        step_ms,
        ..
    } = query
    else {
        unreachable!("the explore page charts ranges");
    };
    let selector = form.selector.trim();
    let layout = GridRect {
        x: 0,
        y: 0,
        w: 6,
        h: 8,
    };
    Widget::new("", WidgetKind::Line, selector, layout)
        .showing(selector, *aggregation)
        .with_step(*step_ms)
}

/// Adds the charted series to a dashboard, as a line chart in its first free place.
#[component]
fn AddToDashboard(widget: Widget) -> impl IntoView {
    let dashboards = json::resource(|| (), |()| list_dashboards());
    // The one picked in the list; until then, the list's first.
    let chosen = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<Result<(String, String), String>>);
    let add = browser_task(move |id: String| {
        let widget = widget.clone();
        async move {
            outcome.set(Some(add_widget(id, widget).await));
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = dashboards.await.unwrap_or_default();
                let first = list.first().map(|summary| summary.id.clone());
                (!list.is_empty() && crate::ui::shared::identity::can_edit()()).then(|| view! {
                    <form class="toolbar add-to-dashboard" on:submit=move |event| {
                        event.prevent_default();
                        if let Some(id) = chosen.get_untracked().or_else(|| first.clone()) {
                            add.run(id);
                        }
                    }>
                        <select aria-label="Dashboard" data-testid="add-to-dashboard-choice"
                            on:change=move |event| chosen.set(Some(event_target_value(&event)))>
                            {list.into_iter().map(|summary| view! {
                                <option value=summary.id>{summary.title}</option>
                            }).collect_view()}
                        </select>
                        <button class="button secondary" type="submit" data-testid="add-to-dashboard">
                            "Add to dashboard"
                        </button>
                        {move || outcome.get().map(|outcome| match outcome {
                            Ok((id, title)) => Either::Left(view! {
                                <span class="note" role="status" data-testid="added-to-dashboard">
                                    "Added to "<a href=format!("/d/{id}/edit")>{title}</a>"."
                                </span>
                            }),
                            Err(problem) => Either::Right(view! { <span class="error" role="alert">{problem}</span> }),
                        })}
                    </form>
                })
            })}
        </Transition>
    }
}

/// Appends `widget` to dashboard `id` in its first free place, saving a version; a save that
/// crossed someone else's is tried again on the newer version.
async fn add_widget(id: String, mut widget: Widget) -> Result<(String, String), String> {
    for _ in 0..3 {
        let mut dashboard = get_dashboard(id.clone(), None)
            .await
            .map_err(|error| error.to_string())?;
        let rects: Vec<GridRect> = dashboard.widgets.iter().map(|w| w.layout).collect();
        widget.layout = free_spot(&rects, widget.layout.w, widget.layout.h);
        widget.id = new_widget_id(&dashboard);
        dashboard.widgets.push(widget.clone());
        let summary = format!("Added {} from Explore", widget.title);
        match save_dashboard(dashboard.clone(), summary).await {
            Ok(SaveOutcome::Saved { .. }) => return Ok((id, dashboard.title)),
            Ok(SaveOutcome::Conflict { .. }) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Err("the dashboard kept changing; try again".into())
}

fn live_chart(query: LiveQuery, status: RwSignal<ConnectionStatus>) -> impl IntoView {
    let LiveQuery::Range {
        selector,
        step_ms,
        window_ms,
        ..
    } = &query
    else {
        unreachable!("the explore page charts ranges");
    };
    // A `__name__` pattern names no one metric: the chart is named by the selector.
    let metric = selector
        .fixed_name()
        .map_or_else(|| selector.to_string(), str::to_owned);
    let (step_ms, window_ms) = (*step_ms, *window_ms);
    let view_signal = RwSignal::new(View::default());
    let now = RwSignal::new(now_ms());

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        crate::ui::shared::live_socket::connect(
            vec![crate::ui::shared::live_socket::LiveSubscription {
                id: 1,
                query: query.clone(),
                view: view_signal,
            }],
            status,
        );
        // The chart moves with time even when no data arrives, and forgets what left it.
        let tick = move || {
            let current = now_ms();
            now.set(current);
            view_signal.update(|view| view.trim(current - window_ms - step_ms));
        };
        let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (query, status, step_ms);

    let refused = move || view_signal.with(|view| view.refused.clone());
    view! {
        {move || refused().map(|message| view! {
            <p class="error" role="alert" data-testid="query-error">{message}</p>
        })}
        <LiveChart view=view_signal metric window_ms now />
    }
}

#[component]
fn QueryForm(form: Form, text: RwSignal<String>) -> impl IntoView {
    let options = |choices: &[&'static str], chosen: &str| {
        let mut choices: Vec<String> = choices.iter().map(|c| (*c).to_owned()).collect();
        if !choices.iter().any(|c| c == chosen) {
            choices.push(chosen.to_owned());
        }
        choices
            .into_iter()
            .map(|choice| {
                let selected = choice == chosen;
                view! { <option value=choice.clone() selected=selected>{choice.clone()}</option> }
            })
            .collect_view()
    };
    let aggregations: Vec<&'static str> =
        Aggregation::NAMES.iter().map(|(name, _)| *name).collect();
    view! {
        <form class="query-form" method="get" action="/explore">
            // Suggests the catalog's metric names for the name typed before any `{`.
            <MetricPicker
                value=Signal::from(text)
                on_change=Callback::new(move |new: String| text.set(new))
                label="Selector"
                id="explore-selector"
                testid="selector"
                name="q"
                placeholder="http_requests_total{route=\"/api\"}"
                classes="field field-wide autocomplete"
            />
            <label class="field">
                <span>"Aggregation"</span>
                <select name="fn">{options(&aggregations, &form.aggregation)}</select>
            </label>
            <label class="field">
                <span>"Step"</span>
                <select name="step">{options(&STEPS, &form.step)}</select>
            </label>
            <label class="field">
                <span>"Window"</span>
                <select name="window">{options(&WINDOWS, &form.window)}</select>
            </label>
            <button type="submit" class="button">"Show"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(selector: &str, aggregation: &str, step: &str, window: &str) -> Form {
        Form {
            selector: selector.into(),
            aggregation: aggregation.into(),
            step: step.into(),
            window: window.into(),
        }
    }

    /// The form becomes a live range query; each kind of mistake is named.
    #[test]
    fn forms_become_queries() {
        let query = live_query(&form(r#"cpu{host="a"}"#, "p99", "10s", "1h")).unwrap();
        assert!(matches!(
            query,
            LiveQuery::Range {
                step_ms: 10_000,
                window_ms: 3_600_000,
                aggregation: Aggregation::Quantile { .. },
                ..
            }
        ));
        assert!(
            live_query(&form("", "avg", "10s", "1h"))
                .unwrap_err()
                .contains("metric name")
        );
        // Prometheus-style name matchers, and a selector that names no metric.
        assert!(live_query(&form(r#"{__name__=~"http_.*"}"#, "avg", "10s", "1h")).is_ok());
        assert!(
            live_query(&form(r#"{job="api"}"#, "avg", "10s", "1h"))
                .unwrap_err()
                .contains("__name__ matcher")
        );
        assert!(
            live_query(&form("cpu", "median", "10s", "1h"))
                .unwrap_err()
                .contains("aggregation")
        );
        assert!(
            live_query(&form("cpu", "avg", "often", "1h"))
                .unwrap_err()
                .starts_with("step")
        );
        assert!(
            live_query(&form("cpu", "avg", "1s", "30d"))
                .unwrap_err()
                .contains("buckets")
        );
    }
}
