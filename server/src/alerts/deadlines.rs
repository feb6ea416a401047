//! Time-driven edges: deadlines kept in Redis (a sorted set by time), claimed by whichever
//! process looks first and handed to the evaluator; and notifications held back by silences,
//! released when the silence ends. Only what is due is read: the cost follows the deadlines
//! that pass, not the number of rules. Groups of notifications due (their wait, interval or
//! repeat interval over) are sent from here too.

use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use super::engine::EngineHandle;

/// How often due deadlines are looked for: the latest a time-driven edge is seen.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long a claimed deadline is kept from other processes; it comes back then if the
/// evaluation never rescheduled it (its process died).
const LEASE_MS: i64 = 10_000;
/// Most deadlines claimed per look.
const BATCH: usize = 500;
/// Held notifications are looked at every this many polls.
const HELD_EVERY: u32 = 5;

pub async fn run(context: Arc<Context>, engine: EngineHandle) {
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls: u32 = 0;
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let now_ms = app::clock::now_ms();
        match context.store.claim_due(now_ms, LEASE_MS, BATCH).await {
            Ok(due) if !due.is_empty() => {
                let mut rules: Vec<String> = due.into_iter().map(|(rule, _)| rule).collect();
                rules.sort();
                rules.dedup();
                engine.evaluate(rules);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reading alert deadlines failed"),
        }
        send_due_groups(&context, now_ms).await;
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(HELD_EVERY)
            && let Err(error) = context.store.release_held(now_ms).await
        {
            tracing::warn!(%error, "releasing notifications held by silences failed");
        }
    }
}

/// Most groups sent per look.
const GROUPS_BATCH: usize = 100;

/// Queues the notifications of the groups due at `now_ms`.
async fn send_due_groups(context: &Context, now_ms: i64) {
    let due = match context.store.due_groups(now_ms, GROUPS_BATCH).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "reading the groups of notifications due failed");
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    let snapshot = context.rules.snapshot();
    for key in due {
        let repeat_ms = snapshot
            .config
            .contacts
            .get(&key.contact)
            .and_then(|contact| contact.repeat_ms);
        match context.store.send_group(&key, now_ms, repeat_ms).await {
            Ok(Some(alerts)) if alerts > 0 => {
                tracing::debug!(contact = %key.contact, alerts, "a group's notification queued");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sending a group of notifications failed"),
        }
    }
}
