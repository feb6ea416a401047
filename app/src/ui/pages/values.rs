//! The live values page: the current value of every series, updated over the live socket.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::{ValueListing, current_values};
use crate::format;
use crate::live::View;
use crate::model::{CurrentValue, MetricKind, SET_LISTING_MINUTES, SeriesKey, format_utc};
use crate::ui::shared::json;
use crate::ui::shared::status::{ConnectionStatus, StatusPill, StorageBanner};

/// Lists every series with its current value, live.
#[component]
pub fn LiveValuesPage() -> impl IntoView {
    let initial = json::resource(|| (), |()| current_values());
    // Values received over the socket, newest per series. They override the first render's
    // values whenever they are at least as recent.
    let live = RwSignal::new(View::default());
    let status = RwSignal::new(ConnectionStatus::Connecting);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        crate::ui::shared::live_socket::connect(
            vec![crate::ui::shared::live_socket::LiveSubscription {
                id: 0,
                query: crate::live::LiveQuery::Latest { selector: None },
                view: live,
            }],
            status,
        );
    });

    view! {
        <section class="panel">
            <div class="panel-head">
                <h1>"Live values"</h1>
                <StatusPill status />
            </div>
            <StorageBanner status />
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
fn ValuesTable(first: ValueListing, live: RwSignal<View>) -> impl IntoView {
    let truncated = first.truncated;
    let rows = Memo::new(move |_| {
        let mut merged: BTreeMap<SeriesKey, CurrentValue> = first
            .values
            .iter()
            .map(|value| (value.series.clone(), value.clone()))
            .collect();
        live.with(|live| {
            for (series, value) in &live.latest {
                match merged.get(series) {
                    Some(known) if !value.supersedes(known) => {}
                    known => {
                        let mut value = value.clone();
                        value.kind = value.kind.or(known.and_then(|known| known.kind));
                        merged.insert(series.clone(), value);
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
                            "curl -X POST http://127.0.0.1:3000/api/v1/ingest \\\n  -H 'Authorization: Token <an ingest token from the Access page>' \\\n  -H 'Content-Type: application/json' \\\n  -d '[{\"name\":\"cpu_usage\",\"labels\":{\"host\":\"a\"},\"value\":42.5}]'"
                        </pre>
                    </div>
                }
            }
        >
            <table class="values live-values-table">
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
            <td class="num value" title=value.value.to_string() data-value=value.value.to_string()>
                {format::number(value.value)}
                {what_it_is(value.kind).map(|what| view! { <span class="value-kind">{what}</span> })}
            </td>
            <td class="time">{format_utc(value.ts)}</td>
        </tr>
    }
}

/// What a listed value is, for the kinds whose number is not simply "the value".
fn what_it_is(kind: Option<MetricKind>) -> Option<String> {
    match kind? {
        MetricKind::Gauge => None,
        MetricKind::Counter => Some("total".to_owned()),
        MetricKind::Histogram => Some("last observation".to_owned()),
        MetricKind::Set => Some(format!("distinct, last {SET_LISTING_MINUTES} min")),
    }
}
