//! The explore page: type a selector, pick an aggregation, step and window, and watch it live.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::chart::LiveChart;
use super::status::{ConnectionStatus, StatusPill};
use crate::live::{LiveQuery, View};
use crate::query::{Aggregation, Selector, parse_duration_ms};

const STEPS: [&str; 8] = ["1s", "5s", "10s", "30s", "1m", "5m", "1h", "1d"];
const WINDOWS: [&str; 8] = ["1m", "5m", "15m", "1h", "6h", "24h", "7d", "30d"];
const DEFAULT_STEP: &str = "10s";
const DEFAULT_WINDOW: &str = "15m";
const DEFAULT_AGGREGATION: &str = "avg";

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

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
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
    let body = if form.selector.trim().is_empty() {
        view! {
            <div class="empty">
                <p>"Type a metric name, optionally with label matchers, to chart it live:"</p>
                <pre class="code">"http_requests{route=\"/api\", method=~\"GET|POST\"}"</pre>
            </div>
        }
        .into_any()
    } else {
        match live_query(&form) {
            Ok(query) => live_chart(query, status).into_any(),
            Err(problem) => view! {
                <p class="error" role="alert" data-testid="query-error">{problem}</p>
            }
            .into_any(),
        }
    };
    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Explore"</h1>
                <StatusPill status />
            </div>
            <QueryForm form />
            {body}
        </section>
    }
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
    let (metric, step_ms, window_ms) = (selector.name.clone(), *step_ms, *window_ms);
    let view_signal = RwSignal::new(View::default());
    let now = RwSignal::new(now_ms());

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        super::live_socket::connect(
            vec![super::live_socket::LiveSubscription {
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
fn QueryForm(form: Form) -> impl IntoView {
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
            <label class="field field-wide">
                <span>"Selector"</span>
                <input
                    name="q"
                    value=form.selector.clone()
                    placeholder="cpu_usage{host=\"a\"}"
                    autocomplete="off"
                    spellcheck="false"
                    data-testid="selector"
                />
            </label>
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
