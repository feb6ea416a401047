//! The analytics widgets: unique users, top pages, funnels, experiments, the event feed,
//! histogram heatmaps, and web analytics (`widgets::web`).
//! Their numbers are not sums of deltas (a union of users, a funnel's ordered steps, always-valid
//! p-values), so the server recomputes them every two seconds while they are shown.

use leptos::either::{Either, EitherOf8};
use leptos::prelude::*;

use crate::dashboard::Widget;
#[cfg(feature = "hydrate")]
use crate::events::AnalyticsQuery;
use crate::events::{
    AnalyticsAnswer, Event, ExperimentReport, FunnelReport, Heatmap, UNIQUE_STANDARD_ERROR,
};
use crate::format;
use crate::model::format_utc;
use crate::ui::widgets::context::WidgetContext;
use crate::ui::widgets::web::{WebRanking, WebStats};

/// An analytics widget's body, in a WASM chunk of its own (see `widgets::body::LoadBody`).
#[lazy]
pub async fn analytics_body(widget: Signal<Widget>, context: WidgetContext) -> AnyView {
    view! { <AnalyticsBody widget context /> }.into_any()
}

/// Asks the server for the widget's numbers, then shows them by kind.
#[component]
fn AnalyticsBody(widget: Signal<Widget>, context: WidgetContext) -> impl IntoView {
    let answer = RwSignal::new(None::<Result<AnalyticsAnswer, String>>);
    #[cfg(feature = "hydrate")]
    keep_asking(widget, context, answer);
    let linked = context.share.get_value().is_none();
    #[cfg(not(feature = "hydrate"))]
    let _ = (widget, context);
    view! {
        <div class="analytics" data-testid="widget-analytics">
            {move || match answer.get() {
                None => EitherOf8::A(view! { <p class="muted">"Loading…"</p> }),
                Some(Err(error)) => EitherOf8::B(view! { <p class="error" role="alert">{error}</p> }),
                Some(Ok(AnalyticsAnswer::Uniques { users })) => EitherOf8::C(view! { <Uniques users /> }),
                Some(Ok(AnalyticsAnswer::Top { entries, total })) => EitherOf8::D(view! { <Ranking entries total /> }),
                Some(Ok(AnalyticsAnswer::Funnel(report))) => EitherOf8::E(view! { <FunnelBars report /> }),
                Some(Ok(AnalyticsAnswer::Experiment(report))) => {
                    EitherOf8::F(Either::Left(view! { <ExperimentTable report /> }))
                }
                Some(Ok(AnalyticsAnswer::Latest { events })) => {
                    EitherOf8::F(Either::Right(view! { <Feed events linked /> }))
                }
                Some(Ok(AnalyticsAnswer::Heatmap(heatmap))) => {
                    let unit = widget.with_untracked(|widget| widget.display.unit.clone());
                    EitherOf8::G(view! { <HeatmapChart heatmap unit /> })
                }
                Some(Ok(AnalyticsAnswer::Web(report))) => {
                    let (kind, ranking, limit) = widget.with_untracked(|widget| (
                        widget.kind,
                        widget.source.as_ref().map(|source| source.property.clone()).unwrap_or_default(),
                        widget.display.limit.unwrap_or(10) as usize,
                    ));
                    EitherOf8::H(if kind == crate::dashboard::WidgetKind::WebStats {
                        Either::Left(view! { <WebStats report /> })
                    } else {
                        Either::Right(view! { <WebRanking report ranking limit /> })
                    })
                }
            }}
        </div>
    }
}

