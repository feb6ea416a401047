//! What people do with alerting, whichever way they ask (the HTTP API or the Alerts page's
//! server function): list rules with their state and the alert instances, change rules,
//! contact points and silences (every process then reloads them), preview a rule, send a test
//! notification, apply a whole document.

use std::collections::HashMap;

use app::alerts::api::{
    AlertsDocument, AlertsOverview, HistoryEntry, InstanceView, Preview, PreviewRequest, RuleView,
    TestResult,
};
use app::alerts::machine::{Notice, State};
use app::alerts::{ContactKind, ContactPoint, Rule, RuleError, Silence, template};

use super::Alerting;
use super::deliver::send;
use super::evaluate::alert_labels;
use super::silences;
use crate::storage::alerts::{AlertError, Notification, Queued};

/// How bad a state is, for a rule's summary state and the order of instances.
fn rank(state: State) -> u8 {
    match state {
        State::Normal => 0,
        State::Pending => 1,
        State::Recovering => 2,
        State::NoData | State::Error => 3,
        State::Firing => 4,
    }
}

impl Alerting {
    /// Every instance of every rule (of one rule, when given), worst first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn instances(&self, only: Option<&str>) -> Result<Vec<InstanceView>, AlertError> {
        let snapshot = self.context.rules.snapshot();
        let now = app::clock::now_ms();
        let mut views = Vec::new();
        for rule in &snapshot.config.rules {
            if only.is_some_and(|id| id != rule.id) {
                continue;
            }
            for stored in self.store().instances(&rule.id).await?.into_values() {
                let instance = stored.instance;
                let labels = alert_labels(rule, &stored.labels, &instance);
                let severity = instance.severity.map_or("", |s| s.name());
                let summary = template::render(
                    &rule.summary,
                    &template::Context {
                        labels: &labels,
                        value: instance.value,
                        severity,
                        state: instance.state.name(),
                    },
                );
                views.push(InstanceView {
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    silenced: instance.state.is_firing()
                        && silences::covering(&snapshot.config.silences, &labels, now).is_some(),
                    labels,
                    state: instance.state,
                    severity: instance.severity,
                    since_ms: instance.since_ms,
                    active_since_ms: instance.active_since_ms,
                    value: instance.value,
                    summary,
                });
            }
        }
        views.sort_by(|a, b| {
            rank(b.state)
                .cmp(&rank(a.state))
                .then(a.rule_name.cmp(&b.rule_name))
                .then(a.labels.cmp(&b.labels))
        });
        Ok(views)
    }

    /// Every rule with how its instances stand, given the instances.
    #[must_use]
    pub fn rule_views(&self, instances: &[InstanceView]) -> Vec<RuleView> {
        let snapshot = self.context.rules.snapshot();
        let mut by_rule: HashMap<&str, Vec<&InstanceView>> = HashMap::new();
        for view in instances {
            by_rule.entry(view.rule_id.as_str()).or_default().push(view);
        }
        snapshot
            .config
            .rules
            .iter()
            .map(|rule| {
                let mine = by_rule.get(rule.id.as_str()).map_or(&[][..], Vec::as_slice);
                RuleView {
                    rule: rule.clone(),
                    query: super::evaluate::query_text(rule),
                    state: mine
                        .iter()
                        .map(|view| view.state)
                        .max_by_key(|state| rank(*state))
                        .unwrap_or_default(),
                    instances: mine.len(),
                    firing: mine.iter().filter(|view| view.state.is_firing()).count(),
                }
            })
            .collect()
    }

    /// Everything the Alerts page shows at once.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn overview(&self) -> Result<AlertsOverview, AlertError> {
        let instances = self.instances(None).await?;
        let rules = self.rule_views(&instances);
        let config = self.store().alert_config().await?;
        let mut contact_points: Vec<ContactPoint> = config
            .contacts
            .values()
            .map(ContactPoint::redacted)
            .collect();
        contact_points.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(AlertsOverview {
            rules,
            instances,
            contact_points,
            silences: config.silences,
            dead_letters: self.store().dead_letters(100).await?,
            analytics: self.watchable().await?,
        })
    }

    /// The newest transitions (of one rule, when given), newest first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn history(
        &self,
        rule: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, AlertError> {
        self.store()
            .alert_history(rule, limit.clamp(1, 5_000))
            .await
    }

    /// Stores a rule (a new one when its id is empty) and evaluates it at once.
    ///
    /// # Errors
    /// It is invalid (nothing stored), or Redis failed.
    pub async fn save_rule(&self, rule: Rule) -> Result<Rule, AlertError> {
        rule.validate()?;
        self.check_analytics_source(&rule.source).await?;
        let before = if rule.id.is_empty() {
            None
        } else {
            let before = self.store().rule(&rule.id).await?;
            Some((self.instance_states(&before.id).await?, before))
        };
        let stored = self.store().put_rule(rule).await?;
        // Its instances start afresh: what dashboards show of the old ones goes.
        if let Some((instances, before)) = before {
            self.clear_states(&before, &instances).await;
        }
        self.changed().await?;
        Ok(stored)
    }

    /// Deletes a rule and its instances (their state series set to normal).
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn delete_rule(&self, id: &str) -> Result<(), AlertError> {
        let before = self.store().rule(id).await?;
        let instances = self.instance_states(id).await?;
        self.store().delete_rule(id).await?;
        self.clear_states(&before, &instances).await;
        self.changed().await
    }

    /// Sets the state series of `rule`'s instances that were not normal to normal.
    async fn clear_states(
        &self,
        rule: &Rule,
        instances: &[(std::collections::BTreeMap<String, String>, State)],
    ) {
        super::state_series::clear(&self.context.writer, rule, instances, app::clock::now_ms())
            .await;
    }

    /// The funnels and experiments rules may watch.
    async fn watchable(&self) -> Result<app::alerts::api::Watchable, AlertError> {
        let defined = self.store().definitions().await?;
        Ok(app::alerts::api::Watchable {
            funnels: defined
                .funnels
                .into_iter()
                .map(|f| {
                    let steps = f.steps.into_iter().map(|step| step.event).collect();
                    (f.id, f.name, steps)
                })
                .collect(),
            experiments: defined
                .experiments
                .into_iter()
                .map(|e| (e.id, e.name))
                .collect(),
        })
    }

    /// That the funnel (and its step) or experiment an analytics rule names exists.
    async fn check_analytics_source(&self, source: &app::alerts::Source) -> Result<(), AlertError> {
        let refuse = |field: &str, reason: String| {
            AlertError::Invalid(RuleError {
                field: field.to_owned(),
                reason,
            })
        };
        match source {
            app::alerts::Source::Metric { .. } => Ok(()),
            app::alerts::Source::Funnel { funnel, step, .. } => {
                super::analytics::funnel_of(self.store(), funnel, *step)
                    .await
                    .map(|_| ())
                    .map_err(|(field, reason)| refuse(field, reason))
            }
            app::alerts::Source::Experiment { experiment, .. } => self
                .store()
                .experiment(experiment)
                .await
                .map(|_| ())
                .map_err(|error| refuse("source.experiment", error.to_string())),
        }
    }

    /// The group labels and state of each of a rule's instances.
    async fn instance_states(
        &self,
        rule_id: &str,
    ) -> Result<Vec<(std::collections::BTreeMap<String, String>, State)>, AlertError> {
        Ok(self
            .store()
            .instances(rule_id)
            .await?
            .into_values()
            .map(|stored| (stored.labels, stored.instance.state))
            .collect())
    }

    /// What a rule would have done over the last hours.
    ///
    /// # Errors
    /// The rule is invalid, its query cannot run, or Redis failed.
    pub async fn preview(&self, request: &PreviewRequest) -> Result<Preview, AlertError> {
        super::preview::preview(self.store(), request, app::clock::now_ms()).await
    }

    /// Adds a contact point (`create`: one of that name must not exist) or changes one; a new
    /// webhook's secret is in the answer, the only time it is shown.
    ///
    /// # Errors
    /// It is invalid, or exists when created, or Redis failed.
    pub async fn save_contact(
        &self,
        contact: ContactPoint,
        create: bool,
    ) -> Result<ContactPoint, AlertError> {
        let exists = self
            .store()
            .alert_config()
            .await?
            .contacts
            .contains_key(contact.name.trim());
        if create && exists {
            return Err(AlertError::Invalid(RuleError {
                field: "name".into(),
                reason: format!("a contact point named {:?} exists", contact.name),
            }));
        }
        if !create && !exists {
            return Err(AlertError::NotFound(format!(
                "no contact point {:?}",
                contact.name
            )));
        }
        if matches!(contact.kind, ContactKind::Email { .. }) && self.context.mailer.is_none() {
            return Err(AlertError::Invalid(RuleError {
                field: "kind".into(),
                reason: "email needs an SMTP relay: start livedash with LIVEDASH_SMTP_URL".into(),
            }));
        }
        let stored = self.store().put_contact(contact).await?;
        self.changed().await?;
        // A mute timing taken away or changed: what it held is looked at again now.
        self.store().reschedule_held(app::clock::now_ms()).await?;
        Ok(if create { stored } else { stored.redacted() })
    }

    /// Deletes a contact point.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn delete_contact(&self, name: &str) -> Result<(), AlertError> {
        self.store().delete_contact(name).await?;
        self.changed().await
    }

    /// Sends a test notification to a contact point now (not queued, not retried) and says
    /// how the receiver answered.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn test_contact(&self, name: &str) -> Result<TestResult, AlertError> {
        let config = self.store().alert_config().await?;
        let contact = config
            .contacts
            .get(name)
            .ok_or_else(|| AlertError::NotFound(format!("no contact point {name:?}")))?;
        let now = app::clock::now_ms();
        let queued = Queued {
            contact: name.to_owned(),
            rule_id: "test".into(),
            rule_name: "livedash test notification".into(),
            group: "{}".into(),
            transitions: 0,
            status: Notice::Firing,
            labels: [
                (
                    "alertname".to_owned(),
                    "livedash test notification".to_owned(),
                ),
                ("severity".to_owned(), "warning".to_owned()),
            ]
            .into(),
            annotations: [(
                "summary".to_owned(),
                format!("A test of the contact point {name:?}: nothing is wrong."),
            )]
            .into(),
            starts_at_ms: now,
            ends_at_ms: None,
            value: None,
            state: "firing".into(),
            dashboard: None,
            at_ms: now,
        };
        let id = format!("test-{}", crate::storage::alerts::new_id());
        let http = send::client();
        let channels = send::Channels {
            http: &http,
            mail: self.context.mailer.as_ref(),
        };
        let result = send::send(
            channels,
            contact,
            &Notification::single(queued),
            &id,
            &self.context.public_url,
        )
        .await;
        Ok(match result {
            Ok(status) => TestResult {
                delivered: true,
                status: Some(status),
                error: None,
            },
            Err(error) => TestResult {
                delivered: false,
                status: match &error {
                    send::SendError::Status { status, .. } => Some(*status),
                    _ => None,
                },
                error: Some(error.to_string()),
            },
        })
    }

    /// Adds a silence (from now when it has no start), made by `by`.
    ///
    /// # Errors
    /// It is invalid, or Redis failed.
    pub async fn create_silence(
        &self,
        mut silence: Silence,
        by: String,
    ) -> Result<Silence, AlertError> {
        silence.id = String::new();
        if silence.starts_ms == 0 {
            silence.starts_ms = app::clock::now_ms();
        }
        silence.created_by = by;
        silences::check(&silence)?;
        let stored = self.store().put_silence(silence).await?;
        self.changed().await?;
        Ok(stored)
    }

    /// Ends a silence now; what it held back is sent.
    ///
    /// # Errors
    /// It does not exist, or Redis failed.
    pub async fn expire_silence(&self, id: &str) -> Result<Silence, AlertError> {
        let silence = self
            .store()
            .expire_silence(id, app::clock::now_ms())
            .await?;
        self.changed().await?;
        Ok(silence)
    }

    /// Rules, contact points (without secrets) and the silences in force.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn export(&self) -> Result<AlertsDocument, AlertError> {
        let config = self.store().alert_config().await?;
        let now = app::clock::now_ms();
        let mut contact_points: Vec<ContactPoint> = config
            .contacts
            .values()
            .map(ContactPoint::redacted)
            .collect();
        contact_points.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(AlertsDocument {
            rules: config.rules,
            contact_points,
            silences: config
                .silences
                .into_iter()
                .filter(|silence| silence.ends_ms > now)
                .collect(),
        })
    }

    /// Applies a document: everything checked first, then stored.
    ///
    /// # Errors
    /// It is invalid (nothing stored), or Redis failed.
    pub async fn import(&self, document: AlertsDocument) -> Result<AlertsDocument, AlertError> {
        let stored = super::provision::apply(self.store(), document).await?;
        self.changed().await?;
        Ok(stored)
    }

    /// Does what the Alerts page asks.
    ///
    /// # Errors
    /// As the operation asked for.
    pub async fn call(
        &self,
        call: app::alerts::api::AlertsCall,
        by: String,
    ) -> Result<app::alerts::api::AlertsAnswer, AlertError> {
        use app::alerts::api::{AlertsAnswer as A, AlertsCall as C};
        Ok(match call {
            C::Overview => A::Overview(Box::new(self.overview().await?)),
            C::History { rule, limit } => A::History(self.history(rule.as_deref(), limit).await?),
            C::SaveRule(rule) => A::Rule(Box::new(self.save_rule(*rule).await?)),
            C::DeleteRule(id) => {
                self.delete_rule(&id).await?;
                A::Done
            }
            C::Preview(request) => A::Preview(Box::new(self.preview(&request).await?)),
            C::SaveContact { contact, create } => {
                A::Contact(self.save_contact(contact, create).await?)
            }
            C::DeleteContact(name) => {
                self.delete_contact(&name).await?;
                A::Done
            }
            C::TestContact(name) => A::Tested(self.test_contact(&name).await?),
            C::CreateSilence(silence) => A::Silence(self.create_silence(silence, by).await?),
            C::ExpireSilence(id) => A::Silence(self.expire_silence(&id).await?),
        })
    }
}
