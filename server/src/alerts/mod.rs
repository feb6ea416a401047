//! Alerting: rules evaluated as data arrives, exactly one notification per transition, none
//! lost.
//!
//! - [`context`]: what every alerting task shares.
//! - [`rules`]: the rules a process holds, compiled, and which series each watches.
//! - [`analytics`]: what rules over product analytics see (a funnel's conversion, an
//!   experiment's p-values); the recording of events asks for their evaluation.
//! - [`catalog`]: the series of the metrics rules watch, read once for all the rules.
//! - [`evaluate`]: one rule at one time: read the window per group, step each instance's state
//!   machine, write each transition in one compare-and-set step.
//! - [`engine`]: the evaluator task: change notices from the live hub's tap (the same
//!   subscription and routing the live push uses) to the rules they concern, deadlines to
//!   their rules, at most one evaluation of a rule at a time and changes arriving meanwhile
//!   folded into the next.
//! - [`deadlines`]: time-driven edges (a pending or keep-firing period ending, data going
//!   absent, a window moving on) from deadlines kept in Redis, silences ending, and groups of
//!   notifications falling due.
//! - [`deliver`]: the delivery worker: notifications from the outbox to webhooks (signed),
//!   Alertmanager, Slack and email, retried with backoff, taken over from processes that
//!   died, held back by silences and mute timings.
//! - [`keepalive`]: firing alerts posted again to Alertmanager every minute.
//! - [`members`]: the live processes, among which the rules are shared for evaluation, and
//!   [`heartbeat`]: each process marking itself alive.
//! - [`ops`]: what people do with alerting, through the API or the Alerts page.
//! - [`preview`]: a rule replayed over the last hours before it is saved.
//! - [`silences`]: which silence covers an alert.
//! - [`state_series`]: every transition written as a sample of `livedash_alert_state`.
//! - [`provision`]: applying a whole document of rules, contact points and silences.
//!
//! Dependency rule: uses `live` (the hub's tap), `storage` and `config`; nothing below uses
//! it. The HTTP edge manages rules through [`Alerting`].

pub mod analytics;
pub mod catalog;
pub mod context;
pub mod deadlines;
pub mod deliver;
pub mod engine;
pub mod evaluate;
pub mod heartbeat;
pub mod keepalive;
pub mod members;
pub mod ops;
pub mod preview;
pub mod provision;
pub mod rules;
pub mod silences;
pub mod state_series;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::AlertSettings;
use crate::live::Hub;
use crate::storage::Store;
pub use context::Context;

/// The handle the HTTP edge holds.
#[derive(Clone)]
pub struct Alerting {
    context: Arc<Context>,
    engine: engine::EngineHandle,
}

impl Alerting {
    /// Starts the evaluator, the deadline poller and the delivery worker; links in
    /// notifications start with `settings.public_url`. Redis need not be there yet: the rules are read, and the outbox's consumer group made, once it is.
    #[must_use]
    pub fn start(
        redis: crate::storage::RedisTarget,
        store: Store,
        writer: crate::storage::writer::Writer,
        hub: &Hub,
        settings: AlertSettings,
        provisioned: Option<app::alerts::api::AlertsDocument>,
        shutdown: CancellationToken,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let consumer = format!(
            "{}-{}-{}",
            hostname(),
            std::process::id(),
            crate::storage::alerts::new_id()
        );
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
        // Checked when the configuration was read.
        let mailer = settings.smtp.as_ref().and_then(|smtp| {
            deliver::email::Mailer::new(&smtp.url, &smtp.from)
                .inspect_err(|error| tracing::error!(%error, "the SMTP relay cannot be used"))
                .ok()
        });
        let context = Arc::new(Context {
            store,
            writer,
            mailer,
            settings,
            public_url,
            consumer,
            rules: rules::Rules::default(),
            catalog: catalog::Catalog::default(),
            members: members::Members::default(),
            shutdown,
        });
        if let Some(document) = provisioned {
            tokio::spawn(provision_when_ready(context.clone(), document));
        }
        let tap = hub.tap();
        let (engine, mut tasks) = engine::start(context.clone(), tap);
        tasks.push(tokio::spawn(deadlines::run(
            context.clone(),
            engine.clone(),
        )));
        tasks.push(tokio::spawn(deliver::worker::run(context.clone(), redis)));
        tasks.push(tokio::spawn(keepalive::run(context.clone())));
        tasks.push(tokio::spawn(heartbeat::run(
            context.clone(),
            engine.clone(),
        )));
        (Self { context, engine }, tasks)
    }

    /// The store alerting uses.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.context.store
    }

    /// The shared context.
    #[must_use]
    pub fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// Events were recorded (their funnels and experiments moved): the rules over product
    /// analytics are evaluated, each at most once a second.
    pub fn analytics_recorded(&self) {
        self.engine
            .evaluate_analytics(&self.context.rules.snapshot());
    }

    /// Reloads the configuration after a change made here (other processes notice the
    /// version within a second) and evaluates the new and changed rules.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn changed(&self) -> Result<(), crate::storage::alerts::AlertError> {
        let changed = self.context.rules.reload(&self.context.store).await?;
        engine::evaluate_owned(&self.context, &self.engine, changed);
        Ok(())
    }
}

/// Applies the provisioning file once Redis answers.
async fn provision_when_ready(context: Arc<Context>, document: app::alerts::api::AlertsDocument) {
    loop {
        match provision::apply(&context.store, document.clone()).await {
            Ok(stored) => {
                tracing::info!(
                    rules = stored.rules.len(),
                    contact_points = stored.contact_points.len(),
                    silences = stored.silences.len(),
                    "alerting provisioned from LIVEDASH_ALERTS_FILE"
                );
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "provisioning alerting failed; retrying");
                tokio::select! {
                    () = context.shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "livedash".to_owned())
}
