//! Share links: a random token that grants read-only, live access to one dashboard, stored only
//! as its hash, optionally expiring, revocable at once (open sockets are told through the
//! revocation channel).

use app::dashboard::{CreatedShareLink, Dashboard, ShareLink};
use app::events::AnalyticsQuery;
use app::query::Selector;

use super::dashboards::DashboardError;
use super::keys::{random_hex, secret_id};
use super::slots::Batch;
use super::{StorageError, Store};

/// What a link that no longer works says, wherever it is used.
pub const SHARE_LINK_ENDED: &str = "this share link was revoked or has expired";

/// What a share link's holder is told when asking for something its dashboard does not show.
pub const NOT_SHOWN: &str = "this share link's dashboard does not show that";

/// What a share link lets its holder see now: its dashboard (current version), and only what
/// that dashboard shows. The one place the rule "a link's holder may query only what its
/// dashboard shows" is decided, for server functions and live sockets alike.
pub struct ShareScope {
    /// The link's token, to check again that it still stands.
    pub token: String,
    /// The link's id (its revocation name).
    pub link: String,
    /// When the link stops working, ms since the epoch.
    pub expires_at: Option<i64>,
    /// The dashboard it shows.
    pub dashboard: Dashboard,
    selectors: Vec<Selector>,
}

impl ShareScope {
    /// Whether the dashboard shows `selector` (in one of its widgets' queries).
    #[must_use]
    pub fn shows_selector(&self, selector: &Selector) -> bool {
        self.selectors.contains(selector)
    }

    /// Whether `selector` follows the alert states of a selector the dashboard shows: a
    /// link's holder sees whether its widgets alert, and nothing of other rules.
    #[must_use]
    pub fn shows_alert_states(&self, selector: &Selector) -> bool {
        app::alerts::api::state_selector_of(selector)
            .and_then(|text| Selector::parse(text).ok())
            .is_some_and(|watched| self.shows_selector(&watched))
    }

    /// Whether the dashboard shows `query` (in one of its analytics widgets).
    #[must_use]
    pub fn shows_analytics(&self, query: &AnalyticsQuery) -> bool {
        app::share_scope::shows(&self.dashboard, query)
    }
}

/// Longest label of a link.
pub const MAX_LABEL_CHARS: usize = 200;

/// The id of a link: its token's hash (so the token itself is never stored).
fn link_id(token: &str) -> String {
    secret_id(token)
}

fn is_link_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

impl Store {
    /// Creates a link to dashboard `dashboard`, expiring `expires_in_ms` from `now_ms` if given.
    /// The token is in the answer only: it is stored hashed.
    ///
    /// # Errors
    /// No such dashboard, a bad label or expiry, or Redis failed.
    pub async fn create_share_link(
        &self,
        dashboard: &str,
        label: &str,
        expires_in_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<CreatedShareLink, DashboardError> {
        // It must exist (and its id is checked on the way).
        self.dashboard(dashboard).await?;
        let label = label.trim();
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(invalid(
                "label",
                format!("at most {MAX_LABEL_CHARS} characters"),
            ));
        }
        if expires_in_ms.is_some_and(|ms| ms <= 0) {
            return Err(invalid("expires_in_ms", "must be positive".into()));
        }
        // 128 random bits: a link must not be guessable.
        let token = random_hex::<16>("share token")?;
        let link = ShareLink {
            id: link_id(&token),
            dashboard: dashboard.to_owned(),
            label: label.to_owned(),
            created_at: now_ms,
            expires_at: expires_in_ms.map(|ms| now_ms + ms),
        };
        let json = serde_json::to_string(&link).expect("share links encode as JSON");
        let key = self.keys.share_link(&link.id);
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.ignored("SET", &key).arg(json);
        if let Some(at) = link.expires_at {
            batch.ignored("PEXPIREAT", &key).arg(at);
        }
        batch
            .ignored("SADD", &self.keys.dashboard_shares(dashboard))
            .arg(&link.id);
        let () = batch.query(&connection).await?;
        Ok(CreatedShareLink { token, link })
    }

