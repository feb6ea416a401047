//! The rules a process holds: read from Redis when their version changes, compiled once, and
//! which series each watches (remembered per series id until the rules change).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use app::alerts::Rule;
use app::live::LiveQuery;
use app::model::SeriesKey;
use app::query::Selector;

use super::members::Members;
use crate::live::feed::Matcher;
use crate::storage::alerts::{AlertConfig, AlertError};
use crate::storage::query::Resolved;
use crate::storage::{SeriesId, Store};

/// How long a rule's resolved series are used without resolving its selector again. A new
/// series forgets them at once (its change notice names it); this bounds how long a series
/// removed from the catalog is still read.
const SERIES_KEPT_FOR: Duration = Duration::from_secs(10);

/// A rule ready to evaluate.
pub struct Compiled {
    pub rule: Rule,
    /// A metric rule's selector; an analytics rule's is the events' counter's, unused.
    pub selector: Selector,
    /// Which series' changes it follows; none for an analytics rule, which the recording of
    /// events asks for instead (after its funnels and experiments moved).
    matcher: Option<Matcher>,
    /// The series its selector matched, so that an evaluation reads the window only: at
    /// thousands of evaluations a second, resolving each time would cost most of the work.
    series: Mutex<Option<KnownSeries>>,
    /// Moves whenever the known series are forgotten, so that a resolution that started
    /// before is not kept (it may lack the series that made them forgotten).
    forgotten: AtomicU64,
    /// Until when (this process's clock, ms) the last evaluation's finding holds that every
    /// instance is normal with nothing due: a write then needs no evaluation when its values
    /// cannot move the rule ([`app::alerts::unmoved`]). Only the owner evaluates such a rule
    /// (a quiet rule has no deadline another process could claim), and a change of owners
    /// forgets it; the time limit is a safety net.
    quiet_until_ms: AtomicI64,
    /// Whether this process owns it, for one version of the members: `(epoch + 1) * 2`, plus
    /// one when owned; 0 until asked.
    owned: AtomicU64,
}

/// How long an evaluation's finding that a rule is quiet is trusted.
const QUIET_FOR_MS: i64 = 30_000;

struct KnownSeries {
    at: Instant,
    ids: HashSet<SeriesId>,
    resolved: Arc<Resolved>,
}

impl Compiled {
    fn new(rule: Rule, selector: Selector, matcher: Option<Matcher>) -> Self {
        Self {
            rule,
            selector,
            matcher,
            series: Mutex::new(None),
            forgotten: AtomicU64::new(0),
            quiet_until_ms: AtomicI64::new(0),
            owned: AtomicU64::new(0),
        }
    }

    /// The series its selector matched, while they are known; with the mark to keep a new
    /// resolution by.
    pub fn known_series(&self) -> (Option<Arc<Resolved>>, u64) {
        let mark = self.forgotten.load(Ordering::Acquire);
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let known = series
            .as_ref()
            .filter(|known| known.at.elapsed() < SERIES_KEPT_FOR)
            .map(|known| known.resolved.clone());
        (known, mark)
    }

    /// Keeps `resolved`, unless they were forgotten since `mark` was taken.
    pub fn keep_series(&self, resolved: Arc<Resolved>, mark: u64) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if self.forgotten.load(Ordering::Acquire) == mark {
            *series = Some(KnownSeries {
                at: Instant::now(),
                ids: resolved.series.iter().map(|(id, _)| id.clone()).collect(),
                resolved,
            });
        }
    }

    /// A series it watches changed: a new one makes the known series forgotten.
    pub fn saw(&self, id: &SeriesId) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if series.as_ref().is_none_or(|known| !known.ids.contains(id)) {
            *series = None;
            self.forgotten.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Forgets the known series (change notices may have been missed).
    pub fn forget_series(&self) {
        *self.series.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        self.quiet_until_ms.store(0, Ordering::Release);
    }

    /// Whether process `me` evaluates it on change notices ([`Members::owns`]), worked out
    /// once per version of the members.
    pub fn owned(&self, members: &Members, me: &str) -> bool {
        let epoch = members.epoch();
        let cached = self.owned.load(Ordering::Acquire);
        if cached / 2 == epoch + 1 {
            return cached % 2 == 1;
        }
        let owned = members.owns(me, &self.rule.id);
        self.owned
            .store((epoch + 1) * 2 + u64::from(owned), Ordering::Release);
        owned
    }

    /// What an evaluation that finished at `now_ms` found: whether every instance is normal
    /// with nothing due.
    pub fn found_quiet(&self, quiet: bool, now_ms: i64) {
        let until = if quiet { now_ms + QUIET_FOR_MS } else { 0 };
        self.quiet_until_ms.store(until, Ordering::Release);
    }

    /// Whether a write of values within `span` to its series leaves the rule as it is, for
    /// certain: it was found quiet lately, and no value in the span breaches in a way the
    /// write could make the rule's value breach.
    pub fn unmoved_by(&self, span: Option<(f64, f64)>, now_ms: i64) -> bool {
        let Some((low, high)) = span else {
            return false;
        };
        if self.quiet_until_ms.load(Ordering::Acquire) <= now_ms {
            return false;
        }
        let (Some(known), _) = self.known_series() else {
            return false;
        };
        // Series of several metrics may differ in kind.
        if known.by_name {
            return false;
        }
        let counter = known.kind == app::model::MetricKind::Counter;
        !app::alerts::unmoved::may_raise(&self.rule, counter, low, high)
    }
}

