//! `--demo`: simulated services and product traffic, so that every widget has something
//! real-looking to show.
//!
//! Three services answer requests with log-normal response times (and a slow tail) and a few
//! errors. Visitors arrive on a website, read pages, some walk through the sign-up funnel, and
//! some reach the checkout, where the `checkout-button` experiment assigns them a variant; the
//! `green` variant really converts better (12 % against 8 %). Everything is written through the
//! same paths as real traffic: the metrics writer, the event store, the assignment endpoint's
//! store call. A "Product analytics (demo)" dashboard shows it.
//!
//! On a Redis without demo data, the last 24 hours of the same traffic are written first, each
//! point and event with its own time, so that every chart is full at first sight and rollups,
//! funnel, experiment and unique visitors agree (see `write_history`).

use std::collections::BinaryHeap;
use std::time::Duration;

use app::dashboard::{
    AnalyticsSource, Dashboard, Display, GridRect, Widget, WidgetKind, WidgetQuery,
};
use app::events::AnalyticsChange;
use app::events::{Event, Experiment, Funnel, FunnelStep, PAGE_VIEW, Variant};
use app::model::{MetricKind, Observation, Observed, SeriesKey};
use app::query::Aggregation;
use tokio_util::sync::CancellationToken;

use crate::routes::now_ms;
use crate::storage::events::event_observations;
use crate::storage::writer::Writer;
use crate::storage::{StorageError, Store};

/// How often the simulation writes, ms.
const TICK_MS: u64 = 250;
/// How often the simulation writes.
const TICK: Duration = Duration::from_millis(TICK_MS);
/// Requests per service per tick.
const REQUESTS_PER_TICK: usize = 15;
/// New visitors per tick.
const VISITORS_PER_TICK: u64 = 3;

// The history: the last 24 hours of the same traffic, written at start on a Redis without demo
// data, in steps of 10 s of simulated time (the finest rollup, so that every bucket of every
// tier, and every step of a chart, has points). Per step: each service's request counts by
// status (the live rate, 60 a second at full load, as one increment per counter), 20 response
// times per service, and 4 new visitors at full load. Traffic follows a daily curve that is at
// full load now and lowest 12 hours ago (`DAILY_DIP` less).
//
// At most: 8 640 steps × (3 services × 20 response times + 6 counters) = 570 240 metric
// observations; 34 560 visitors (about 28 500 with the daily curve) sending about 2.7 events
// each: about 94 000 events at most (about 78 000), two observations each (the `events`
// counter and the `event_users` set): about 760 000 observations in all, written 3 000 to
// 4 000 at a time, and the events recorded 400 at a time.

/// Simulated history written at start, ms.
const HISTORY_MS: i64 = 24 * 3_600_000;
/// Simulated time per history step, ms.
const HISTORY_STEP_MS: i64 = 10_000;
/// Requests per service per history step at full load: the live rate.
const HISTORY_REQUESTS_PER_STEP: usize =
    REQUESTS_PER_TICK * (HISTORY_STEP_MS as usize / TICK_MS as usize);
/// Response times recorded per service per history step (live records every request).
const HISTORY_SAMPLES_PER_STEP: usize = 20;
/// New visitors per history step at full load (live: 120 per 10 s; bounded here).
const HISTORY_VISITORS_PER_STEP: f64 = 4.0;
/// How much less traffic there is at the quietest time of the simulated day.
const DAILY_DIP: f64 = 0.35;
/// Observations per write of the history (metrics and events together).
const HISTORY_BATCH: usize = 5_000;
/// Events per `record_events` call of the history (each call is one entry of the raw log).
const HISTORY_EVENT_BATCH: usize = 400;
/// The history's random seed, so that it is the same on every Redis.
const HISTORY_SEED: u64 = 0x6c69_7665_6461_7368;
/// The demo funnel's name, by which it is found again after a restart.
const FUNNEL_NAME: &str = "Sign-up (demo)";
/// The demo experiment's id.
const EXPERIMENT_ID: &str = "checkout-button";
/// Conversion rates of the experiment's variants.
const PURCHASE_RATES: [(&str, f64); 2] = [("control", 0.08), ("green", 0.12)];
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