/// Asks at once, whenever the widget's settings or the page's web filters change, and every
/// `REFRESH_MS`; the timer never starts a request while one is under way, and only the newest
/// request's answer is shown.
#[cfg(feature = "hydrate")]
fn keep_asking(
    widget: Signal<Widget>,
    context: WidgetContext,
    answer: RwSignal<Option<Result<AnalyticsAnswer, String>>>,
) {
    const REFRESH_MS: u64 = 2_000;
    use crate::widget_data::analytics_query;
    let address = leptos_router::hooks::use_query_map();
    let filters = Memo::new(move |_| address.with(crate::ui::widgets::web::filters_in));
    let busy = StoredValue::new(false);
    let newest = StoredValue::new(0_u64);
    let ask = move |forced: bool| {
        if !forced && busy.try_get_value().unwrap_or(true) {
            return;
        }
        let Some(window) = context.window.try_get_untracked() else {
            return;
        };
        let Some(mut query) = widget.try_with_untracked(|widget| analytics_query(widget, window))
        else {
            return;
        };
        if let Some(AnalyticsQuery::Web {
            filters: wanted, ..
        }) = &mut query
        {
            *wanted = filters.get_untracked();
        }
        let Some(query) = query else {
            answer.set(Some(Err(
                "Pick what to show in the widget's settings.".into()
            )));
            return;
        };
        busy.set_value(true);
        let request = newest.get_value() + 1;
        newest.set_value(request);
        let share = context.share.get_value();
        leptos::task::spawn_local(async move {
            let result = crate::api::analytics(query, share).await;
            if newest.try_get_value() == Some(request) {
                busy.try_set_value(false);
                answer.try_set(Some(result.map_err(|error| error.to_string())));
            }
        });
    };
    Effect::new(move |_| {
        widget.with(|widget| {
            (
                widget.kind,
                widget.source.clone(),
                widget.query.clone(),
                widget.display.limit,
            )
        });
        filters.track();
        ask(true);
    });
    let handle = set_interval_with_handle(
        move || ask(false),
        std::time::Duration::from_millis(REFRESH_MS),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });
}

/// Distinct users, with the HyperLogLog's error.
#[component]
fn Uniques(users: u64) -> impl IntoView {
    let margin = (users as f64 * UNIQUE_STANDARD_ERROR * 1.96).round() as u64;
    view! {
        <div class="stat uniques">
            <div class="stat-value" data-testid="uniques-value" data-users=users>{format::count(users)}</div>
            <div class="stat-sub muted" title="HyperLogLog estimate: 95% of the time within this margin">
                {format!("± {} (± {:.1}%) distinct users", format::count(margin), UNIQUE_STANDARD_ERROR * 196.0)}
            </div>
        </div>
    }
}

