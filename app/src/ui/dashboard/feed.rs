//! Keeps a page's widgets fed: live over the socket for relative ranges (also through a share
//! link), queried once for absolute ones; time moves on once a second and charts forget what
//! left their window.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::clock::now_ms;
use crate::dashboard::{DashboardRange, Widget};
use crate::ui::dashboard::data::DashboardData;
use crate::ui::shared::status::ConnectionStatus;

/// Keeps every widget of `widgets` fed over `range`: live for relative ranges (through share
/// link `share`, when given), queried once for absolute ones.
pub fn dashboard_data(
    widgets: Signal<Vec<Widget>>,
    range: Signal<DashboardRange>,
    share: Option<String>,
) -> DashboardData {
    let now = RwSignal::new(now_ms());
    // A memo: every chart reads the window several times per update, and it moves once a second.
    let window = Memo::new(move |_| match range.get() {
        DashboardRange::Last { ms } => {
            let now = now.get();
            (now - ms, now)
        }
        DashboardRange::Absolute { from, to } => (from, to),
    });
    let data = DashboardData {
        views: StoredValue::new(HashMap::new()),
        owner: StoredValue::new(Owner::current().unwrap_or_default()),
        status: RwSignal::new(ConnectionStatus::Connecting),
        window: window.into(),
        share: StoredValue::new(share.clone()),
    };
    #[cfg(feature = "hydrate")]
    live::keep_fed(data, widgets, range, share, now);
    #[cfg(not(feature = "hydrate"))]
    let _ = (widgets, share);
    data
}

#[cfg(feature = "hydrate")]
mod live {
    use std::collections::HashMap;

    use leptos::prelude::*;

    use crate::api::run_query;
    use crate::clock::now_ms;
    use crate::dashboard::{DashboardRange, Widget, WidgetKind};
    use crate::live::{Cursor, LiveData, View};
    use crate::model::CurrentValue;
    use crate::query::{Aggregation, Query, Selector, TimeRange};
    use crate::ui::dashboard::data::{ALERTS_VIEW, DashboardData, alerts_view};
    use crate::ui::shared::live_socket::{LiveConnection, LiveSubscription};
    use crate::ui::shared::status::ConnectionStatus;
    use crate::widget_data::{
        ALERT_CHANGES, BAND, PERCENTILES, alert_states_widget, auto_step_ms, live_queries,
        live_span_ms, view_id,
    };

