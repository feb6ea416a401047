//! A dashboard in view mode (live, with a time-range picker and a kiosk mode, the range in the
//! address), and the same read-only through a share link.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::{get_dashboard, shared_dashboard};
use crate::dashboard::{Dashboard, DashboardRange};
use crate::ui::dashboard::feed::dashboard_data;
use crate::ui::dashboard::frame::ReadOnlyGrid;
use crate::ui::dashboard::range::{RangePicker, address_range, range_query};
use crate::ui::shared::browser::hydrated;
use crate::ui::shared::json;
use crate::ui::shared::status::{ConnectionStatus, StatusPill, StorageBanner};

/// Whether the address asks for kiosk mode.
fn kiosk_asked() -> Memo<bool> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|query| query.get("kiosk").is_some_and(|value| value == "1")))
}

/// `/d/:id`: a dashboard, live.
#[component]
pub fn DashboardViewPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|params| params.get("id").unwrap_or_default());
    let dashboard = json::resource(id, |id| get_dashboard(id, None));
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <Viewer dashboard share=None /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="dashboard-error">{error.to_string()}</p>
                            <a class="button secondary" href="/dashboards">"All dashboards"</a>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// `/s/:token`: the dashboard a share link shows, live and read-only.
#[component]
pub fn SharedDashboardPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|params| params.get("token").unwrap_or_default());
    let dashboard = json::resource(token, shared_dashboard);
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => Either::Left(view! { <Viewer dashboard share=Some(token()) /> }),
                    Err(error) => Either::Right(view! {
                        <section class="panel">
                            <p class="error" role="alert" data-testid="share-ended">
                                {format!("This link does not work: {error}.")}
                            </p>
                        </section>
                    }),
                }
            })}
        </Suspense>
    }
}

/// A dashboard, live; with `share`, as a share link shows it (no edit controls).
#[component]
fn Viewer(dashboard: Dashboard, share: Option<String>) -> impl IntoView {
    let shared = share.is_some();
    let range: Signal<DashboardRange> = address_range(dashboard.range).into();
    let kiosk = kiosk_asked();
    let widgets = Signal::stored(dashboard.widgets.clone());
    let data = dashboard_data(widgets, range, share.clone());
    let navigate = use_navigate();
    let base = match &share {
        Some(token) => format!("/s/{token}"),
        None => format!("/d/{}", dashboard.id),
    };
    let go = {
        let base = base.clone();
        move |range: DashboardRange, kiosk: bool| {
            let mut address = format!("{base}?{}", range_query(range));
            if kiosk {
                address.push_str("&kiosk=1");
            }
            navigate(&address, Default::default());
        }
    };
    let on_range = {
        let go = go.clone();
        Callback::new(move |range: DashboardRange| go(range, kiosk.get_untracked()))
    };
    let toggle_kiosk = move |_| go(range.get_untracked(), !kiosk.get_untracked());
    let ended = move || match data.status.get() {
        ConnectionStatus::Ended { reason } => Some(reason),
        _ => None,
    };
    let share_open = RwSignal::new(false);
    let id = dashboard.id.clone();
    view! {
        <section
            class=move || if kiosk.get() { "dashboard kiosk" } else { "dashboard" }
            data-testid="dashboard-view"
            data-ready=hydrated()
        >
            <div class="dashboard-head">
                <h1 data-testid="dashboard-title">{dashboard.title.clone()}</h1>
                <StatusPill status=data.status />
                <div class="spacer"></div>
                <RangePicker range on_change=on_range />
                <button class="button secondary" type="button" data-testid="kiosk" on:click=toggle_kiosk
                    title="Full screen without navigation">
                    {move || if kiosk.get() { "Exit kiosk" } else { "Kiosk" }}
                </button>
                {(!shared).then(|| view! {
                    <Show when=crate::ui::shared::identity::can_edit()>
                        <button class="button secondary" type="button" data-testid="open-share"
                            on:click=move |_| share_open.update(|open| *open = !*open)>"Share"</button>
                        <a class="button" href=format!("/d/{id}/edit") data-testid="edit">"Edit"</a>
                    </Show>
                })}
            </div>
            {(!dashboard.description.is_empty()).then(|| view! { <p class="description">{dashboard.description.clone()}</p> })}
            <StorageBanner status=data.status />
            {move || ended().map(|reason| view! {
                <p class="error banner" role="alert" data-testid="access-ended">
                    {format!("This view stopped updating: {reason}.")}
                </p>
            })}
            {(!shared).then(|| {
                let id = StoredValue::new(dashboard.id.clone());
                view! {
                    <Show when=move || share_open.get()>
                        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
                            {move || Suspend::new(crate::ui::dashboard::share_panel::share_panel(id.get_value()))}
                        </Suspense>
                    </Show>
                }
            })}
            {dashboard.widgets.is_empty().then(|| view! {
                <p class="empty">"This dashboard has no widgets yet."</p>
            })}
            <ReadOnlyGrid widgets data />
        </section>
    }
}
