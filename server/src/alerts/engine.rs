//! The evaluator: what triggers an evaluation (a change notice from the hub's tap, a due
//! deadline, a change of rules), and at most one evaluation of a rule at a time, with what
//! arrives meanwhile folded into the next one. Only the rules whose series changed are
//! evaluated, each by the one process that owns it ([`super::members`]), and of those not a
//! rule whose instances were all found normal when the values written cannot move it
//! ([`app::alerts::unmoved`]): the cost follows what changed, not how many rules or processes
//! there are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::context::Context;
use super::evaluate::evaluate;
use super::rules::Compiled;
use crate::live::Tapped;

/// Most rule evaluations in flight at once.
const CONCURRENCY: usize = 64;
/// The least time between two evaluations of one analytics rule.
const ANALYTICS_PAUSE: Duration = Duration::from_secs(1);
/// How often the rules' version is checked for changes made by other processes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// What the evaluator is asked to do.
enum Request {
    /// Evaluate these rules.
    Rules(Vec<String>),
    /// Evaluate every rule.
    All,
    /// An evaluation of this rule finished.
    Done(String),
}

/// Asks the evaluator for evaluations.
#[derive(Clone)]
pub struct EngineHandle {
    requests: mpsc::UnboundedSender<Request>,
}

impl EngineHandle {
    /// Evaluates these rules as soon as they are free.
    pub fn evaluate(&self, rules: Vec<String>) {
        let _ = self.requests.send(Request::Rules(rules));
    }

    /// Evaluates the rules over product analytics (events were recorded).
    pub fn evaluate_analytics(&self, snapshot: &super::rules::Snapshot) {
        if !snapshot.analytics.is_empty() {
            self.evaluate(snapshot.analytics.clone());
        }
    }

    /// Evaluates every rule.
    pub fn evaluate_all(&self) {
        let _ = self.requests.send(Request::All);
    }
}

/// Per rule: whether an evaluation runs, and whether another is wanted after it.
#[derive(Default)]
struct Slot {
    running: bool,
    again: bool,
}

/// Starts the evaluator, following `tap` (when this process's hub gave one).
pub fn start(
    context: Arc<Context>,
    tap: Option<mpsc::UnboundedReceiver<Tapped>>,
) -> (EngineHandle, Vec<JoinHandle<()>>) {
    let (requests, receiver) = mpsc::unbounded_channel();
    let handle = EngineHandle { requests };
    let mut tasks = vec![tokio::spawn(run(context.clone(), handle.clone(), receiver))];
    if let Some(tap) = tap {
        tasks.push(tokio::spawn(follow(context.clone(), handle.clone(), tap)));
    }
    tasks.push(tokio::spawn(watch_rules(context, handle.clone())));
    (handle, tasks)
}

/// Turns change notices into evaluations of the rules that watch their series.
async fn follow(
    context: Arc<Context>,
    engine: EngineHandle,
    mut tap: mpsc::UnboundedReceiver<Tapped>,
) {
    loop {
        let tapped = tokio::select! {
            () = context.shutdown.cancelled() => return,
            tapped = tap.recv() => tapped,
        };
        match tapped {
            None => return,
            Some(Tapped::Refresh) => {
                context.catalog.forget();
                for compiled in context.rules.snapshot().rules.values() {
                    compiled.forget_series();
                }
                engine.evaluate_all();
            }
            Some(Tapped::Changed(changed)) => {
                context.catalog.saw(
                    changed
                        .iter()
                        .map(|series| (series.key.name.as_str(), &series.id)),
                );
                let snapshot = context.rules.snapshot();
                if snapshot.rules.is_empty() {
                    continue;
                }
                let watching =
                    snapshot.rules_of(changed.iter().map(|series| (&series.id, &*series.key)));
                let routes: Vec<_> = changed.iter().zip(watching).collect();
                // Per rule this process owns that watches a changed series: the span of every
                // value written to its series (none when one of them has none). The others'
                // changes are their owners' to evaluate.
                let mut spans: Spans = HashMap::default();
                for (series, watching) in &routes {
                    for compiled in watching.iter() {
                        if !compiled.owned(&context.members, &context.consumer) {
                            continue;
                        }
                        compiled.saw(&series.id);
                        spans
                            .entry(&compiled.rule.id)
                            .and_modify(|(_, span)| *span = widen(*span, series.span))
                            .or_insert((compiled, series.span));
                    }
                }
                let now_ms = app::clock::now_ms();
                let rules: Vec<String> = spans
                    .into_iter()
                    .filter(|(_, (compiled, span))| !compiled.unmoved_by(*span, now_ms))
                    .map(|(rule, _)| rule.to_owned())
                    .collect();
                if !rules.is_empty() {
                    engine.evaluate(rules);
                }
            }
        }
    }
}

