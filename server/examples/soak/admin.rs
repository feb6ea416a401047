//! The admin: server function calls, API tokens, and the dashboard it keeps editing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::auth::CreatedToken;
use app::dashboard::{
    Dashboard, DashboardSummary, GRID_COLUMNS, GridRect, SaveOutcome, Widget, WidgetKind,
    WidgetQuery, place,
};
use app::query::Aggregation;
use app::random::Rng;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::time::MissedTickBehavior;

use crate::ADMIN_TOKEN;
use crate::load::{Load, clip, error_chain};
use crate::workload::{CLOCK_METRIC, LIST_EVERY_SAVES, SAVE_EVERY};

/// Calls server function `name` as the admin: its answer, or why not.
pub async fn call_fn<T: DeserializeOwned>(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    args: serde_json::Value,
) -> Result<T, String> {
    let response = client
        .post(format!("{base}/api/fn/{name}"))
        .header("authorization", format!("Token {ADMIN_TOKEN}"))
        .json(&args)
        .send()
        .await
        .map_err(|error| format!("{name}: {}", error_chain(&error)))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| format!("{name}: reading the answer: {}", error_chain(&error)))?;
    if !status.is_success() {
        return Err(format!("{name}: {status}: {}", clip(&text)));
    }
    serde_json::from_str(&text)
        .map_err(|error| format!("{name}: unreadable answer ({error}): {}", clip(&text)))
}