    pub fn keep_fed(
        data: DashboardData,
        widgets: Signal<Vec<Widget>>,
        range: Signal<DashboardRange>,
        share: Option<String>,
        now: RwSignal<i64>,
    ) {
        let connection = StoredValue::new(LiveConnection::open(share.clone(), data.status));
        // Subscription ids stay with their widget for the page's life.
        let ids: StoredValue<HashMap<String, u32>> = StoredValue::new(HashMap::new());
        Effect::new(move |_| {
            let range = range.get();
            let span = live_span_ms(range);
            let wanted: Vec<LiveSubscription> = widgets.with(|widgets| {
                let Some(span) = span else {
                    return Vec::new();
                };
                // Alert states, for the widgets' badges: every state, or through a share link
                // those of its widgets' selectors only.
                let alerts: Vec<(String, crate::live::LiveQuery)> = if share.is_none() {
                    vec![(
                        ALERTS_VIEW.to_owned(),
                        crate::live::LiveQuery::Latest {
                            selector: Selector::parse(crate::alerts::api::STATE_METRIC).ok(),
                        },
                    )]
                } else {
                    // A dashboard has tens of widgets: a list is all the set needed.
                    let mut alerts = Vec::new();
                    for widget in widgets {
                        let Some(query) = &widget.query else { continue };
                        let view = alerts_view(true, &query.selector);
                        if alerts.iter().all(|(seen, _)| *seen != view) {
                            let selector = crate::alerts::api::state_selector(&query.selector);
                            alerts.push((
                                view,
                                crate::live::LiveQuery::Latest {
                                    selector: Some(selector),
                                },
                            ));
                        }
                    }
                    alerts
                };
                widgets
                    .iter()
                    .flat_map(|widget| live_queries(widget, span))
                    .chain(alerts)
                    .filter_map(|(view_id, query)| {
                        let id = ids.try_update_value(|ids| {
                            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX) + 1;
                            *ids.entry(view_id.clone()).or_insert(next)
                        })?;
                        Some(LiveSubscription {
                            id,
                            query,
                            view: data.view_of(&view_id),
                        })
                    })
                    .collect()
            });
            connection.with_value(|connection| connection.set(wanted));
            if let DashboardRange::Absolute { from, to } = range {
                data.status.set(ConnectionStatus::Live);
                widgets.with(|widgets| {
                    for widget in widgets {
                        if widget.kind == WidgetKind::Heatmap {
                            // Asked for by the widget itself, like the analytics widgets.
                            continue;
                        }
                        if let Some(states) = alert_states_widget(widget) {
                            let view = data.view_of(&view_id(&widget.id, Some(ALERT_CHANGES)));
                            query_once(&states, view, (from, to), None, share.clone());
                        }
                        if widget.kind == WidgetKind::Percentiles {
                            for (name, q) in PERCENTILES {
                                let view = data.view_of(&view_id(&widget.id, Some(name)));
                                query_once(
                                    widget,
                                    view,
                                    (from, to),
                                    Some(Aggregation::Quantile { q }),
                                    share.clone(),
                                );
                            }
                        } else {
                            let view = data.view_of(&widget.id);
                            query_once(widget, view, (from, to), None, share.clone());
                            if widget.kind == WidgetKind::Line && widget.display.band {
                                for (name, aggregation) in BAND {
                                    let view = data.view_of(&view_id(&widget.id, Some(name)));
                                    let share = share.clone();
                                    query_once(widget, view, (from, to), Some(aggregation), share);
                                }
                            }
                        }
                    }
                });
            }
        });
        // Time moves on, and charts forget what left their window.
        let handle = set_interval_with_handle(
            move || {
                let current = now_ms();
                now.set(current);
                if let Some(span) = live_span_ms(range.get_untracked()) {
                    data.views.with_value(|views| {
                        for view in views.values() {
                            // A stat keeps the period before for its comparison. Only
                            // views that lose buckets change: the others' widgets stay put.
                            let oldest = view.with_untracked(|view| {
                                let oldest = current - (span * 2 + view.step_ms);
                                view.lines
                                    .values()
                                    .any(|points| {
                                        points.first_key_value().is_some_and(|(t, _)| *t < oldest)
                                    })
                                    .then_some(oldest)
                            });
                            if let Some(oldest) = oldest {
                                view.update(|view| view.trim(oldest));
                            }
                        }
                    });
                }
            },
            std::time::Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    }

    /// Fills `view` with `widget`'s data over `[from, to)` (absolute ranges are not live),
    /// combined by `quantile` instead of the widget's aggregation when given; through share
    /// link `share` when given.
    fn query_once(
        widget: &Widget,
        view: RwSignal<View>,
        (from, to): (i64, i64),
        quantile: Option<Aggregation>,
        share: Option<String>,
    ) {
        let Some(spec) = widget.query.clone() else {
            return;
        };
        let Ok(selector) = Selector::parse(&spec.selector) else {
            return;
        };
        let latest = matches!(widget.kind, WidgetKind::Table | WidgetKind::TopN);
        let query = Query {
            selector: selector.clone(),
            range: TimeRange::Absolute { from, to },
            step_ms: Some(if latest {
                to - from
            } else {
                spec.step_ms.unwrap_or_else(|| auto_step_ms(to - from))
            }),
            aggregation: if latest {
                Aggregation::Last
            } else {
                quantile.unwrap_or(spec.aggregation)
            },
            group_by: if matches!(
                widget.kind,
                WidgetKind::Stat | WidgetKind::Gauge | WidgetKind::Percentiles
            ) {
                Some(Vec::new())
            } else if latest {
                None
            } else {
                spec.group_by
            },
        };
        leptos::task::spawn_local(async move {
            let result = run_query(query, share).await;
            view.update(|view| match result {
                Ok(result) => {
                    let data = if latest {
                        LiveData::Latest {
                            values: result
                                .series
                                .into_iter()
                                .filter_map(|line| {
                                    let (ts, value) = *line.points.last()?;
                                    // A `__name__` pattern's lines name their metric.
                                    let mut labels = line.labels;
                                    let name = labels
                                        .remove(crate::query::NAME_LABEL)
                                        .unwrap_or_else(|| selector.name.clone());
                                    Some(CurrentValue {
                                        series: crate::model::SeriesKey { name, labels },
                                        value,
                                        ts,
                                        kind: None,
                                    })
                                })
                                .collect(),
                            truncated: false,
                        }
                    } else {
                        LiveData::Range {
                            step_ms: result.step_ms,
                            series: result.series,
                        }
                    };
                    view.snapshot(Cursor::default(), data);
                }
                Err(error) => view.refused = Some(error.to_string()),
            });
        });
    }
}
