//! The settings the layers below the edge are made with (storage's limits, how events are
//! kept), owned here so that configuration depends on nothing but `app`.

/// How events are kept (from the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSettings {
    /// Properties whose values are ranked per bucket (top pages: `path`).
    pub ranked_properties: Vec<String>,
    /// How long the raw event log keeps events, ms (what a funnel can backfill from).
    pub log_retention_ms: i64,
    /// How long a person's timeline and summary are kept after their last event, ms.
    pub person_retention_ms: i64,
    /// How long without an event ends a visit, ms.
    pub visit_timeout_ms: i64,
    /// How many users a site's filter of users seen is sized for.
    pub expected_users: u64,
    /// The share of new users the filter may take for returning ones at that size, in parts
    /// per million.
    pub new_user_error_ppm: u32,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            ranked_properties: vec!["path".into()],
            log_retention_ms: 7 * 86_400_000,
            person_retention_ms: 90 * 86_400_000,
            visit_timeout_ms: 30 * 60_000,
            expected_users: 1_000_000,
            new_user_error_ppm: 10_000,
        }
    }
}

/// How alerting keeps its history and delivers notifications (from the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    /// How long transitions stay in the history, ms.
    pub history_retention_ms: i64,
    /// How long a notification is retried before it becomes a dead letter, ms.
    pub retry_for_ms: i64,
    /// How long a notification may sit unacknowledged with a process before another takes it
    /// over (its process is taken for dead), ms.
    pub claim_after_ms: i64,
    /// The address people reach livedash at, for links in notifications.
    pub public_url: Option<String>,
    /// Rules, contact points and silences provisioned at start from this JSON file.
    pub file: Option<std::path::PathBuf>,
    /// The SMTP relay email notifications go through, if any.
    pub smtp: Option<SmtpSettings>,
}

/// An SMTP relay, and the sender of the email sent through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    /// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`, `smtp://host:25`.
    pub url: String,
    /// `livedash@example.com` or `livedash <alerts@example.com>`.
    pub from: String,
}

/// The sender of email notifications when `LIVEDASH_SMTP_FROM` is unset.
pub const DEFAULT_SMTP_FROM: &str = "livedash <livedash@localhost>";

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            history_retention_ms: 30 * 86_400_000,
            retry_for_ms: 86_400_000,
            claim_after_ms: 30_000,
            public_url: None,
            file: None,
            smtp: None,
        }
    }
}

/// Cardinality caps; `None` means no cap. Checked when a series is first written; across
/// several processes writing new series at the same moment, a cap may be passed by a batch.
/// Series count until they are deleted, not when their data expires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Most series in all.
    pub total: Option<usize>,
    /// Most series per metric name.
    pub per_metric: Option<usize>,
}

/// Default of [`QueryLimits::max_keys`].
pub const DEFAULT_MAX_QUERY_KEYS: usize = 200_000;
/// Default of [`QueryLimits::max_points`].
pub const DEFAULT_MAX_QUERY_POINTS: usize = 1_000_000;

/// How much one query may read and hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Redis keys one query reads, over all its series (`LIVEDASH_QUERY_MAX_KEYS`).
    pub max_keys: usize,
    /// Steps × series one query holds (`LIVEDASH_QUERY_MAX_POINTS`).
    pub max_points: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_keys: DEFAULT_MAX_QUERY_KEYS,
            max_points: DEFAULT_MAX_QUERY_POINTS,
        }
    }
}
