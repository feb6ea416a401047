//! The demo job: the set-up, the history once, then live traffic until shutdown.

use std::time::Duration;

use app::clock::now_ms;
use tokio_util::sync::CancellationToken;

use crate::storage::Store;
use crate::storage::writer::Writer;

use super::history::{HISTORY_SEED, backfill};
use super::setup::prepare;
use super::simulation::{Simulation, TICK};

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
