//! Alertmanager forgets an alert that is not sent again before its `endsAt`: while an alert
//! fires, it is posted to its Alertmanager contact points again every minute, by one process
//! at a time (a turn taken in Redis), as Prometheus re-sends its firing alerts. These posts
//! repeat a state Alertmanager already has, so they are not queued or retried.

use std::sync::Arc;
use std::time::Duration;

use app::alerts::ContactKind;
use app::alerts::machine::Notice;

use super::context::Context;
use super::deliver::send;
use super::evaluate::{alert_labels, queued};
use crate::storage::alerts::Notification;

/// How often firing alerts are posted again.
const EVERY: Duration = Duration::from_secs(60);

pub async fn run(context: Arc<Context>) {
    let http = send::client();
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let period_ms = i64::try_from(EVERY.as_millis()).unwrap_or(60_000);
        match context
            .store
            .take_turn("keepalive", period_ms - 5_000)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "taking the Alertmanager keep-alive turn failed");
                continue;
            }
        }
        let snapshot = context.rules.snapshot();
        for compiled in snapshot.rules.values() {
            let rule = &compiled.rule;
            let managers: Vec<_> = rule
                .contact_points
                .iter()
                .filter_map(|name| snapshot.config.contacts.get(name))
                .filter(|contact| matches!(contact.kind, ContactKind::Alertmanager { .. }))
                .collect();
            if managers.is_empty() {
                continue;
            }
            let Ok(instances) = context.store.instances(&rule.id).await else {
                continue;
            };
            for (field, stored) in &instances {
                if !stored.instance.state.is_firing() {
                    continue;
                }
                let labels = alert_labels(rule, &stored.labels, &stored.instance);
                let notification = Notification::single(queued(
                    rule,
                    field,
                    stored,
                    None,
                    Notice::Firing,
                    &labels,
                ));
                for contact in &managers {
                    let channels = send::Channels {
                        http: &http,
                        mail: None,
                    };
                    if let Err(error) = send::send(
                        channels,
                        contact,
                        &notification,
                        "keepalive",
                        &context.public_url,
                    )
                    .await
                    {
                        tracing::warn!(contact = %contact.name, %error, "re-sending a firing alert to Alertmanager failed");
                    }
                }
            }
        }
    }
}