/// Runs the simulation until `shutdown`: on a Redis without demo data, the history first.
pub async fn run(store: Store, writer: Writer, shutdown: CancellationToken) {
    // Whether this process writes the history. Claimed once, before the set-up makes the demo
    // dashboard (which marks a Redis as having demo data), so that of processes starting
    // together on a Redis without demo data exactly one writes it.
    let mut writes_history = None;
    let funnel_id = loop {
        if writes_history.is_none() {
            match store.claim_demo_history(now_ms()).await {
                Ok(claimed) => writes_history = Some(claimed),
                Err(error) => tracing::debug!(%error, "the demo waits for Redis"),
            }
        }
        if writes_history.is_some() {
            match prepare(&store).await {
                Ok(funnel_id) => break funnel_id,
                Err(error) => tracing::debug!(%error, "the demo waits for Redis"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    };
    let mut simulation = if writes_history == Some(true) {
        // Live traffic goes on from where the history ends: the same visitors, mid-visit.
        let mut simulation = Simulation::seeded(HISTORY_SEED);
        backfill(&mut simulation, &store, &writer, &funnel_id, &shutdown).await;
        if shutdown.is_cancelled() {
            return;
        }
        simulation
    } else {
        Simulation::new()
    };
    tracing::info!("demo traffic is running; see the \"Product analytics (demo)\" dashboard");
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = simulation.step(&store, &writer, now_ms()).await {
            tracing::debug!(%error, "a demo step was not stored");
        }
    }
}

/// Makes the funnel, the experiment and the dashboard, once; returns the funnel's id.
async fn prepare(store: &Store) -> Result<String, StorageError> {
    let definitions = store.definitions().await?;
    let funnel_id = match definitions.funnels.iter().find(|f| f.name == FUNNEL_NAME) {
        Some(funnel) => funnel.id.clone(),
        None => {
            let funnel = Funnel {
                id: String::new(),
                name: FUNNEL_NAME.into(),
                steps: vec![
                    FunnelStep {
                        event: PAGE_VIEW.into(),
                        filter: Some(("path".into(), "/pricing".into())),
                    },
                    FunnelStep {
                        event: "signup_started".into(),
                        filter: None,
                    },
                    FunnelStep {
                        event: "signup_completed".into(),
                        filter: None,
                    },
                ],
                window_ms: 30 * 60_000,
                created_ms: 0,
                counts_from_ms: None,
            };
            let after = store
                .change_analytics(
                    AnalyticsChange::CreateFunnel {
                        funnel,
                        backfill: false,
                    },
                    now_ms(),
                )
                .await
                .map_err(into_storage)?;
            after
                .funnels
                .iter()
                .find(|f| f.name == FUNNEL_NAME)
                .map(|f| f.id.clone())
                .unwrap_or_default()
        }
    };
    if !definitions
        .experiments
        .iter()
        .any(|x| x.id == EXPERIMENT_ID)
    {
        let experiment = Experiment {
            id: EXPERIMENT_ID.into(),
            name: "Checkout button colour (demo)".into(),
            variants: PURCHASE_RATES
                .iter()
                .map(|(name, _)| Variant {
                    name: (*name).into(),
                    weight: 50,
                })
                .collect(),
            goal_event: "purchase".into(),
            created_ms: 0,
        };
        store
            .change_analytics(AnalyticsChange::CreateExperiment { experiment }, now_ms())
            .await
            .map_err(into_storage)?;
    }
    let id = Store::new_dashboard_id().map_err(into_storage)?;
    if store.claim_demo(&id).await.map_err(into_storage)? {
        store
            .create_dashboard_as(
                id,
                dashboard(&funnel_id),
                "Created by --demo",
                "livedash",
                now_ms(),
            )
            .await
            .map_err(into_storage)?;
    }
    Ok(funnel_id)
}

/// Writes the history (see [`write_history`]), then records how it went in the claim's key;
/// a failure is logged with its reason, and live traffic starts either way.
async fn backfill(
    simulation: &mut Simulation,
    store: &Store,
    writer: &Writer,
    funnel_id: &str,
    shutdown: &CancellationToken,
) {
    let started = std::time::Instant::now();
    let now = now_ms();
    let from = now - HISTORY_MS - (now - HISTORY_MS).rem_euclid(HISTORY_STEP_MS);
    tracing::info!(
        hours = HISTORY_MS / 3_600_000,
        "the demo writes the simulated history before it goes live"
    );
    let mut written = Written::default();
    let outcome = write_history(simulation, store, writer, from, shutdown, &mut written).await;
    let seconds = started.elapsed().as_secs_f64();
    let summary = format!(
        "{} observations ({} refused) and {} events in {seconds:.1} s",
        written.observations, written.refused, written.events
    );
    let state = match outcome {
        Ok(()) => {
            // The funnel was made before the history went through it: it counts from there.
            if let Err(error) = store.set_funnel_counts_from(funnel_id, from).await {
                tracing::warn!(%error, "the demo funnel does not show that it counts the history");
            }
            tracing::info!(
                observations = written.observations,
                refused = written.refused,
                events = written.events,
                seconds,
                "the demo's history is written"
            );
            format!("done: {summary}")
        }
        Err(error) if shutdown.is_cancelled() => {
            tracing::info!(%error, "stopped while writing the demo's history ({summary})");
            format!("stopped: {summary}")
        }
        Err(error) => {
            tracing::warn!(
                %error,
                "the demo's history was not written in full ({summary}); live demo traffic \
                 starts without the rest, and the history is not tried again on this Redis"
            );
            format!("failed after {summary}: {error}")
        }
    };
    if let Err(error) = store.finish_demo_history(&state).await {
        tracing::warn!(%error, "how the demo's history went was not recorded");
    }
}

/// What the history has stored so far.
#[derive(Default)]
struct Written {
    observations: usize,
    refused: usize,
    events: usize,
}

/// Writes simulated traffic from `from` (a step boundary) up to the last step that has ended,
/// oldest first, through the same calls as live traffic: the metrics writer for every
/// observation (the events' included), [`Store::record_events`] for the rankings, raw log,
/// funnels and conversions, and [`Store::assign`] for exposures, every point and event with its
/// own simulated time. The end follows the clock, so the history reaches the moment live
/// traffic takes over. Sizes: see the constants at the top.
///
/// # Errors
/// Storage failed, or `shutdown` came.
async fn write_history(
    simulation: &mut Simulation,
    store: &Store,
    writer: &Writer,
    from: i64,
    shutdown: &CancellationToken,
    written: &mut Written,
) -> Result<(), StorageError> {
    // Traffic relative to now's: full now, lowest twelve hours before.
    let now = now_ms();
    let load = |at: i64| {
        let phase = (now - at) as f64 / 86_400_000.0 * std::f64::consts::TAU;
        1.0 - DAILY_DIP * (1.0 - phase.cos()) / 2.0
    };
    let mut observations = Vec::with_capacity(HISTORY_BATCH + 200);
    let mut events = Vec::with_capacity(HISTORY_EVENT_BATCH + 50);
    let mut start = from;
    while start + HISTORY_STEP_MS <= now_ms() {
        if shutdown.is_cancelled() {
            return Err(StorageError::WriterStopped);
        }
        simulation
            .history_step(store, start, load(start), &mut observations, &mut events)
            .await?;
        start += HISTORY_STEP_MS;
        if observations.len() + 2 * events.len() >= HISTORY_BATCH
            || events.len() >= HISTORY_EVENT_BATCH
        {
            flush(store, writer, &mut observations, &mut events, written).await?;
        }
    }
    flush(store, writer, &mut observations, &mut events, written).await
}

/// Writes what the history has gathered, as live traffic is written: the observations (the
/// events' included) through the writer, then the events' own records.
async fn flush(
    store: &Store,
    writer: &Writer,
    observations: &mut Vec<Observation>,
    events: &mut Vec<Event>,
    written: &mut Written,
) -> Result<(), StorageError> {
    observations.extend(event_observations(events.as_slice()));
    let outcome = writer.write(std::mem::take(observations)).await?;
    written.observations += outcome.stored;
    written.refused += outcome.refused.len();
    store.record_events(events.as_slice(), now_ms()).await?;
    written.events += events.len();
    events.clear();
    Ok(())
}

fn into_storage(error: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        key: "demo set-up".into(),
        reason: error.to_string(),
    }
}

/// The demo dashboard.
fn dashboard(funnel_id: &str) -> Dashboard {
    let at = |x, y, w, h| GridRect { x, y, w, h };
    let metric =
        |id: &str, kind, title: &str, layout, selector: &str, aggregation, group: &[&str]| Widget {
            id: id.into(),
            kind,
            title: title.into(),
            layout,
            query: Some(WidgetQuery {
                selector: selector.into(),
                aggregation,
                step_ms: None,
                group_by: Some(group.iter().map(|label| (*label).to_owned()).collect()),
            }),
            display: Display::default(),
            text: String::new(),
            source: None,
        };
    let analytics = |id: &str, kind, title: &str, layout, source: AnalyticsSource| Widget {
        id: id.into(),
        kind,
        title: title.into(),
        layout,
        query: None,
        display: Display::default(),
        text: String::new(),
        source: Some(source),
    };
    let mut dashboard = Dashboard::new("Product analytics (demo)");
    dashboard.description = "Simulated traffic from livedash --demo.".into();
    let mut latency = metric(
        "latency",
        WidgetKind::Percentiles,
        "Response time",
        at(0, 4, 6, 8),
        "http_request_duration_ms",
        Aggregation::Quantile { q: 0.99 },
        &[],
    );
    latency.display.unit = "ms".into();
    let mut heatmap = metric(
        "latency-heatmap",
        WidgetKind::Heatmap,
        "Response time distribution",
        at(0, 27, 12, 8),
        "http_request_duration_ms",
        Aggregation::Quantile { q: 0.5 },
        &[],
    );
    heatmap.display.unit = "ms".into();
    let mut averages = metric(
        "latency-band",
        WidgetKind::Line,
        "Average response time by service, with its min/max band",
        at(0, 35, 12, 8),
        "http_request_duration_ms",
        Aggregation::Avg,
        &["service"],
    );
    averages.display.unit = "ms".into();
    averages.display.band = true;
    let mut page_views = metric(
        "page-views",
        WidgetKind::Stat,
        "Page views per second",
        at(3, 0, 3, 4),
        "events{event=\"page_view\"}",
        Aggregation::Rate,
        &[],
    );
    page_views.display.decimals = Some(1);
    dashboard.widgets = vec![
        analytics(
            "visitors",
            WidgetKind::Uniques,
            "Unique visitors",
            at(0, 0, 3, 4),
            AnalyticsSource::default(),
        ),
        page_views,
        metric(
            "signups",
            WidgetKind::Stat,
            "Sign-ups",
            at(6, 0, 3, 4),
            "events{event=\"signup_completed\"}",
            Aggregation::Sum,
            &[],
        ),
        metric(
            "errors",
            WidgetKind::Stat,
            "Errors per second",
            at(9, 0, 3, 4),
            "http_requests_total{status=\"500\"}",
            Aggregation::Rate,
            &[],
        ),
        latency,
        analytics(
            "funnel",
            WidgetKind::Funnel,
            "Sign-up funnel",
            at(6, 4, 6, 8),
            AnalyticsSource {
                id: funnel_id.into(),
                ..AnalyticsSource::default()
            },
        ),
        analytics(
            "experiment",
            WidgetKind::Experiment,
            "Checkout button experiment",
            at(0, 12, 8, 7),
            AnalyticsSource {
                id: EXPERIMENT_ID.into(),
                ..AnalyticsSource::default()
            },
        ),
        analytics(
            "top-pages",
            WidgetKind::TopValues,
            "Top pages",
            at(8, 12, 4, 7),
            AnalyticsSource {
                event: PAGE_VIEW.into(),
                property: "path".into(),
                ..AnalyticsSource::default()
            },
        ),
        metric(
            "requests",
            WidgetKind::Line,
            "Requests per second by service",
            at(0, 19, 6, 8),
            "http_requests_total",
            Aggregation::Rate,
            &["service"],
        ),
        analytics(
            "feed",
            WidgetKind::EventFeed,
            "Latest events",
            at(6, 19, 6, 8),
            AnalyticsSource::default(),
        ),
        heatmap,
        averages,
    ];
    dashboard
}

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
struct Simulation {
    random: Random,
    next_visitor: u64,
    pending: BinaryHeap<Due>,
}

impl Simulation {
    /// Live traffic from a random seed. Its visitors are numbered from a random million, so
    /// that they are not taken for those of an earlier run or of the history (numbered from 1),
    /// whom the funnel and the experiment already know.
    fn new() -> Self {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        let mut simulation = Self::seeded(u64::from_le_bytes(seed));
        simulation.next_visitor = (simulation.random.next() % 1_000_000 + 1) * 1_000_000;
        simulation
    }

    /// Traffic from `seed`, visitors numbered from 1.
    fn seeded(seed: u64) -> Self {
        Self {
            random: Random(seed | 1),
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
    async fn history_step(
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
    async fn step(&mut self, store: &Store, writer: &Writer, now: i64) -> Result<(), StorageError> {
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

/// xorshift64*: plenty for simulated traffic, and no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Uniform in `[low, high)`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.unit() * (high - low) as f64) as i64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}
