//! The rules a process holds: read from Redis when their version changes, compiled once, and
//! which series each watches (remembered per series id until the rules change).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use app::alerts::Rule;
use app::live::LiveQuery;
use app::model::SeriesKey;
use app::query::Selector;

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
    pub selector: Selector,
    matcher: Matcher,
    /// The series its selector matched, so that an evaluation reads the window only: at
    /// thousands of evaluations a second, resolving each time would cost most of the work.
    series: Mutex<Option<KnownSeries>>,
    /// Moves whenever the known series are forgotten, so that a resolution that started
    /// before is not kept (it may lack the series that made them forgotten).
    forgotten: AtomicU64,
}

struct KnownSeries {
    at: Instant,
    ids: HashSet<SeriesId>,
    resolved: Arc<Resolved>,
}

impl Compiled {
    fn new(rule: Rule, selector: Selector, matcher: Matcher) -> Self {
        Self {
            rule,
            selector,
            matcher,
            series: Mutex::new(None),
            forgotten: AtomicU64::new(0),
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
    }
}

/// One version of the configuration, compiled.
#[derive(Default)]
pub struct Snapshot {
    /// False until the configuration was first read.
    pub loaded: bool,
    pub config: AlertConfig,
    pub rules: HashMap<String, Arc<Compiled>>,
    /// Which rules watch each series seen so far.
    routes: Mutex<HashMap<SeriesId, Arc<[String]>>>,
}

impl Snapshot {
    /// The ids of the rules that watch the series `key`.
    pub fn rules_of(&self, id: &SeriesId, key: &SeriesKey) -> Arc<[String]> {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes
            .entry(id.clone())
            .or_insert_with(|| {
                self.rules
                    .values()
                    .filter(|compiled| !compiled.rule.paused && compiled.matcher.matches(key))
                    .map(|compiled| compiled.rule.id.clone())
                    .collect()
            })
            .clone()
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

    /// Reads the configuration again if its version moved; whether it did.
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn reload_if_changed(&self, store: &Store) -> Result<bool, AlertError> {
        let version = store.alert_config_version().await?;
        let snapshot = self.snapshot();
        if snapshot.loaded && version == snapshot.config.version {
            return Ok(false);
        }
        self.reload(store).await?;
        Ok(true)
    }

    /// Reads the configuration again.
    ///
    /// # Errors
    /// Redis failed, or holds what livedash did not write.
    pub async fn reload(&self, store: &Store) -> Result<(), AlertError> {
        let config = store.alert_config().await?;
        let mut rules = HashMap::new();
        for rule in &config.rules {
            let compiled = rule.source.selector().ok().and_then(|selector| {
                let matcher = Matcher::new(&LiveQuery::Latest {
                    selector: Some(selector.clone()),
                })
                .ok()?;
                Some(Compiled::new(rule.clone(), selector, matcher))
            });
            match compiled {
                Some(compiled) => {
                    rules.insert(rule.id.clone(), Arc::new(compiled));
                }
                None => {
                    tracing::warn!(rule = %rule.id, "alert rule with a selector that no longer compiles; skipped")
                }
            }
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot {
            loaded: true,
            config,
            rules,
            routes: Mutex::new(HashMap::new()),
        });
        Ok(())
    }
}