    /// The live links of dashboard `dashboard`, newest first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn share_links(&self, dashboard: &str) -> Result<Vec<ShareLink>, DashboardError> {
        self.dashboard(dashboard).await?;
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.dashboard_shares(dashboard))
            .query_async(&mut self.connection())
            .await?;
        // One round trip for every link; a missing one has expired.
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for id in &ids {
            batch.cmd("GET", &self.keys.share_link(id));
        }
        let stored: Vec<Option<String>> = if ids.is_empty() {
            Vec::new()
        } else {
            batch.query(&connection).await?
        };
        let mut links = Vec::new();
        let mut expired = Vec::new();
        for (id, json) in ids.iter().zip(stored) {
            match json {
                Some(json) => links.push(self.parse_share_link(id, &json)?),
                None => expired.push(id),
            }
        }
        if !expired.is_empty() {
            let _: () = redis::cmd("SREM")
                .arg(self.keys.dashboard_shares(dashboard))
                .arg(expired)
                .query_async(&mut self.connection())
                .await?;
        }
        links.sort_by_key(|link| std::cmp::Reverse(link.created_at));
        Ok(links)
    }

    /// What `token` grants at `now_ms`: its link, unless revoked or expired.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn resolve_share_token(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<ShareLink>, DashboardError> {
        Ok(self
            .share_link_by_id(&link_id(token))
            .await?
            .filter(|link| link.expires_at.is_none_or(|at| at > now_ms)))
    }

    /// The dashboard `token` shows at `now_ms` (its current version).
    ///
    /// # Errors
    /// [`DashboardError::NotFound`] once the link is revoked or expired, or Redis failed.
    pub async fn shared_dashboard(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Dashboard, DashboardError> {
        let link = self
            .resolve_share_token(token, now_ms)
            .await?
            .ok_or_else(|| DashboardError::NotFound(SHARE_LINK_ENDED.into()))?;
        self.dashboard(&link.dashboard).await
    }

    /// What `token` lets its holder see at `now_ms`; `None` once the link is revoked or
    /// expired.
    ///
    /// # Errors
    /// The dashboard could not be read, or Redis failed.
    pub async fn share_scope(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<ShareScope>, DashboardError> {
        let Some(link) = self.resolve_share_token(token, now_ms).await? else {
            return Ok(None);
        };
        let dashboard = self.dashboard(&link.dashboard).await?;
        Ok(Some(ShareScope {
            token: token.to_owned(),
            link: link.id,
            expires_at: link.expires_at,
            selectors: app::share_scope::shown_selectors(&dashboard),
            dashboard,
        }))
    }

    async fn share_link_by_id(&self, id: &str) -> Result<Option<ShareLink>, DashboardError> {
        let json: Option<String> = redis::cmd("GET")
            .arg(self.keys.share_link(id))
            .query_async(&mut self.connection())
            .await?;
        json.map(|json| self.parse_share_link(id, &json))
            .transpose()
    }

    fn parse_share_link(&self, id: &str, json: &str) -> Result<ShareLink, DashboardError> {
        serde_json::from_str(json).map_err(|error| {
            DashboardError::Storage(StorageError::Corrupt {
                key: self.keys.share_link(id),
                reason: error.to_string(),
            })
        })
    }

    /// Revokes link `id` of dashboard `dashboard`: it stops working at once, and processes close
    /// the sockets opened with it.
    ///
    /// # Errors
    /// No such link, or Redis failed.
    pub async fn revoke_share_link(&self, dashboard: &str, id: &str) -> Result<(), DashboardError> {
        let missing = || DashboardError::NotFound(format!("share link {id}"));
        if !is_link_id(id) {
            return Err(missing());
        }
        let link = self.share_link_by_id(id).await?.ok_or_else(missing)?;
        if link.dashboard != dashboard {
            return Err(missing());
        }
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.ignored("DEL", &self.keys.share_link(id));
        batch
            .ignored("SREM", &self.keys.dashboard_shares(dashboard))
            .arg(id);
        let () = batch.query(&connection).await?;
        // Published once the link is gone (on a cluster the deletion may be on another node):
        // every process closes the link's sockets, and a reconnect finds no link.
        let _: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.revocations())
            .arg(id)
            .query_async(&mut connection.clone())
            .await?;
        Ok(())
    }

    /// Revokes every link of `dashboard` (it is being deleted).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn revoke_all_share_links(&self, dashboard: &str) -> Result<(), DashboardError> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.dashboard_shares(dashboard))
            .query_async(&mut self.connection())
            .await?;
        for id in ids {
            match self.revoke_share_link(dashboard, &id).await {
                Ok(()) | Err(DashboardError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        let _: () = redis::cmd("DEL")
            .arg(self.keys.dashboard_shares(dashboard))
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }
}

fn invalid(field: &str, problem: String) -> DashboardError {
    DashboardError::Invalid(app::dashboard::InvalidDashboard {
        field: field.to_owned(),
        problem,
    })
}
