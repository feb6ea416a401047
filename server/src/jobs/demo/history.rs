//! The demo's history: the last 24 hours of the same traffic, written once at start on a Redis
//! without demo data.

use app::clock::now_ms;
use app::events::Event;
use app::model::Observation;
use tokio_util::sync::CancellationToken;

use crate::storage::events::event_observations;
use crate::storage::writer::Writer;
use crate::storage::{StorageError, Store};

use super::simulation::{HISTORY_STEP_MS, Simulation};

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
/// How much less traffic there is at the quietest time of the simulated day.
const DAILY_DIP: f64 = 0.35;
/// Observations per write of the history (metrics and events together).
const HISTORY_BATCH: usize = 5_000;
/// Events per `record_events` call of the history (each call is one entry of the raw log).
const HISTORY_EVENT_BATCH: usize = 400;
/// The history's random seed, so that it is the same on every Redis.
pub(super) const HISTORY_SEED: u64 = 0x6c69_7665_6461_7368;

/// Writes the history (see [`write_history`]), then records how it went in the claim's key;
/// a failure is logged with its reason, and live traffic starts either way.
pub(super) async fn backfill(
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