/// The most frequent values, with bars and shares.
#[component]
fn Ranking(entries: Vec<(String, u64)>, total: u64) -> impl IntoView {
    let largest = entries.first().map_or(1, |(_, count)| (*count).max(1));
    if entries.is_empty() {
        return leptos::either::Either::Left(
            view! { <p class="muted">"No events in this range."</p> },
        );
    }
    leptos::either::Either::Right(view! {
        <table class="values widget-rows" data-testid="top-values">
            <tbody>
                {entries
                    .into_iter()
                    .enumerate()
                    .map(|(index, (value, count))| {
                        let share = count as f64 / largest as f64 * 100.0;
                        let of_total = if total > 0 { count as f64 / total as f64 } else { 0.0 };
                        view! {
                            <tr>
                                <td class="rank">{index + 1}</td>
                                <td class="row-name">
                                    <span class="bar" style=format!("width:{share:.1}%")></span>
                                    <span>{value}</span>
                                </td>
                                <td class="num">{format::count(count)}</td>
                                <td class="num muted">{format::percent(of_total)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    })
}

/// A funnel as horizontal bars: users per step, the share of the first step, the conversion
/// from the step before, what dropped off, and the median time from the step before.
#[component]
fn FunnelBars(report: FunnelReport) -> impl IntoView {
    let first = report.users.first().copied().unwrap_or(0).max(1);
    let since = report
        .funnel
        .counts_from_ms
        .unwrap_or(report.funnel.created_ms);
    let rows = report
        .funnel
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let users = report.users.get(index).copied().unwrap_or(0);
            let width = users as f64 / first as f64 * 100.0;
            let dropped = index
                .checked_sub(1)
                .map(|before| report.users[before].saturating_sub(users));
            let name = match &step.filter {
                Some((property, value)) => format!("{} · {property} = {value}", step.event),
                None => step.event.clone(),
            };
            let detail = match index {
                0 => "started".to_owned(),
                _ => {
                    let mut parts = vec![format!(
                        "{} of the step before",
                        report.step_conversion(index).map_or("–".into(), format::percent)
                    )];
                    if let Some(dropped) = dropped {
                        parts.push(format!("{} dropped", format::count(dropped)));
                    }
                    if let Some(Some(median)) = report.median_ms.get(index) {
                        parts.push(format!("median {}", format::duration_ms(*median)));
                    }
                    parts.join(" · ")
                }
            };
            view! {
                <li class="funnel-step" data-testid="funnel-step" data-users=users>
                    <div class="funnel-label">
                        <span class="funnel-name">{format!("{}. {name}", index + 1)}</span>
                        <span class="num">
                            {format::count(users)}
                            <span class="muted">
                                {format!(" · {}", report.overall_conversion(index).map_or("–".into(), format::percent))}
                            </span>
                        </span>
                    </div>
                    <div class="funnel-track">
                        <div class="funnel-bar" style=format!("width:{width:.1}%")></div>
                    </div>
                    <div class="funnel-detail muted">{detail}</div>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="funnel">
            <ol class="funnel-steps">{rows}</ol>
            <p class="muted small">
                {format!(
                    "Within {} of the first step · counting since {}",
                    format::duration_ms(report.funnel.window_ms as f64),
                    format_utc(since),
                )}
            </p>
        </div>
    }
}

/// An experiment's results: rate and difference with 95 % intervals, always-valid p-values,
/// and a plain warning while the sample is small.
#[component]
fn ExperimentTable(report: ExperimentReport) -> impl IntoView {
    let interval =
        |(low, high): (f64, f64)| format!("{} to {}", format::percent(low), format::percent(high));
    let p_text = |p: Option<f64>| match p {
        Some(p) if p < 0.0001 => "< 0.0001".to_owned(),
        Some(p) => format!("{p:.4}"),
        None => "–".to_owned(),
    };
    let several = report.rows.len() > 2;
    let warnings: Vec<String> = report
        .rows
        .iter()
        .filter_map(|row| row.warning.clone())
        .collect();
    let rows = report
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let verdict = match (index, row.always_valid_p_value, row.difference) {
                (0, _, _) => "control",
                (_, Some(p), Some(difference)) if p < 0.05 && difference > 0.0 => "better",
                (_, Some(p), Some(_)) if p < 0.05 => "worse",
                _ => "no clear difference yet",
            };
            view! {
                <tr data-testid="experiment-row" data-users=row.users data-verdict=verdict>
                    <td class="row-name">{row.name}</td>
                    <td class="num">{format::count(row.users)}</td>
                    <td class="num">{format::count(row.conversions)}</td>
                    <td class="num">
                        {row.rate.map_or("–".into(), format::percent)}
                        <div class="muted small">{interval(row.rate_interval)}</div>
                    </td>
                    <td class="num">
                        {row.difference.map_or("–".into(), |d| format!("{}{}", if d >= 0.0 { "+" } else { "" }, format::percent(d)))}
                        <div class="muted small">{row.difference_interval.map(interval)}</div>
                    </td>
                    <td class="num" title=format!("fixed-horizon p = {}", p_text(row.p_value))>
                        {p_text(row.always_valid_p_value)}
                    </td>
                    <td class=format!("verdict verdict-{}", verdict.split(' ').next().unwrap_or_default())>{verdict}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="experiment">
            <table class="values experiment-table" data-testid="experiment-table">
                <thead>
                    <tr>
                        <th>"Variant"</th>
                        <th class="num">"Users"</th>
                        <th class="num">"Converted"</th>
                        <th class="num">"Rate (95% CI)"</th>
                        <th class="num">"vs control"</th>
                        <th class="num" title="Always-valid (mSPRT) p-value: safe to watch live">"p"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {warnings.into_iter().map(|warning| view! { <p class="warning small" data-testid="experiment-warning">{warning}</p> }).collect_view()}
            <p class="muted small">
                {format!(
                    "Goal: {}. p-values are always-valid (mSPRT), so watching live does not inflate false positives; hover a p-value for the fixed-horizon one.{}",
                    report.experiment.goal_event,
                    if several { " Each variant is compared with the control on its own, without correction for multiple comparisons." } else { "" },
                )}
            </p>
        </div>
    }
}

/// The newest events, newest first.
#[component]
fn Feed(events: Vec<Event>, linked: bool) -> impl IntoView {
    if events.is_empty() {
        return Either::Left(view! { <p class="muted">"No events yet."</p> });
    }
    Either::Right(view! {
        <ul class="event-feed" data-testid="event-feed">
            {events
                .into_iter()
                .map(|event| {
                    let properties = event
                        .properties
                        .iter()
                        .take(4)
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    view! {
                        <li class="feed-item">
                            <span class="feed-time muted">{format_utc(event.ts)}</span>
                            <span class="feed-event">{event.event}</span>
                            {if linked {
                                let address = crate::ui::pages::web::person_address(&event.user_id);
                                Either::Left(view! {
                                    <a class="feed-user" href=address data-testid="feed-user" title="This person's timeline">{event.user_id}</a>
                                })
                            } else {
                                Either::Right(view! { <span class="feed-user muted">{event.user_id}</span> })
                            }}
                            <span class="feed-props muted">{properties}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    })
}

/// A heatmap: time across, value rows (log-spaced) up, darker where more observations fell.
#[component]
fn HeatmapChart(heatmap: Heatmap, unit: String) -> impl IntoView {
    let rows = heatmap.bounds.len().saturating_sub(1).max(1);
    let most = heatmap
        .columns
        .iter()
        .flat_map(|(_, counts)| counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let total: u64 = heatmap
        .columns
        .iter()
        .flat_map(|(_, counts)| counts.iter().copied())
        .sum();
    let step = heatmap.step_ms.max(1);
    let (first, last) = (heatmap.from, heatmap.to);
    let width = ((last - first + step - 1) / step).max(1);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {rows}" preserveAspectRatio="none" width="100%" height="100%">"#
    );
    for (start, counts) in &heatmap.columns {
        let x = (start - first) / step;
        for (row, count) in counts.iter().enumerate().filter(|(_, count)| **count > 0) {
            // Square root, so that the tail (a few slow requests) stays visible.
            let strength = 0.12 + 0.88 * (*count as f64 / most as f64).sqrt();
            svg.push_str(&format!(
                r#"<rect x="{x}" y="{}" width="1" height="1" fill="var(--accent)" fill-opacity="{strength:.3}"/>"#,
                rows - 1 - row
            ));
        }
    }
    svg.push_str("</svg>");
    let label = |value: f64| {
        let digits = if value >= 100.0 {
            0
        } else if value >= 10.0 {
            1
        } else {
            2
        };
        format!("{value:.digits$} {unit}").trim_end().to_owned()
    };
    let top = heatmap
        .bounds
        .last()
        .copied()
        .map(label)
        .unwrap_or_default();
    let middle = heatmap
        .bounds
        .get(rows / 2)
        .copied()
        .map(label)
        .unwrap_or_default();
    let bottom = heatmap
        .bounds
        .first()
        .copied()
        .map(label)
        .unwrap_or_default();
    view! {
        <div class="heatmap" data-testid="heatmap" data-columns=heatmap.columns.len() data-observations=total>
            <div class="heatmap-axis muted small">
                <span>{top}</span>
                <span>{middle}</span>
                <span>{bottom}</span>
            </div>
            <div class="heatmap-plot" inner_html=svg></div>
            <div class="heatmap-times muted small">
                <span>{format_utc(first)}</span>
                <span>{format_utc(last)}</span>
            </div>
        </div>
    }
}
