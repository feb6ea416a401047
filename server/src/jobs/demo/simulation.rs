//! The simulated traffic: services answering requests, and visitors reading pages, walking
//! through the sign-up funnel and reaching the checkout experiment.

use std::collections::BinaryHeap;
use std::time::Duration;

use app::events::{Event, PAGE_VIEW};
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::random::Rng;

use crate::storage::events::event_observations;
use crate::storage::writer::Writer;
use crate::storage::{StorageError, Store};

/// How often the simulation writes, ms.
const TICK_MS: u64 = 250;
/// How often the simulation writes.
pub(super) const TICK: Duration = Duration::from_millis(TICK_MS);
/// Requests per service per tick.
const REQUESTS_PER_TICK: usize = 15;
/// New visitors per tick.
const VISITORS_PER_TICK: u64 = 3;
/// Simulated time per history step, ms.
pub(super) const HISTORY_STEP_MS: i64 = 10_000;
/// Requests per service per history step at full load: the live rate.
const HISTORY_REQUESTS_PER_STEP: usize =
    REQUESTS_PER_TICK * (HISTORY_STEP_MS as usize / TICK_MS as usize);
/// Response times recorded per service per history step (live records every request).
const HISTORY_SAMPLES_PER_STEP: usize = 20;
/// New visitors per history step at full load (live: 120 per 10 s; bounded here).
const HISTORY_VISITORS_PER_STEP: f64 = 4.0;
/// The demo experiment's id.
pub(super) const EXPERIMENT_ID: &str = "checkout-button";
/// Conversion rates of the experiment's variants.
pub(super) const PURCHASE_RATES: [(&str, f64); 2] = [("control", 0.08), ("green", 0.12)];
/// Services: name, median response time (ms), error rate.
const SERVICES: [(&str, f64, f64); 3] = [
    ("api", 35.0, 0.01),
    ("web", 110.0, 0.005),
    ("checkout", 240.0, 0.03),
];
/// Pages a visitor reads besides the funnel's.
const PAGES: [&str; 6] = [
    "/",
    "/docs",
    "/blog/live-dashboards",
    "/blog/hyperloglog",
    "/about",
    "/docs/ingest",
];

/// What a visitor does next, and when.
#[derive(PartialEq, Eq)]
struct Due {
    at: i64,
    visitor: u64,
    action: Action,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Action {
    Land,
    Read,
    Pricing,
    SignupStarted,
    SignupCompleted,
    Checkout,
    Purchase,
}

impl Ord for Due {
    /// Earliest first in a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .at
            .cmp(&self.at)
            .then(other.visitor.cmp(&self.visitor))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The simulation's state: who does what next, and a random source.
pub(super) struct Simulation {
    random: Rng,
    next_visitor: u64,
    pending: BinaryHeap<Due>,
}

impl Simulation {
    /// Live traffic from a random seed. Its visitors are numbered from a random million, so
    /// that they are not taken for those of an earlier run or of the history (numbered from 1),
    /// whom the funnel and the experiment already know.
    pub(super) fn new() -> Self {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        let mut simulation = Self::seeded(u64::from_le_bytes(seed));
        simulation.next_visitor = (simulation.random.below(1_000_000) + 1) * 1_000_000;
        simulation
    }

    /// Traffic from `seed`, visitors numbered from 1.
    pub(super) fn seeded(seed: u64) -> Self {
        Self {
            random: Rng::new(seed | 1),
            next_visitor: 0,
            pending: BinaryHeap::new(),
        }
    }

    /// One simulated response time, ms: log-normal, with one request in fifty five times
    /// slower.
    fn response_time(&mut self, median: f64) -> f64 {
        let mut duration = median * (0.45 * self.random.normal()).exp();
        if self.random.chance(0.02) {
            duration *= 5.0;
        }
        duration
    }

    /// One step of the history, `[start, start + HISTORY_STEP_MS)` at `load` (1: live
    /// traffic's): its metrics into `observations`, and the events of every visitor action due
    /// in it into `events`, each at its own time (exposures are stored at once, as live).
    pub(super) async fn history_step(
        &mut self,
        store: &Store,
        start: i64,
        load: f64,
        observations: &mut Vec<Observation>,
        events: &mut Vec<Event>,
    ) -> Result<(), StorageError> {
        let end = start + HISTORY_STEP_MS;
        let requests = (HISTORY_REQUESTS_PER_STEP as f64 * load).round() as usize;
        // Response times spread evenly over the step, so that they arrive in time order.
        let spacing = HISTORY_STEP_MS / HISTORY_SAMPLES_PER_STEP as i64;
        for (service, median, error_rate) in SERVICES {
            let errors = (0..requests)
                .filter(|_| self.random.chance(error_rate))
                .count();
            for (status, count) in [("200", requests - errors), ("500", errors)] {
                observations.push(Observation {
                    series: SeriesKey::new("http_requests_total")
                        .with_label("service", service)
                        .with_label("status", status),
                    kind: MetricKind::Counter,
                    ts: end - 1,
                    value: Observed::Number(count as f64),
                });
            }
            for sample in 0..HISTORY_SAMPLES_PER_STEP as i64 {
                let ts = start + sample * spacing + self.random.between(0, spacing);
                let duration = self.response_time(median);
                observations.push(Observation {
                    series: SeriesKey::new("http_request_duration_ms")
                        .with_label("service", service),
                    kind: MetricKind::Histogram,
                    ts,
                    value: Observed::Number(duration),
                });
            }
        }
        let visitors = HISTORY_VISITORS_PER_STEP * load;
        let mut arriving = visitors.floor() as u64;
        if self.random.chance(visitors.fract()) {
            arriving += 1;
        }
        for _ in 0..arriving {
            self.next_visitor += 1;
            let at = self.random.between(start, end);
            self.schedule(self.next_visitor, Action::Land, at);
        }
        // Actions scheduled by these may fall within the step too, and are taken in turn.
        while self.pending.peek().is_some_and(|due| due.at < end) {
            let Some(due) = self.pending.pop() else { break };
            let at = due.at;
            events.push(self.act(store, due, at).await?);
        }
        Ok(())
    }

