//! The delivery worker, one per process: reads new notifications from the outbox through the
//! consumer group, sends each (held back instead while a silence covers it), acknowledges it
//! only after a 2xx, retries failures with backoff until the retry period is over and then
//! keeps them as dead letters. Entries it works on are claimed again every second, so nobody
//! takes them while it lives; entries another process left idle (it died) are taken over and
//! sent with the same id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::alerts::api::DeadLetter;
use app::alerts::machine::Notice;
use tokio::sync::mpsc;

use super::send::{self, SendError};
use crate::alerts::context::Context;
use crate::alerts::silences;
use crate::storage::RedisTarget;
use crate::storage::alerts::{Attempts, GroupKey, GroupTiming, Notification, OutboxEntry, Queued};

/// Most notifications read at once.
const BATCH: usize = 64;
/// How long a read waits for new notifications.
const BLOCK_MS: u64 = 1_000;
/// How often entries in work are claimed again and idle ones taken over.
const KEEP_EVERY: Duration = Duration::from_secs(1);
/// Most deliveries in flight at once.
const CONCURRENCY: usize = 64;

/// What happened to one entry.
enum Outcome {
    Done(String),
    Retry(String, i64),
}

pub async fn run(context: Arc<Context>, redis: RedisTarget) {
    let http = send::client();
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    // Entries this worker holds: in flight, or waiting for a retry at the time given.
    let mut held: HashMap<String, (OutboxEntry, Option<i64>)> = HashMap::new();
    // The blocking read runs in a task of its own: a read cut short by another event would
    // leave what Redis handed over unseen until it is taken over as idle.
    let (entries_tx, mut entries) = mpsc::channel::<Vec<OutboxEntry>>(4);
    tokio::spawn(read_loop(context.clone(), redis, entries_tx));
    let mut keep = tokio::time::interval(KEEP_EVERY);
    keep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry_tick = tokio::time::interval(Duration::from_millis(100));
    retry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = |entry: OutboxEntry, held: &mut HashMap<String, (OutboxEntry, Option<i64>)>| {
        held.insert(entry.id.clone(), (entry.clone(), None));
        let context = context.clone();
        let http = http.clone();
        let permits = permits.clone();
        let outcomes = outcomes_tx.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = deliver(&context, &http, &entry).await;
            let _ = outcomes.send(outcome);
        });
    };
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => return,
            read = entries.recv() => match read {
                Some(read) => {
                    for entry in read {
                        start(entry, &mut held);
                    }
                }
                None => return,
            },
            Some(outcome) = outcomes.recv() => match outcome {
                Outcome::Done(id) => { held.remove(&id); }
                Outcome::Retry(id, at) => {
                    if let Some(slot) = held.get_mut(&id) { slot.1 = Some(at); }
                }
            },
            _ = retry_tick.tick() => {
                let now = app::clock::now_ms();
                let due: Vec<OutboxEntry> = held
                    .values()
                    .filter(|(_, at)| at.is_some_and(|at| at <= now))
                    .map(|(entry, _)| entry.clone())
                    .collect();
                for entry in due {
                    start(entry, &mut held);
                }
            },
            _ = keep.tick() => {
                let ids: Vec<String> = held.keys().cloned().collect();
                if let Err(error) = context.store.keep_claimed(&context.consumer, &ids).await {
                    tracing::warn!(%error, "claiming notifications in work failed");
                }
                let idle = u64::try_from(context.settings.claim_after_ms).unwrap_or(30_000);
                match context.store.claim_stale(&context.consumer, idle, BATCH).await {
                    Ok(taken) => {
                        for entry in taken {
                            if held.contains_key(&entry.id) {
                                continue;
                            }
                            tracing::info!(id = %entry.id, "took over a notification left by a stopped process");
                            start(entry, &mut held);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "taking over idle notifications failed"),
                }
            },
        }
    }
}

