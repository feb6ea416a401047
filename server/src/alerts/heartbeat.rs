//! Every process marks itself alive for alerting every second and reads who else is, so
//! that the rules are shared among the live processes ([`super::members`]).

use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use super::engine::EngineHandle;

/// How often a process marks itself alive.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silent this long, a process is no longer a member: its rules go to the others.
const SILENT_MS: i64 = 5_000;

/// Marks this process alive every second until shutdown, then leaves; a change of members
/// has every rule evaluated afresh.
pub async fn run(context: Arc<Context>, engine: EngineHandle) {
    let mut every = tokio::time::interval(HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        let now_ms = app::clock::now_ms();
        match context
            .store
            .alert_members(&context.consumer, now_ms, now_ms - SILENT_MS)
            .await
        {
            Ok(live) => {
                if context.members.update(live) {
                    // Rules this process did not own were not told of new series.
                    for compiled in context.rules.snapshot().rules.values() {
                        compiled.forget_series();
                    }
                    engine.evaluate_all();
                }
            }
            Err(error) => tracing::warn!(%error, "marking this process alive for alerting failed"),
        }
    }
    if let Err(error) = context.store.leave_alert_members(&context.consumer).await {
        tracing::debug!(%error, "leaving the alerting members failed");
    }
}
