//! A filtered web report, worked out from the raw event log: the counts are summed over every
//! visit and cannot be split by another ranking afterwards, so the site's page events are read
//! back and moved through the same visit logic as at ingest, and only the visits every filter
//! admits are counted. It covers what the log still holds (`LIVEDASH_EVENT_RETENTION`).

use std::collections::HashMap;

use app::events::Event;
use app::web::{SITE_PROPERTY, URL_PROPERTY, WebFilter, WebReport};

use super::report::{ranked, ranking_names, report_buckets};
use super::session::{self, DIMENSIONS, Deltas, Hit, Visit, hits_of};
use super::{CURRENT_WINDOW_MS, LATENESS_MS};
use crate::storage::{StorageError, Store};

/// How far before a range the log is read: a visit that reaches into the range from before
/// must be seen from its first event, whose source and entry page the filters test. As at
/// ingest, a day (the lateness an event may have) bounds how far back one visit is followed.
pub const FILTER_LOOKBACK_MS: i64 = LATENESS_MS;

/// Log entries read per request.
const LOG_PAGE: usize = 500;

/// Whether `visit` (of hits `hits`) has `value` in ranking `ranking`.
fn admits(filter: &WebFilter, visit: &Visit, hits: &[Hit<'_>]) -> bool {
    let value = filter.value.as_str();
    match filter.ranking.as_str() {
        "page" => hits
            .iter()
            .any(|hit| hit.page && hit.path == value && hit.ts >= visit.s && hit.ts <= visit.e),
        "entry" => visit.en == value,
        "exit" => visit.ex == value,
        ranking => DIMENSIONS
            .iter()
            .position(|dimension| *dimension == ranking)
            .is_some_and(|index| visit.d.split('\t').nth(index) == Some(value)),
    }
}

/// Whether `ranking` names a ranking a report can be filtered by.
#[must_use]
pub fn is_ranking(ranking: &str) -> bool {
    ranking_names().any(|known| known == ranking)
}

impl Store {
    /// The web analytics of `site` over `[from, to)` counting only the visits that every one
    /// of `filters` admits, from the raw event log: the same numbers as [`Store::visit_report`]
    /// gives without filters, over the same whole buckets.
    ///
    /// # Errors
    /// Redis failed, or the log holds an entry livedash cannot read.
    pub async fn filtered_visit_report(
        &self,
        site: &str,
        (from, to): (i64, i64),
        filters: &[WebFilter],
        now_ms: i64,
    ) -> Result<WebReport, StorageError> {
        let (_, width, starts) = report_buckets(from, to);
        let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
            return Ok(WebReport::default());
        };
        let span = (*first, last + width);
        let timeout = self.events.settings.visit_timeout_ms;
        let lower = first - FILTER_LOOKBACK_MS;
        let events = self.site_events(site, lower).await?;
        let mut by_user: HashMap<&str, Vec<&Event>> = HashMap::new();
        for event in events.iter().filter(|event| event.ts >= lower) {
            by_user.entry(&event.user_id).or_default().push(event);
        }
        let mut report = WebReport {
            // Older entries are trimmed by age: a range reaching past that is cut short.
            partial_since: self.log_start(lower, now_ms).await?,
            ..WebReport::default()
        };
        let mut rankings: HashMap<&str, HashMap<String, f64>> = HashMap::new();
        for user_events in by_user.values() {
            let hits = hits_of(user_events);
            let mut visits = Vec::new();
            // Nothing is forgotten for being old: the events are in time order.
            session::advance(
                &mut visits,
                &hits,
                timeout,
                i64::MAX / 4,
                &mut Deltas::default(),
            );
            let admitted: Vec<&Visit> = visits
                .iter()
                .filter(|visit| filters.iter().all(|filter| admits(filter, visit, &hits)))
                .collect();
            count_visits(&admitted, span, &mut report, &mut rankings);
            let mut viewed = false;
            for hit in hits.iter().filter(|hit| hit.page && !hit.path.is_empty()) {
                let inside = hit.ts >= span.0 && hit.ts < span.1;
                if inside && admitted.iter().any(|v| hit.ts >= v.s && hit.ts <= v.e) {
                    viewed = true;
                    *rankings
                        .entry("page")
                        .or_default()
                        .entry(hit.path.to_owned())
                        .or_default() += 1.0;
                }
            }
            report.visitors += u64::from(viewed);
            if admitted
                .iter()
                .any(|visit| visit.e >= now_ms - CURRENT_WINDOW_MS)
            {
                report.current_visitors += 1;
            }
        }
        for ranking in ranking_names() {
            let values = rankings.remove(ranking).unwrap_or_default();
            report.rankings.insert(ranking.to_owned(), ranked(values));
        }
        Ok(report)
    }

    /// When the log's oldest entry was written, if the log may have dropped entries written
    /// since `since` (it keeps `LIVEDASH_EVENT_RETENTION`).
    async fn log_start(&self, since: i64, now_ms: i64) -> Result<Option<i64>, StorageError> {
        if since >= now_ms - self.events.settings.log_retention_ms {
            return Ok(None);
        }
        let oldest = self.log_page("XRANGE", "-", "+", 1).await?;
        Ok(oldest.first().and_then(|(id, _)| entry_time(id)))
    }

    /// The page events of `site` in the log entries written since `since` (ms).
    async fn site_events(&self, site: &str, since: i64) -> Result<Vec<Event>, StorageError> {
        let mut events = Vec::new();
        let mut after = format!("{}", since.max(0));
        loop {
            let entries = self.log_page("XRANGE", &after, "+", LOG_PAGE).await?;
            let Some((last, _)) = entries.last() else {
                break;
            };
            after = format!("({last}");
            let full = entries.len() == LOG_PAGE;
            events.extend(
                entries
                    .into_iter()
                    .flat_map(|(_, batch)| batch)
                    .filter(|event| {
                        event.properties.contains_key(URL_PROPERTY)
                            && event.properties.get(SITE_PROPERTY).map(String::as_str) == Some(site)
                    }),
            );
            if !full {
                break;
            }
        }
        Ok(events)
    }
}

/// Counts the `visits` that started in `span` into `report` and its rankings.
fn count_visits(
    visits: &[&Visit],
    (start, end): (i64, i64),
    report: &mut WebReport,
    rankings: &mut HashMap<&'static str, HashMap<String, f64>>,
) {
    let mut rank = |ranking: &'static str, value: &str| {
        if !value.is_empty() {
            *rankings
                .entry(ranking)
                .or_default()
                .entry(value.to_owned())
                .or_default() += 1.0;
        }
    };
    for visit in visits
        .iter()
        .filter(|visit| visit.s >= start && visit.s < end)
    {
        report.visits += 1;
        report.pageviews += u64::try_from(visit.pv).unwrap_or(0);
        report.duration_ms += u64::try_from(visit.e - visit.s).unwrap_or(0);
        report.bounces += u64::try_from(session::bounce(visit)).unwrap_or(0);
        rank("entry", &visit.en);
        rank("exit", &visit.ex);
        for (dimension, value) in DIMENSIONS.into_iter().zip(visit.d.split('\t')) {
            rank(dimension, value);
        }
    }
}

/// The time (ms) of a stream entry id (`<ms>-<seq>`).
fn entry_time(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}
