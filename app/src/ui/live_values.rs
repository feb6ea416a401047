//! The live values page: the current value of every series, updated over the live socket.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::{ValueListing, current_values};
use crate::model::{CurrentValue, SeriesKey, format_utc};

/// The state of the page's live connection, shown in its status pill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Before the first connection is open (and on the server, which never connects).
    Connecting,
    /// Open, and the snapshot has arrived.
    Live,
    /// Lost; the next attempt follows after `in_ms`. `reason` is what the server said when
    /// it closed the connection, or what the browser saw.
    Reconnecting { in_ms: u32, reason: String },
}

/// Lists every series with its current value, live.
#[component]
pub fn LiveValuesPage() -> impl IntoView {
    let initial = Resource::new(|| (), |()| current_values());
    // Values received over the socket, newest per series. They override the first render's
    // values whenever they are at least as recent.
    let live = RwSignal::new(BTreeMap::<SeriesKey, CurrentValue>::new());
    let status = RwSignal::new(ConnectionStatus::Connecting);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| super::live_socket::connect(live, status));

    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Live values"</h1>
                <StatusPill status />
            </div>
            <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match initial.await {
                        Ok(first) => view! { <ValuesTable first live /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load values: {error}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StatusPill(status: RwSignal<ConnectionStatus>) -> impl IntoView {
    let text = move || match status.get() {
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Live => "Live".to_owned(),
        ConnectionStatus::Reconnecting { reason, .. } => format!("Reconnecting… ({reason})"),
    };
    let class = move || match status.get() {
        ConnectionStatus::Live => "pill pill-live",
        ConnectionStatus::Connecting => "pill pill-wait",
        ConnectionStatus::Reconnecting { .. } => "pill pill-down",
    };
    let title = move || match status.get() {
        ConnectionStatus::Reconnecting { in_ms, .. } => {
            format!("Next attempt in {:.1} s", f64::from(in_ms) / 1000.0)
        }
        _ => String::new(),
    };
    view! {
        <span class=class title=title role="status" aria-live="polite" data-testid="live-status">
            <span class="pill-dot" aria-hidden="true"></span>
            {text}
        </span>
    }
}

#[component]
fn ValuesTable(
    first: ValueListing,
    live: RwSignal<BTreeMap<SeriesKey, CurrentValue>>,
) -> impl IntoView {
    let truncated = first.truncated;
    let rows = Memo::new(move |_| {
        let mut merged: BTreeMap<SeriesKey, CurrentValue> = first
            .values
            .iter()
            .map(|value| (value.series.clone(), value.clone()))
            .collect();
        live.with(|live| {
            for (series, value) in live {
                match merged.get(series) {
                    Some(known) if !value.supersedes(known) => {}
                    _ => {
                        merged.insert(series.clone(), value.clone());
                    }
                }
            }
        });
        merged.into_values().collect::<Vec<_>>()
    });
    view! {
        <Show
            when=move || rows.with(|rows| !rows.is_empty())
            fallback=|| {
                view! {
                    <div class="empty">
                        <p>"No series yet. Send a point and it appears here at once:"</p>
                        <pre class="code">
                            "curl -X POST http://127.0.0.1:3000/api/v1/ingest \\\n  -H 'Content-Type: application/json' \\\n  -d '[{\"name\":\"cpu_usage\",\"labels\":{\"host\":\"a\"},\"value\":42.5}]'"
                        </pre>
                    </div>
                }
            }
        >
            <table class="values">
                <thead>
                    <tr>
                        <th scope="col">"Series"</th>
                        <th scope="col" class="num">"Value"</th>
                        <th scope="col">"Updated"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || rows.get()
                        key=|value| (value.series.clone(), value.ts, value.value.to_bits())
                        let:value
                    >
                        <ValueRow value />
                    </For>
                </tbody>
            </table>
            {truncated.then(|| view! {
                <p class="note">"Only the first series are listed."</p>
            })}
        </Show>
    }
}

#[component]
fn ValueRow(value: CurrentValue) -> impl IntoView {
    let series_id = value.series.to_string();
    let labels = value.series.labels.clone();
    view! {
        <tr data-series=series_id>
            <td>
                <span class="metric">{value.series.name.clone()}</span>
                {labels
                    .into_iter()
                    .map(|(name, label_value)| {
                        view! { <span class="label">{name}"="{label_value}</span> }
                    })
                    .collect_view()}
            </td>
            <td class="num value">{value.value.to_string()}</td>
            <td class="time">{format_utc(value.ts)}</td>
        </tr>
    }
}