    /// One tick: service requests, new visitors, and every visitor action that is due.
    pub(super) async fn step(
        &mut self,
        store: &Store,
        writer: &Writer,
        now: i64,
    ) -> Result<(), StorageError> {
        let mut observations = Vec::new();
        for (service, median, error_rate) in SERVICES {
            for _ in 0..REQUESTS_PER_TICK {
                let duration = self.response_time(median);
                let status = if self.random.chance(error_rate) {
                    "500"
                } else {
                    "200"
                };
                observations.push(Observation {
                    series: SeriesKey::new("http_request_duration_ms")
                        .with_label("service", service),
                    kind: MetricKind::Histogram,
                    ts: now,
                    value: Observed::Number(duration),
                });
                observations.push(Observation {
                    series: SeriesKey::new("http_requests_total")
                        .with_label("service", service)
                        .with_label("status", status),
                    kind: MetricKind::Counter,
                    ts: now,
                    value: Observed::Number(1.0),
                });
            }
        }
        for _ in 0..VISITORS_PER_TICK {
            self.next_visitor += 1;
            let delay = self.random.between(0, 250);
            self.schedule(self.next_visitor, Action::Land, now + delay);
        }
        let mut events = Vec::new();
        while self.pending.peek().is_some_and(|due| due.at <= now) {
            let Some(due) = self.pending.pop() else { break };
            events.push(self.act(store, due, now).await?);
        }
        observations.extend(event_observations(&events));
        writer.write(observations).await?;
        store.record_events(&events, now).await
    }

    fn schedule(&mut self, visitor: u64, action: Action, at: i64) {
        self.pending.push(Due {
            at,
            visitor,
            action,
        });
    }

    /// Schedules `action` between `low` and `high` ms from `now`.
    fn schedule_within(&mut self, visitor: u64, action: Action, now: i64, (low, high): (i64, i64)) {
        let at = now + self.random.between(low, high);
        self.schedule(visitor, action, at);
    }

    /// Carries out one due action at `now`: the event it sends, and what the visitor does next.
    async fn act(&mut self, store: &Store, due: Due, now: i64) -> Result<Event, StorageError> {
        let user = format!("demo-{:06}", due.visitor);
        let page = |path: &str| Some(("path", path.to_owned()));
        let (event, property) = match due.action {
            Action::Land => {
                let next = if self.random.chance(0.45) {
                    Action::Pricing
                } else if self.random.chance(0.4) {
                    Action::Checkout
                } else {
                    Action::Read
                };
                self.schedule_within(due.visitor, next, now, (1_000, 8_000));
                (PAGE_VIEW, page(PAGES[self.random.between(0, 2) as usize]))
            }
            Action::Read => {
                if self.random.chance(0.5) {
                    self.schedule_within(due.visitor, Action::Read, now, (2_000, 15_000));
                }
                (
                    PAGE_VIEW,
                    page(PAGES[self.random.between(0, PAGES.len() as i64) as usize]),
                )
            }
            Action::Pricing => {
                if self.random.chance(0.5) {
                    self.schedule_within(due.visitor, Action::SignupStarted, now, (2_000, 12_000));
                }
                (PAGE_VIEW, page("/pricing"))
            }
            Action::SignupStarted => {
                if self.random.chance(0.6) {
                    self.schedule_within(
                        due.visitor,
                        Action::SignupCompleted,
                        now,
                        (3_000, 20_000),
                    );
                }
                ("signup_started", None)
            }
            Action::SignupCompleted => ("signup_completed", Some(("plan", "free".to_owned()))),
            Action::Checkout => {
                let variant = store
                    .assign(EXPERIMENT_ID, &user, true)
                    .await
                    .map_err(into_storage)?;
                let rate = PURCHASE_RATES
                    .iter()
                    .find(|(name, _)| *name == variant)
                    .map_or(0.0, |(_, rate)| *rate);
                if self.random.chance(rate) {
                    self.schedule_within(due.visitor, Action::Purchase, now, (2_000, 15_000));
                }
                (PAGE_VIEW, page("/checkout"))
            }
            Action::Purchase => ("purchase", None),
        };
        Ok(Event {
            event: event.into(),
            user_id: user,
            ts: now,
            properties: property
                .map(|(name, value)| (name.to_owned(), value))
                .into_iter()
                .collect(),
        })
    }
}

pub(super) fn into_storage(error: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        key: "demo set-up".into(),
        reason: error.to_string(),
    }
}
