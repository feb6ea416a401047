//! A dashboard's time range: the picker (relative ranges, or a custom span in a chunk of its
//! own), and the range as the address writes it, so that a link reproduces the view.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::dashboard::DashboardRange;
use crate::query::parse_duration_ms;

/// The relative ranges the picker offers.
pub const RANGES: [(&str, &str); 9] = [
    ("5m", "Last 5 minutes"),
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("12h", "Last 12 hours"),
    ("24h", "Last 24 hours"),
    ("2d", "Last 2 days"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// The range the address asks for (`?range=1h`, or `?from=…&to=…` in ms), if it asks.
#[must_use]
pub fn range_from_address(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Option<DashboardRange> {
    if let (Some(from), Some(to)) = (from, to) {
        let (from, to) = (from.parse().ok()?, to.parse().ok()?);
        return (to > from).then_some(DashboardRange::Absolute { from, to });
    }
    let ms = parse_duration_ms(range?).ok()?;
    (ms > 0).then_some(DashboardRange::Last { ms })
}

/// `?range=1h` or `?from=…&to=…` for `range`.
#[must_use]
pub fn range_query(range: DashboardRange) -> String {
    match range {
        DashboardRange::Last { ms } => format!("range={}", duration_text(ms)),
        DashboardRange::Absolute { from, to } => format!("from={from}&to={to}"),
    }
}

/// `5m`, `1h`, `7d`: the largest whole unit.
#[must_use]
pub fn duration_text(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The range the address asks for, or `fallback`.
pub fn address_range(fallback: DashboardRange) -> Memo<DashboardRange> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .with(|query| {
                range_from_address(
                    query.get_str("range"),
                    query.get_str("from"),
                    query.get_str("to"),
                )
            })
            .unwrap_or(fallback)
    })
}

/// The range picker: relative ranges, or a custom span; it changes the address, so a link
/// reproduces the view.
#[component]
pub fn RangePicker(
    range: Signal<DashboardRange>,
    on_change: Callback<DashboardRange>,
) -> impl IntoView {
    let custom = RwSignal::new(false);
    let chosen = move || match range.get() {
        DashboardRange::Last { ms } => duration_text(ms),
        DashboardRange::Absolute { .. } => "custom".into(),
    };
    view! {
        <div class="range-picker">
            <select
                aria-label="Time range"
                data-testid="range-picker"
                on:change=move |event| {
                    let value = event_target_value(&event);
                    if value == "custom" {
                        custom.set(true);
                    } else if let Ok(ms) = parse_duration_ms(&value) {
                        custom.set(false);
                        on_change.run(DashboardRange::Last { ms });
                    }
                }
            >
                {move || {
                    let chosen = chosen();
                    let mut options: Vec<(String, String)> = RANGES
                        .iter()
                        .map(|(value, label)| ((*value).to_owned(), (*label).to_owned()))
                        .collect();
                    if chosen != "custom" && !options.iter().any(|(value, _)| *value == chosen) {
                        options.push((chosen.clone(), format!("Last {chosen}")));
                    }
                    options.push(("custom".into(), "Custom range…".into()));
                    options
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = value == chosen;
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <Show when=move || custom.get()>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(custom_range(on_change, custom))}
                </Suspense>
            </Show>
        </div>
    }
}

/// The form for a custom span, in a WASM chunk of its own: few viewers open it.
#[lazy]
async fn custom_range(on_change: Callback<DashboardRange>, open: RwSignal<bool>) -> AnyView {
    let (from_text, to_text) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let apply = move || {
        let parse = |text: String| parse_local_datetime(&text);
        if let (Some(from), Some(to)) = (
            parse(from_text.get_untracked()),
            parse(to_text.get_untracked()),
        ) && to > from
        {
            on_change.run(DashboardRange::Absolute { from, to });
            open.set(false);
        }
    };
    view! {
        <form class="custom-range" on:submit=move |event| {
            event.prevent_default();
            apply();
        }>
            <label class="field">
                <span>"From (UTC)"</span>
                <input type="datetime-local" required prop:value=move || from_text.get()
                    on:input=move |event| from_text.set(event_target_value(&event)) />
            </label>
            <label class="field">
                <span>"To (UTC)"</span>
                <input type="datetime-local" required prop:value=move || to_text.get()
                    on:input=move |event| to_text.set(event_target_value(&event)) />
            </label>
            <button class="button secondary" type="submit">"Apply"</button>
        </form>
    }
    .into_any()
}

/// `2026-11-22T08:30` (read as UTC) to ms since the epoch.
#[must_use]
pub fn parse_local_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut time = time.splitn(3, ':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: i64 = time.next().map_or(Some(0.0), |s| s.parse::<f64>().ok())? as i64;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip_through_the_address() {
        assert_eq!(
            range_from_address(Some("15m"), None, None),
            Some(DashboardRange::Last { ms: 900_000 })
        );
        assert_eq!(
            range_from_address(Some("1h"), Some("10"), Some("20")),
            Some(DashboardRange::Absolute { from: 10, to: 20 })
        );
        assert_eq!(range_from_address(None, Some("20"), Some("10")), None);
        assert_eq!(range_from_address(Some("soon"), None, None), None);
        for range in [
            DashboardRange::Last { ms: 300_000 },
            DashboardRange::Last { ms: 7 * 86_400_000 },
            DashboardRange::Last { ms: 90_000 },
        ] {
            let text = range_query(range);
            let value = text.strip_prefix("range=").unwrap();
            assert_eq!(range_from_address(Some(value), None, None), Some(range));
        }
        assert_eq!(
            range_query(DashboardRange::Absolute { from: 1, to: 2 }),
            "from=1&to=2"
        );
    }

    #[test]
    fn custom_times_read_as_utc() {
        assert_eq!(parse_local_datetime("1970-01-01T00:01"), Some(60_000));
        assert_eq!(
            parse_local_datetime("2026-11-22T08:30"),
            Some(1_795_336_200_000)
        );
        assert_eq!(parse_local_datetime("2026-13-22T08:30"), None);
        assert_eq!(parse_local_datetime("yesterday"), None);
    }
}
