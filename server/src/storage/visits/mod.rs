//! Visits (sessions) of web analytics in Redis: each user's recent visits, the counts of visits,
//! page views, duration and bounces per minute and hour, the visits' entry and exit pages,
//! sources and devices, and the current visitors, per site.
//!
//! A visit ends after the timeout (`LIVEDASH_VISIT_TIMEOUT`, 30 minutes) without an event. It is
//! counted in the bucket its start falls in, so a range's visits are those that started in it,
//! whatever buckets they span; events that arrive late or out of order move, extend or join
//! visits, and the counts follow exactly ([`session`]; they are written by `storage::web`).
//! Users are spread over the change log's partitions, each with a hash tag of its own per site,
//! so that no key takes every event on a cluster; a report reads every partition and adds them
//! up.

mod replay;
mod report;
pub mod session;

pub use replay::{FILTER_LOOKBACK_MS, is_ranking};

/// How late an event may arrive and still join, extend or split the visits it belongs to;
/// later ones count as a visit of their own.
pub const LATENESS_MS: i64 = 86_400_000;
/// How long a user counts as a current visitor after their last event.
pub const CURRENT_WINDOW_MS: i64 = 5 * 60_000;
/// Longest range read from one-minute counts (as rankings do); longer ones read hours.
pub const MINUTE_SPAN_MS: i64 = 6 * 3_600_000;
/// How long one-minute counts are kept: past the lateness, so a late event finds the counts
/// it corrects.
pub const MINUTE_RETENTION_MS: i64 = 2 * 86_400_000;