/// A new API token for `role`, made with the admin token (which livedash stores as it starts
/// serving, so the first calls may come too early).
pub async fn create_token(client: &reqwest::Client, base: &str, role: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let made = call_fn::<CreatedToken>(
            client,
            base,
            "create_token",
            json!({"role": role, "label": format!("soak {role}")}),
        )
        .await;
        match made {
            Ok(created) => return created.token,
            Err(why) if Instant::now() > deadline => panic!("no {role} token: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The dashboard the admin edits: widgets on what the load writes, tiled row by row.
pub fn soak_dashboard() -> Dashboard {
    let query = |selector: &str, aggregation, group_by: Option<&[&str]>| WidgetQuery {
        selector: selector.to_owned(),
        aggregation,
        step_ms: None,
        group_by: group_by.map(|labels| labels.iter().map(|&label| label.to_owned()).collect()),
    };
    let contents = [
        (
            WidgetKind::Line,
            "Send time",
            Some(query(CLOCK_METRIC, Aggregation::Max, Some(&[]))),
        ),
        (
            WidgetKind::Line,
            "Gauges by group",
            Some(query("soak_gauge", Aggregation::Avg, Some(&["group"]))),
        ),
        (
            WidgetKind::Stat,
            "Requests/s",
            Some(query("soak_requests_total", Aggregation::Rate, Some(&[]))),
        ),
        (
            WidgetKind::Gauge,
            "CPU",
            Some(query("soak_influx_cpu", Aggregation::Avg, Some(&[]))),
        ),
        (
            WidgetKind::Bar,
            "Page views",
            Some(query(
                r#"events{event="page_view"}"#,
                Aggregation::Sum,
                Some(&[]),
            )),
        ),
        (
            WidgetKind::Table,
            "Memory by region",
            Some(query(
                "soak_influx_mem",
                Aggregation::Last,
                Some(&["region"]),
            )),
        ),
        (
            WidgetKind::TopN,
            "Busiest gauges",
            Some(query("soak_gauge", Aggregation::Last, None)),
        ),
        (WidgetKind::Text, "Notes", None),
    ];
    let mut dashboard = Dashboard::new("Soak");
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    for (index, (kind, title, query)) in contents.into_iter().enumerate() {
        let (w, h) = kind.default_size();
        if x + w > GRID_COLUMNS {
            (x, y, row_height) = (0, y + row_height, 0);
        }
        dashboard.widgets.push(Widget {
            id: format!("w{index}"),
            kind,
            title: title.to_owned(),
            layout: GridRect { x, y, w, h },
            query,
            display: Default::default(),
            text: if kind == WidgetKind::Text {
                "Edited by the soak benchmark every 2 s.".to_owned()
            } else {
                String::new()
            },
            source: None,
        });
        x += w;
        row_height = row_height.max(h);
    }
    dashboard
}

/// Edit number `number`: moves a widget somewhere (the others make room, as when it is dragged
/// in the editor) or retitles one. Returns the summary to save it with.
fn edit(dashboard: &mut Dashboard, number: u64, rng: &mut Rng) -> String {
    let index = rng.below(dashboard.widgets.len() as u64) as usize;
    let widget_id = dashboard.widgets[index].id.clone();
    if number.is_multiple_of(2) {
        let rects: Vec<GridRect> = dashboard.widgets.iter().map(|w| w.layout).collect();
        let from = rects[index];
        let to = GridRect {
            x: rng.below(u64::from(GRID_COLUMNS - from.w + 1)) as u32,
            y: rng.below(24) as u32,
            ..from
        };
        for (widget, rect) in dashboard.widgets.iter_mut().zip(place(&rects, index, to)) {
            widget.layout = rect;
        }
        format!("moved {widget_id} to column {}, row {}", to.x, to.y)
    } else {
        let widget = &mut dashboard.widgets[index];
        let base = widget
            .title
            .split_once(" #")
            .map_or(widget.title.as_str(), |(base, _)| base)
            .to_owned();
        widget.title = format!("{base} #{number}");
        format!("retitled {widget_id}")
    }
}

/// Saves `dashboard` with one edit every [`SAVE_EVERY`], and lists the dashboards every
/// [`LIST_EVERY_SAVES`] saves, checking the list shows the version just saved.
pub async fn edit_dashboard(
    load: Arc<Load>,
    client: reqwest::Client,
    base: String,
    mut dashboard: Dashboard,
) {
    let mut rng = Rng::new(5);
    let mut ticks = tokio::time::interval(SAVE_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut number = 0;
    loop {
        tokio::select! {
            () = load.stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        number += 1;
        let summary = edit(&mut dashboard, number, &mut rng);
        let started = Instant::now();
        let saved = call_fn::<SaveOutcome>(
            &client,
            &base,
            "save_dashboard",
            json!({"dashboard": dashboard, "summary": summary}),
        )
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match saved {
            Ok(SaveOutcome::Saved { version }) => {
                dashboard.version = version.version;
                load.saves.succeeded(Some(latency_ms));
                load.save_latency.push(latency_ms);
            }
            // Nobody else edits it, so a conflict is livedash's mistake; carry on from the
            // version it says is current.
            Ok(SaveOutcome::Conflict { current }) => {
                load.saves.failed(format!(
                    "conflict: saved from version {}, livedash says {} is current",
                    dashboard.version, current.version
                ));
                dashboard.version = current.version;
            }
            Err(_) if load.stop.is_cancelled() => return,
            Err(why) => load.saves.failed(why),
        }
        if !number.is_multiple_of(LIST_EVERY_SAVES) {
            continue;
        }
        let started = Instant::now();
        let listed =
            call_fn::<Vec<DashboardSummary>>(&client, &base, "dashboards", json!({})).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match listed {
            Ok(list) => match list.iter().find(|entry| entry.id == dashboard.id) {
                Some(entry) if entry.version == dashboard.version => {
                    load.lists.succeeded(Some(latency_ms));
                }
                Some(entry) => load.lists.failed(format!(
                    "the list shows version {} of the dashboard, {} was saved last",
                    entry.version, dashboard.version
                )),
                None => load
                    .lists
                    .failed("the list lacks the dashboard being edited".to_owned()),
            },
            Err(_) if load.stop.is_cancelled() => return,
            Err(why) => load.lists.failed(why),
        }
    }
}
