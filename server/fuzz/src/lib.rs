//! Checks shared by the fuzz targets: whatever a parser accepts must be safe to store.

use app::events::Event;
use app::model::SeriesKey;
use app::query::Query;
use server::config::Retention;
use server::storage::keys::{Keys, SeriesId};
use server::storage::plan::{Planner, QueryLimits, Reading, check_range};

const PREFIX: &str = "ld:";

/// A series a parser accepted and validation passed: every key built from it stays inside
/// livedash's prefix and is named by the series' id, never by its text.
///
/// # Panics
/// A key leaves the prefix or carries user text.
pub fn check_storable(series: &SeriesKey) {
    let keys = Keys::new(PREFIX);
    let id = SeriesId::of(series);
    let base = format!("{PREFIX}{{{}}}", id.as_str());
    for key in [
        keys.series_base(&id),
        keys.meta(&id),
        keys.raw_chunk(&id, i64::MIN),
        keys.rollup_chunk(&id, "1m", i64::MAX),
    ] {
        assert!(key.starts_with(&base), "{key} does not start with {base}");
        assert_own_key(&key);
    }
    assert_own_key(&keys.name_index(&series.name));
}

/// An event a parser accepted: the keys built from its name, properties and user stay inside
/// livedash's prefix.
///
/// # Panics
/// A key leaves the prefix or carries user text.
pub fn check_event(event: &Event) {
    let keys = Keys::new(PREFIX);
    assert_own_key(&keys.top(&event.event, "", "1m", event.ts));
    for property in event.properties.keys() {
        assert_own_key(&keys.top(&event.event, property, "1h", event.ts));
    }
    assert_own_key(&keys.funnel_user("0123456789abcdef", &event.user_id));
}

fn assert_own_key(key: &str) {
    let rest = key
        .strip_prefix(PREFIX)
        .unwrap_or_else(|| panic!("{key} is outside the prefix"));
    assert!(
        rest.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"{}:-_".contains(&b)),
        "{key} carries text livedash did not write"
    );
}

/// A fixed "now" (2026-01-01), so a crash found once reproduces.
pub const NOW_MS: i64 = 1_767_225_600_000;

/// A query from outside, planned as storage plans it over `series` series: refused, or within
/// the limits (keys read, points held) whatever its times, step and aggregation.
///
/// # Panics
/// A plan over the limits, or arithmetic that overflows on the way.
pub fn check_planned(query: &Query, now_ms: i64, series: usize) {
    let limits = QueryLimits::default();
    let planner = Planner {
        now_ms,
        retention: Retention::default(),
        limits,
    };
    if check_range(query.range).is_err() {
        return;
    }
    let (from, to) = query.range.resolve(now_ms);
    let reading = Reading::of(query.aggregation);
    if let Ok(plan) = planner.plan((from, to, query.step_ms), reading, series) {
        let bound = plan.bound(reading, series);
        assert!(bound.keys <= limits.max_keys, "{plan:?}: {bound:?}");
        assert!(bound.points <= limits.max_points, "{plan:?}: {bound:?}");
        assert!(
            plan.steps() <= server::storage::plan::MAX_POINTS,
            "{plan:?}"
        );
    }
}
