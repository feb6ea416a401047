//! The rules a process holds: read from Redis when their version changes, compiled once, and
//! which series each watches (remembered per series id until the rules change).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use app::alerts::Rule;
use app::live::LiveQuery;
use app::model::SeriesKey;
use app::query::Selector;

use crate::live::feed::Matcher;
use crate::storage::alerts::{AlertConfig, AlertError};
use crate::storage::{SeriesId, Store};

/// A rule ready to evaluate.
pub struct Compiled {
    pub rule: Rule,
    pub selector: Selector,
    matcher: Matcher,
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
                Some(Compiled {
                    rule: rule.clone(),
                    selector,
                    matcher,
                })
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
