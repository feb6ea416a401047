//! `--demo`: simulated services and product traffic, so that every widget has something
//! real-looking to show.
//!
//! Three services answer requests with log-normal response times (and a slow tail) and a few
//! errors. Visitors arrive on a website, read pages, some walk through the sign-up funnel, and
//! some reach the checkout, where the `checkout-button` experiment assigns them a variant; the
//! `green` variant really converts better (12 % against 8 %). Everything is written through the
//! same paths as real traffic: the metrics writer, the event store, the assignment endpoint's
//! store call. A "Product analytics (demo)" dashboard shows it.

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

/// How often the simulation writes.
const TICK: Duration = Duration::from_millis(250);
/// Requests per service per tick.
const REQUESTS_PER_TICK: usize = 15;
/// New visitors per tick.
const VISITORS_PER_TICK: u64 = 3;
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

/// Runs the simulation until `shutdown`.
pub async fn run(store: Store, writer: Writer, shutdown: CancellationToken) {
    let mut simulation = Simulation::new();
    loop {
        match prepare(&store).await {
            Ok(()) => break,
            Err(error) => tracing::debug!(%error, "the demo waits for Redis"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
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

/// Makes the funnel, the experiment and the dashboard, once.
async fn prepare(store: &Store) -> Result<(), StorageError> {
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
    fn new() -> Self {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Self {
            random: Random(u64::from_le_bytes(seed) | 1),
            next_visitor: 0,
            pending: BinaryHeap::new(),
        }
    }

    /// One tick: service requests, new visitors, and every visitor action that is due.
    async fn step(&mut self, store: &Store, writer: &Writer, now: i64) -> Result<(), StorageError> {
        let mut observations = Vec::new();
        for (service, median, error_rate) in SERVICES {
            for _ in 0..REQUESTS_PER_TICK {
                // Log-normal, with one request in fifty five times slower.
                let mut duration = median * (0.45 * self.random.normal()).exp();
                if self.random.chance(0.02) {
                    duration *= 5.0;
                }
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

    /// Carries out one due action: the event it sends, and what the visitor does next.
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