/// One version of the configuration, compiled.
#[derive(Default)]
pub struct Snapshot {
    /// False until the configuration was first read.
    pub loaded: bool,
    pub config: AlertConfig,
    pub rules: HashMap<String, Arc<Compiled>>,
    /// The rules over product analytics that are not paused, which recorded events evaluate.
    pub analytics: Vec<String>,
    /// Which rules watch each series seen so far.
    routes: Mutex<Routes>,
}

type Routes = HashMap<SeriesId, Arc<[Arc<Compiled>]>, foldhash::fast::RandomState>;

impl Snapshot {
    /// The rules that watch each of `series` (ids and keys), in order.
    pub fn rules_of<'a>(
        &self,
        series: impl Iterator<Item = (&'a SeriesId, &'a SeriesKey)>,
    ) -> Vec<Arc<[Arc<Compiled>]>> {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        series
            .map(|(id, key)| {
                if let Some(rules) = routes.get(id) {
                    return rules.clone();
                }
                let rules: Arc<[Arc<Compiled>]> = self
                    .rules
                    .values()
                    .filter(|compiled| {
                        !compiled.rule.paused
                            && compiled.matcher.as_ref().is_some_and(|m| m.matches(key))
                    })
                    .cloned()
                    .collect();
                routes.insert(id.clone(), rules.clone());
                rules
            })
            .collect()
    }
}

/// The rules of this process.
#[derive(Default)]
pub struct Rules {
    current: RwLock<Arc<Snapshot>>,
}

impl Rules {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the configuration again if its version moved; the rules that are new or changed.
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn reload_if_changed(&self, store: &Store) -> Result<Vec<String>, AlertError> {
        let version = store.alert_config_version().await?;
        let snapshot = self.snapshot();
        if snapshot.loaded && version == snapshot.config.version {
            return Ok(Vec::new());
        }
        self.reload(store).await
    }

    /// Reads the configuration again; the rules that are new or changed. A rule that did not
    /// change keeps what was learnt of it (its series, whether it is quiet).
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn reload(&self, store: &Store) -> Result<Vec<String>, AlertError> {
        let config = store.alert_config().await?;
        let previous = self.snapshot();
        let mut rules = HashMap::new();
        let mut changed = Vec::new();
        for rule in &config.rules {
            if let Some(kept) = previous.rules.get(&rule.id)
                && kept.rule == *rule
            {
                rules.insert(rule.id.clone(), kept.clone());
                continue;
            }
            changed.push(rule.id.clone());
            let compiled = if rule.source.is_analytics() {
                Some(Compiled::new(
                    rule.clone(),
                    Selector {
                        name: app::model::EVENT_COUNT_METRIC.to_owned(),
                        matchers: Vec::new(),
                    },
                    None,
                ))
            } else {
                rule.source.selector().ok().and_then(|selector| {
                    let matcher = Matcher::new(&LiveQuery::Latest {
                        selector: Some(selector.clone()),
                    })
                    .ok()?;
                    Some(Compiled::new(rule.clone(), selector, Some(matcher)))
                })
            };
            match compiled {
                Some(compiled) => {
                    rules.insert(rule.id.clone(), Arc::new(compiled));
                }
                None => {
                    tracing::warn!(rule = %rule.id, "alert rule with a selector that no longer compiles; skipped")
                }
            }
        }
        let analytics = rules
            .values()
            .filter(|compiled| compiled.rule.source.is_analytics() && !compiled.rule.paused)
            .map(|compiled| compiled.rule.id.clone())
            .collect();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot {
            loaded: true,
            config,
            rules,
            analytics,
            routes: Mutex::new(Routes::default()),
        });
        Ok(changed)
    }
}
