//! Dashboards in Redis: every save is a new version, stored only over the version the edit
//! started from, so a save made elsewhere in the meantime is detected instead of overwritten.

use app::dashboard::{
    Dashboard, DashboardSummary, InvalidDashboard, MAX_SUMMARY_CHARS, SaveOutcome, VersionInfo,
};

use super::keys::random_hex;
use super::{StorageError, Store};
use crate::failure::{Classify, Failure};

/// Saves a version if the dashboard is still at the version the edit started from.
/// KEYS: versions hash, log list. ARGV: base version, dashboard JSON, version info JSON.
/// Returns {1, ''} when saved, {0, current version info JSON or ''} when the base is not current.
/// (The list entry is another key, in another cluster slot, so it is written after.)
const SAVE_LUA: &str = r"#!lua
local current = redis.call('LLEN', KEYS[2])
if current ~= tonumber(ARGV[1]) then
  return {0, redis.call('LINDEX', KEYS[2], -1) or ''}
end
redis.call('HSET', KEYS[1], current + 1, ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
return {1, ''}
";

/// The current version's content, or nil. KEYS: versions hash, log list.
const CURRENT_LUA: &str = r"#!lua
local current = redis.call('LLEN', KEYS[2])
if current == 0 then return false end
return redis.call('HGET', KEYS[1], current)
";

/// Sets a dashboard's listing unless it lists a newer version already. KEYS: the listing
/// hash. ARGV: dashboard id, version, listing JSON. Returns 1 when set.
const LISTING_LUA: &str = r"#!lua
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current)['version'] >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
";

/// What dashboard storage can fail with.
#[derive(thiserror::Error, Debug)]
pub enum DashboardError {
    #[error("there is no dashboard {0:?}")]
    NotFound(String),
    #[error("dashboard {id:?} has no version {version}")]
    NoSuchVersion { id: String, version: u64 },
    #[error(transparent)]
    Invalid(#[from] InvalidDashboard),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<redis::RedisError> for DashboardError {
    fn from(error: redis::RedisError) -> Self {
        Self::Storage(error.into())
    }
}

impl Classify for DashboardError {
    fn failure(&self) -> Failure {
        match self {
            Self::Storage(error) => error.failure(),
            Self::NotFound(_) | Self::NoSuchVersion { .. } => Failure::NotFound,
            Self::Invalid(_) => Failure::Invalid,
        }
    }
}

/// Whether `id` is one livedash made: 16 lowercase hex digits (so it can sit in a key name).
fn is_dashboard_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// The stored form. These types hold no maps with non-text keys, so encoding cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("dashboards encode as JSON")
}

fn corrupt(key: String, error: &serde_json::Error) -> DashboardError {
    DashboardError::Storage(StorageError::Corrupt {
        key,
        reason: error.to_string(),
    })
}

