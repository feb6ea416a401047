//! The web analytics widgets, drawn in the analytics widgets' chunk: a site's overview (visitors,
//! visits, page views, bounce rate, visit duration, current visitors) and its rankings, whose
//! rows filter the dashboard. The filters live in the address (`filter=<ranking>=<value>`,
//! repeated), so every web widget on the page reads the same ones, and a link keeps them.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::params::ParamsMap;

use crate::format;
use crate::web::{BOUNCE_DEFINITION, Channel, WebFilter, WebReport, ranking_label};

/// The address parameter holding one filter.
pub const FILTER_PARAM: &str = "filter";

/// The filters the address holds (unreadable ones are left out).
#[must_use]
pub fn filters_in(query: &ParamsMap) -> Vec<WebFilter> {
    query
        .get_all(FILTER_PARAM)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|text| {
            let (ranking, value) = text.split_once('=')?;
            Some(WebFilter {
                ranking: ranking.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect()
}

/// What sets the page's filters: it goes to the page's address with the filters given instead
/// of the ones it has (made where the router is known, used by event handlers).
fn filter_setter() -> Callback<Vec<WebFilter>> {
    let location = use_location();
    let navigate = use_navigate();
    Callback::new(move |filters: Vec<WebFilter>| {
        let mut query = location.query.get_untracked();
        query.remove(FILTER_PARAM);
        for filter in &filters {
            query.insert(FILTER_PARAM, format!("{}={}", filter.ranking, filter.value));
        }
        let address = format!(
            "{}{}",
            location.pathname.get_untracked(),
            query.to_query_string()
        );
        navigate(&address, Default::default());
    })
}

/// How a ranking's value reads: channels by their label.
fn shown_value(ranking: &str, value: &str) -> String {
    if ranking == "channel"
        && let Some(channel) = Channel::ALL.iter().find(|c| c.as_str() == value)
    {
        return channel.label().to_owned();
    }
    value.to_owned()
}

/// The overview: the filters in force (each removable), then the numbers.
#[component]
pub fn WebStats(report: WebReport) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let filters = move || query.with(filters_in);
    let visits = report.visits.max(1) as f64;
    let tiles = [
        ("Visitors", format::count(report.visitors), "visitors", ""),
        ("Visits", format::count(report.visits), "visits", ""),
        (
            "Page views",
            format::count(report.pageviews),
            "pageviews",
            "",
        ),
        (
            "Views per visit",
            format!("{:.1}", report.pageviews as f64 / visits),
            "views-per-visit",
            "",
        ),
        (
            "Bounce rate",
            format::percent(report.bounces as f64 / visits),
            "bounce-rate",
            BOUNCE_DEFINITION,
        ),
        (
            "Visit duration",
            format::duration_ms(report.duration_ms as f64 / visits),
            "visit-duration",
            "The average time from a visit's first event to its last.",
        ),
    ];
    view! {
        <div class="web-stats" data-testid="web-stats">
            {move || {
                let filters = filters();
                (!filters.is_empty()).then(|| view! { <FilterChips filters /> })
            }}
            <div class="web-tiles">
                {tiles.into_iter().map(|(label, value, testid, hint)| view! {
                    <div class="web-tile" title=hint>
                        <div class="stat-sub muted">{label}</div>
                        <div class="stat-value" data-testid=format!("web-{testid}")>{value}</div>
                    </div>
                }).collect_view()}
                <div class="web-tile" title="People with an event in the last five minutes, whatever the range.">
                    <div class="stat-sub muted"><span class="live-dot" aria-hidden="true"></span>"Current visitors"</div>
                    <div class="stat-value" data-testid="web-current">{format::count(report.current_visitors)}</div>
                </div>
            </div>
            {report.partial_since.map(|since| view! {
                <p class="muted small">{format!("Filtered from the raw event log, which begins at {}.", crate::model::format_utc(since))}</p>
            })}
        </div>
    }
}

/// The filters in force, each with a button that removes it.
#[component]
fn FilterChips(filters: Vec<WebFilter>) -> impl IntoView {
    let all = StoredValue::new(filters.clone());
    let apply = filter_setter();
    view! {
        <div class="filter-chips" data-testid="web-filters">
            {filters.into_iter().map(|filter| {
                let text = format!("{}: {}", ranking_label(&filter.ranking), shown_value(&filter.ranking, &filter.value));
                view! {
                    <button type="button" class="chip" data-testid="web-filter" title="Remove this filter"
                        on:click=move |_| {
                            let kept: Vec<WebFilter> = all.get_value().into_iter().filter(|f| *f != filter).collect();
                            apply.run(kept);
                        }>
                        {text}<span aria-hidden="true">" ×"</span>
                    </button>
                }
            }).collect_view()}
            <button type="button" class="chip clear" data-testid="web-filters-clear" on:click=move |_| apply.run(Vec::new())>"Clear filters"</button>
        </div>
    }
}

/// One ranking of the report: a row per value with its share; a click filters the page by it.
#[component]
pub fn WebRanking(report: WebReport, ranking: String, limit: usize) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let apply = filter_setter();
    let entries = report.rankings.get(&ranking).cloned().unwrap_or_default();
    if entries.is_empty() {
        let known = crate::web::RANKINGS
            .iter()
            .any(|(name, _)| *name == ranking);
        let text = if known {
            "Nothing in this range."
        } else {
            "Pick a ranking in the widget's settings."
        };
        return Either::Left(view! { <p class="muted">{text}</p> });
    }
    let total: u64 = if ranking == "page" {
        report.pageviews.max(1)
    } else {
        report.visits.max(1)
    };
    let largest = entries.first().map_or(1, |entry| entry.visits.max(1));
    let counted = if ranking == "page" {
        "Page views"
    } else {
        "Visits"
    };
    let ranking = StoredValue::new(ranking);
    Either::Right(view! {
        <table class="values widget-rows web-ranking" data-testid="web-ranking" data-ranking=ranking.get_value()>
            <thead><tr><th></th><th class="num">{counted}</th><th></th></tr></thead>
            <tbody>
                {entries.into_iter().take(limit).map(|entry| {
                    let share = entry.visits as f64 / largest as f64 * 100.0;
                    let filter = WebFilter { ranking: ranking.get_value(), value: entry.value.clone() };
                    let active = {
                        let filter = filter.clone();
                        move || query.with(filters_in).contains(&filter)
                    };
                    let text = shown_value(&filter.ranking, &entry.value);
                    view! {
                        <tr class:active=active.clone()>
                            <td class="row-name">
                                <span class="bar" style=format!("width:{share:.1}%")></span>
                                <button type="button" class="link-button" data-testid="web-row" data-value=entry.value.clone()
                                    title="Show only these visits"
                                    on:click=move |_| {
                                        let mut filters = query.with_untracked(filters_in);
                                        filters.retain(|f| f.ranking != filter.ranking);
                                        filters.push(filter.clone());
                                        apply.run(filters);
                                    }>{text}</button>
                            </td>
                            <td class="num" data-testid="web-row-count">{format::count(entry.visits)}</td>
                            <td class="num muted">{format::percent(entry.visits as f64 / total as f64)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Filters read from the address: `ranking=value`, the value may hold `=`; others are
    /// left out.
    #[test]
    fn filters_are_read_from_the_address() {
        let query: ParamsMap = [
            (FILTER_PARAM, "channel=email"),
            (FILTER_PARAM, "page=/a?b=c"),
            (FILTER_PARAM, "nonsense"),
            ("range", "1h"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            filters_in(&query),
            vec![
                WebFilter {
                    ranking: "channel".into(),
                    value: "email".into()
                },
                WebFilter {
                    ranking: "page".into(),
                    value: "/a?b=c".into()
                },
            ]
        );
    }
}