/// Reads new notifications on a connection of its own and hands them over.
async fn read_loop(
    context: Arc<Context>,
    redis: RedisTarget,
    entries: mpsc::Sender<Vec<OutboxEntry>>,
) {
    let mut reader = None;
    let mut grouped = false;
    loop {
        if context.shutdown.is_cancelled() {
            return;
        }
        if !grouped {
            match context.store.ensure_outbox_group().await {
                Ok(()) => grouped = true,
                Err(error) => {
                    tracing::warn!(%error, "making the notification outbox's group failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let connection = match reader.as_mut() {
            Some(connection) => connection,
            // A blocking read waits longer than the default response timeout.
            None => match redis
                .dedicated_connection(Duration::from_millis(BLOCK_MS + 5_000))
                .await
            {
                Ok(connection) => reader.insert(connection),
                Err(error) => {
                    tracing::warn!(%error, "the notification worker could not connect to Redis");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        match context
            .store
            .read_outbox(connection, &context.consumer, BATCH, BLOCK_MS)
            .await
        {
            Ok(read) if read.is_empty() => {}
            Ok(read) => {
                if entries.send(read).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "reading the notification outbox failed");
                // The stream or its group may be gone (a Redis that restarted empty).
                grouped = false;
                reader = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// A notification kept aside until a time, with what says whether it still applies then: its
/// instance's count of transitions when it was queued.
fn held(queued: &Queued) -> String {
    serde_json::json!({
        "rule_id": queued.rule_id,
        "group": queued.group,
        "transitions": queued.transitions,
        "notification": serde_json::to_string(queued).unwrap_or_default(),
    })
    .to_string()
}

/// Holds `alerts` back until `until` (`why`: a silence, a mute timing): each kept aside and
/// sent then on its own (joining its group again, if its contact point groups), unless its
/// alert changed state meanwhile. Holding is idempotent: an alert held twice is held once.
async fn hold_back(
    context: &Context,
    alerts: &[&Queued],
    until: i64,
    why: &str,
) -> Result<(), crate::storage::alerts::AlertError> {
    for queued in alerts {
        context.store.hold(&held(queued), until).await?;
        tracing::info!(rule = %queued.rule_id, by = %why, "notification held back");
    }
    Ok(())
}

/// Delivers one entry: the alerts a silence covers held back, the rest held back while its
/// contact point is muted, moved into its group when the contact point groups, or sent; the
/// outcome recorded in Redis.
async fn deliver(context: &Context, http: &reqwest::Client, entry: &OutboxEntry) -> Outcome {
    let id = entry.id.clone();
    let now = app::clock::now_ms();
    let snapshot = context.rules.snapshot();
    let finish = |result: Result<(), crate::storage::alerts::AlertError>| {
        if let Err(error) = result {
            tracing::warn!(%id, %error, "recording a delivered notification failed");
        }
    };
    let retry = |error: crate::storage::alerts::AlertError| {
        tracing::warn!(%id, %error, "setting a notification aside failed");
        Outcome::Retry(id.clone(), now + 1_000)
    };
    let mut open = Vec::new();
    for queued in &entry.notification.alerts {
        match silences::covering(&snapshot.config.silences, &queued.labels, now) {
            Some(silence) => {
                let why = format!("silence {}", silence.id);
                if let Err(error) = hold_back(context, &[queued], silence.ends_ms, &why).await {
                    return retry(error);
                }
            }
            None => open.push(queued),
        }
    }
    if open.is_empty() {
        finish(context.store.finish_notification(&id).await);
        return Outcome::Done(id);
    }
    let Some(contact) = snapshot.config.contacts.get(entry.notification.contact()) else {
        let letter = dead_letter(
            entry,
            0,
            format!(
                "there is no contact point {:?} any more",
                entry.notification.contact()
            ),
            now,
        );
        finish(context.store.bury(&letter).await);
        return Outcome::Done(id);
    };
    let muted = app::alerts::mute::parse(&contact.mute)
        .ok()
        .and_then(|windows| app::alerts::mute::muted_until(&windows, now));
    if let Some(until) = muted {
        let why = format!("mute timing of contact point {:?}", contact.name);
        if let Err(error) = hold_back(context, &open, until, &why).await {
            return retry(error);
        }
        finish(context.store.finish_notification(&id).await);
        return Outcome::Done(id);
    }
    if let (None, [queued]) = (&entry.notification.group, open.as_slice())
        && let Some(labels) = contact.group_of(&queued.labels)
    {
        let key = GroupKey {
            contact: contact.name.clone(),
            labels,
        };
        let timing = GroupTiming {
            wait_ms: contact.group_wait_ms,
            interval_ms: contact.group_interval(),
        };
        return match context
            .store
            .join_group(&key, queued, &id, timing, now)
            .await
        {
            Ok(()) => Outcome::Done(id),
            Err(error) => retry(error),
        };
    }
    let notification = Notification {
        group: entry.notification.group.clone(),
        alerts: open.into_iter().cloned().collect(),
    };
    let previous = context.store.attempts(&id).await.ok().flatten();
    let channels = send::Channels {
        http,
        mail: context.mailer.as_ref(),
    };
    match send::send(channels, contact, &notification, &id, &context.public_url).await {
        Ok(_) => {
            let oldest = notification
                .alerts
                .iter()
                .map(|a| a.at_ms)
                .min()
                .unwrap_or(now);
            crate::telemetry::metrics().notification_sent(now - oldest);
            // An alert sent on its own is sent again after the repeat interval if it is still
            // in the same state then (the release checks its count of transitions); a group
            // is due again by its own schedule.
            if let (None, [queued]) = (&notification.group, notification.alerts.as_slice())
                && queued.status == Notice::Firing
                && let Some(repeat_ms) = contact.repeat_ms
                && let Err(error) = context.store.hold(&held(queued), now + repeat_ms).await
            {
                tracing::warn!(%id, %error, "scheduling a firing alert's repeat failed");
            }
            finish(context.store.finish_notification(&id).await);
            Outcome::Done(id)
        }
        Err(error) => {
            let mut attempts = previous.unwrap_or(Attempts {
                first_ms: now,
                ..Attempts::default()
            });
            attempts.count += 1;
            attempts.last_error = error.to_string();
            let unsendable = matches!(error, SendError::Unsendable(_));
            if unsendable || now - attempts.first_ms >= context.settings.retry_for_ms {
                tracing::warn!(%id, %error, attempts = attempts.count, "notification given up: kept as a dead letter");
                let letter = dead_letter(entry, attempts.count, error.to_string(), now);
                finish(context.store.bury(&letter).await);
                return Outcome::Done(id);
            }
            let mut random = [0u8; 8];
            let _ = getrandom::fill(&mut random);
            let unit = u64::from_le_bytes(random) as f64 / u64::MAX as f64;
            attempts.next_ms = now + send::backoff_ms(attempts.count, unit);
            tracing::info!(%id, %error, attempt = attempts.count, retry_at = attempts.next_ms, "notification failed; retrying");
            if let Err(error) = context.store.record_attempts(&id, &attempts).await {
                tracing::warn!(%id, %error, "recording a failed attempt failed");
            }
            Outcome::Retry(id, attempts.next_ms)
        }
    }
}

fn dead_letter(entry: &OutboxEntry, attempts: u32, error: String, now: i64) -> DeadLetter {
    let notification = &entry.notification;
    let mut rules: Vec<&str> = notification
        .alerts
        .iter()
        .map(|a| a.rule_id.as_str())
        .collect();
    rules.dedup();
    DeadLetter {
        id: entry.id.clone(),
        contact_point: notification.contact().to_owned(),
        rule_id: rules.join(", "),
        status: match notification.status() {
            Notice::Firing => "firing".into(),
            Notice::Resolved => "resolved".into(),
        },
        attempts,
        error,
        at_ms: now,
    }
}