/// Per rule touched by a change notice: the rule, and the span of the values written to its
/// series.
type Spans<'a> =
    HashMap<&'a str, (&'a Arc<Compiled>, Option<(f64, f64)>), foldhash::fast::RandomState>;

/// Both spans of values together; none when either is none.
fn widen(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let ((a_low, a_high), (b_low, b_high)) = (a?, b?);
    Some((a_low.min(b_low), a_high.max(b_high)))
}

/// Evaluates those of `rules` this process owns.
pub fn evaluate_owned(context: &Context, engine: &EngineHandle, rules: Vec<String>) {
    let owned: Vec<String> = rules
        .into_iter()
        .filter(|rule| context.members.owns(&context.consumer, rule))
        .collect();
    if !owned.is_empty() {
        engine.evaluate(owned);
    }
}

/// Reloads the rules when another process changed them, and evaluates the new and changed
/// ones.
async fn watch_rules(context: Arc<Context>, engine: EngineHandle) {
    let mut every = tokio::time::interval(RELOAD_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = context.shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match context.rules.reload_if_changed(&context.store).await {
            Ok(changed) => evaluate_owned(&context, &engine, changed),
            Err(error) => tracing::warn!(%error, "reading the alert rules failed"),
        }
    }
}

async fn run(
    context: Arc<Context>,
    handle: EngineHandle,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut slots: HashMap<String, Slot> = HashMap::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    loop {
        let request = tokio::select! {
            () = context.shutdown.cancelled() => return,
            request = requests.recv() => request,
        };
        let Some(request) = request else { return };
        let wanted = match request {
            Request::Rules(rules) => rules,
            // Every rule this process owns; deadlines name theirs with `Rules`.
            Request::All => context
                .rules
                .snapshot()
                .rules
                .keys()
                .filter(|rule| context.members.owns(&context.consumer, rule))
                .cloned()
                .collect(),
            Request::Done(rule) => {
                let slot = slots.entry(rule.clone()).or_default();
                slot.running = false;
                if std::mem::take(&mut slot.again) {
                    vec![rule]
                } else {
                    slots.remove(&rule);
                    continue;
                }
            }
        };
        for rule in wanted {
            let slot = slots.entry(rule.clone()).or_default();
            if slot.running {
                slot.again = true;
                continue;
            }
            slot.running = true;
            let context = context.clone();
            let handle = handle.clone();
            let permits = permits.clone();
            tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                let compiled = context.rules.snapshot().rules.get(&rule).cloned();
                {
                    let _permit = permits.acquire_owned().await;
                    if let Some(compiled) = &compiled
                        && !compiled.rule.paused
                        && let Err(error) = evaluate(&context, compiled).await
                    {
                        compiled.found_quiet(false, 0);
                        tracing::warn!(rule = %rule, %error, "evaluating an alert rule failed");
                    }
                }
                // An analytics rule reads a whole window per evaluation, and a stream of
                // event batches asks for one each: what arrives within its pause is folded
                // into the next.
                if compiled.is_some_and(|compiled| compiled.rule.source.is_analytics()) {
                    tokio::time::sleep_until(started + ANALYTICS_PAUSE).await;
                }
                let _ = handle.requests.send(Request::Done(rule));
            });
        }
    }
}