impl Store {
    /// Every dashboard, sorted by title.
    ///
    /// # Errors
    /// Redis failed or holds an entry livedash did not write.
    pub async fn list_dashboards(&self) -> Result<Vec<DashboardSummary>, DashboardError> {
        let key = self.keys.dashboards();
        let entries: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.connection())
            .await?;
        let mut summaries = entries
            .iter()
            .map(|(id, json)| {
                serde_json::from_str(json).map_err(|error| corrupt(format!("{key} {id}"), &error))
            })
            .collect::<Result<Vec<DashboardSummary>, _>>()?;
        summaries
            .sort_by(|a, b| (a.title.to_lowercase(), &a.id).cmp(&(b.title.to_lowercase(), &b.id)));
        Ok(summaries)
    }

    /// The current version of dashboard `id`.
    ///
    /// # Errors
    /// There is no such dashboard, or Redis failed.
    pub async fn dashboard(&self, id: &str) -> Result<Dashboard, DashboardError> {
        if !is_dashboard_id(id) {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        let versions = self.keys.dashboard_versions(id);
        let json: Option<String> = redis::Script::new(CURRENT_LUA)
            .key(&versions)
            .key(self.keys.dashboard_log(id))
            .invoke_async(&mut self.connection())
            .await?;
        let json = json.ok_or_else(|| DashboardError::NotFound(id.to_owned()))?;
        serde_json::from_str(&json).map_err(|error| corrupt(versions, &error))
    }

    /// Version `version` of dashboard `id`.
    ///
    /// # Errors
    /// There is no such dashboard or version, or Redis failed.
    pub async fn dashboard_version(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Dashboard, DashboardError> {
        if !is_dashboard_id(id) {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        let versions = self.keys.dashboard_versions(id);
        let json: Option<String> = redis::cmd("HGET")
            .arg(&versions)
            .arg(version)
            .query_async(&mut self.connection())
            .await?;
        let json = json.ok_or_else(|| DashboardError::NoSuchVersion {
            id: id.to_owned(),
            version,
        })?;
        serde_json::from_str(&json).map_err(|error| corrupt(versions, &error))
    }

    /// Every version of dashboard `id`, newest first.
    ///
    /// # Errors
    /// There is no such dashboard, or Redis failed.
    pub async fn dashboard_history(&self, id: &str) -> Result<Vec<VersionInfo>, DashboardError> {
        if !is_dashboard_id(id) {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        let log = self.keys.dashboard_log(id);
        let entries: Vec<String> = redis::cmd("LRANGE")
            .arg(&log)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.connection())
            .await?;
        if entries.is_empty() {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        let mut history = entries
            .iter()
            .map(|json| serde_json::from_str(json).map_err(|error| corrupt(log.clone(), &error)))
            .collect::<Result<Vec<VersionInfo>, _>>()?;
        history.reverse();
        Ok(history)
    }

    /// Stores `dashboard` as a new dashboard (a new id, version 1): creating, duplicating and
    /// importing all come here.
    ///
    /// # Errors
    /// The dashboard breaks a rule, or Redis failed.
    pub async fn create_dashboard(
        &self,
        dashboard: Dashboard,
        summary: &str,
        author: &str,
        now_ms: i64,
    ) -> Result<Dashboard, DashboardError> {
        let id = Self::new_dashboard_id()?;
        self.create_dashboard_as(id, dashboard, summary, author, now_ms)
            .await
    }

    /// A new dashboard id: 64 random bits (ids only need to be distinct).
    ///
    /// # Errors
    /// The system has no randomness to give.
    pub fn new_dashboard_id() -> Result<String, DashboardError> {
        Ok(random_hex::<8>("dashboard id")?)
    }

    /// [`Store::create_dashboard`] with an id made beforehand by [`Store::new_dashboard_id`].
    ///
    /// # Errors
    /// The dashboard breaks a rule, the id is taken, or Redis failed.
    pub async fn create_dashboard_as(
        &self,
        id: String,
        mut dashboard: Dashboard,
        summary: &str,
        author: &str,
        now_ms: i64,
    ) -> Result<Dashboard, DashboardError> {
        dashboard.id = id;
        dashboard.version = 0;
        match self
            .save_version(dashboard.clone(), summary, author, now_ms)
            .await?
        {
            SaveOutcome::Saved { version } => {
                dashboard.version = version.version;
                Ok(dashboard)
            }
            // A fresh random id is not taken; if it were, nothing was overwritten.
            SaveOutcome::Conflict { .. } => Err(DashboardError::Storage(StorageError::Corrupt {
                key: self.keys.dashboard_log(&dashboard.id),
                reason: "a new dashboard id was already in use".into(),
            })),
        }
    }

    /// Saves `dashboard` as the next version of itself, if its `version` is still the current
    /// one; otherwise stores nothing and says which version is current.
    ///
    /// # Errors
    /// There is no such dashboard, it breaks a rule, or Redis failed.
    pub async fn save_dashboard(
        &self,
        dashboard: Dashboard,
        summary: &str,
        author: &str,
        now_ms: i64,
    ) -> Result<SaveOutcome, DashboardError> {
        if !is_dashboard_id(&dashboard.id) || dashboard.version == 0 {
            return Err(DashboardError::NotFound(dashboard.id));
        }
        self.save_version(dashboard, summary, author, now_ms).await
    }

    /// Saves the content of an earlier version as a new version, over `base`.
    ///
    /// # Errors
    /// There is no such dashboard or version, or Redis failed.
    pub async fn restore_dashboard(
        &self,
        id: &str,
        version: u64,
        base: u64,
        author: &str,
        now_ms: i64,
    ) -> Result<SaveOutcome, DashboardError> {
        let mut dashboard = self.dashboard_version(id, version).await?;
        dashboard.version = base;
        self.save_dashboard(
            dashboard,
            &format!("Restored version {version}"),
            author,
            now_ms,
        )
        .await
    }

    /// Deletes dashboard `id` with its history.
    ///
    /// # Errors
    /// There is no such dashboard, or Redis failed.
    pub async fn delete_dashboard(&self, id: &str) -> Result<(), DashboardError> {
        if !is_dashboard_id(id) {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        self.revoke_all_share_links(id).await?;
        let mut connection = self.connection();
        let deleted: usize = redis::cmd("DEL")
            .arg(self.keys.dashboard_versions(id))
            .arg(self.keys.dashboard_log(id))
            .query_async(&mut connection)
            .await?;
        let listed: usize = redis::cmd("HDEL")
            .arg(self.keys.dashboards())
            .arg(id)
            .query_async(&mut connection)
            .await?;
        if deleted == 0 && listed == 0 {
            return Err(DashboardError::NotFound(id.to_owned()));
        }
        Ok(())
    }

    /// The Overview dashboard's id, once one was made.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn overview_id(&self) -> Result<Option<String>, DashboardError> {
        Ok(redis::cmd("GET")
            .arg(self.keys.overview())
            .query_async(&mut self.connection())
            .await?)
    }

    /// Records `id` as the Overview dashboard unless one is recorded already; whether it was.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_overview(&self, id: &str) -> Result<bool, DashboardError> {
        self.claim(self.keys.overview(), id).await
    }

    /// Claims `id` as the demo dashboard's (see [`Self::claim_overview`]).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn claim_demo(&self, id: &str) -> Result<bool, DashboardError> {
        self.claim(self.keys.demo(), id).await
    }

    async fn claim(&self, key: String, id: &str) -> Result<bool, DashboardError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(id)
            .arg("NX")
            .query_async(&mut self.connection())
            .await?;
        Ok(set.is_some())
    }

    /// The id of `site`'s built-in Web analytics dashboard, made on first use from
    /// [`app::dashboard::web_template::web_analytics`] (by whichever process asks first); once
    /// made it is an ordinary dashboard, edited and versioned like any other.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn web_dashboard(&self, site: &str, now_ms: i64) -> Result<String, DashboardError> {
        let id = super::keys::name_hash(&format!("web-analytics\n{site}"));
        let mut dashboard = app::dashboard::web_template::web_analytics(site);
        dashboard.id.clone_from(&id);
        // Version 0 saves only where there is none yet: a dashboard already made stays as it
        // was edited, and two processes making it at once make it once.
        self.save_version(
            dashboard,
            "Built-in Web analytics dashboard",
            "livedash",
            now_ms,
        )
        .await?;
        Ok(id)
    }

    async fn save_version(
        &self,
        mut dashboard: Dashboard,
        summary: &str,
        author: &str,
        now_ms: i64,
    ) -> Result<SaveOutcome, DashboardError> {
        dashboard.validate()?;
        let summary = summary.trim();
        if summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(InvalidDashboard {
                field: "summary".into(),
                problem: format!("at most {MAX_SUMMARY_CHARS} characters"),
            }
            .into());
        }
        let base = dashboard.version;
        dashboard.version = base + 1;
        let info = VersionInfo {
            version: base + 1,
            saved_at: now_ms,
            saved_by: author.to_owned(),
            summary: if summary.is_empty() {
                "Saved".to_owned()
            } else {
                summary.to_owned()
            },
        };
        let log = self.keys.dashboard_log(&dashboard.id);
        let (saved, current): (i64, Option<String>) = redis::Script::new(SAVE_LUA)
            .key(self.keys.dashboard_versions(&dashboard.id))
            .key(&log)
            .arg(base)
            .arg(to_json(&dashboard))
            .arg(to_json(&info))
            .invoke_async(&mut self.connection())
            .await?;
        if saved == 0 {
            let current = current
                .filter(|json| !json.is_empty())
                .ok_or_else(|| DashboardError::NotFound(dashboard.id.clone()))?;
            let current = serde_json::from_str(&current).map_err(|error| corrupt(log, &error))?;
            return Ok(SaveOutcome::Conflict { current });
        }
        let listed = DashboardSummary {
            id: dashboard.id.clone(),
            title: dashboard.title.clone(),
            version: info.version,
            saved_at: info.saved_at,
            widgets: dashboard.widgets.len(),
        };
        // Two processes saving one dashboard one after the other may write its listing in the
        // other order: the listing only ever moves to a newer version.
        let _: i64 = redis::Script::new(LISTING_LUA)
            .key(self.keys.dashboards())
            .arg(&dashboard.id)
            .arg(info.version)
            .arg(to_json(&listed))
            .invoke_async(&mut self.connection())
            .await?;
        Ok(SaveOutcome::Saved { version: info })
    }
}
