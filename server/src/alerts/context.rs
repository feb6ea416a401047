//! What every alerting task shares: the store, the settings, this process's name among the
//! delivery workers, the rules, and shutdown.

use tokio_util::sync::CancellationToken;

use crate::config::AlertSettings;
use crate::storage::Store;

/// What every alerting task shares.
pub struct Context {
    pub store: Store,
    /// Where alert states are written as samples.
    pub writer: crate::storage::writer::Writer,
    pub settings: AlertSettings,
    /// The SMTP relay email notifications go through, when one is configured.
    pub mailer: Option<super::deliver::email::Mailer>,
    /// The address links in notifications start with.
    pub public_url: String,
    /// This process's name among the delivery workers.
    pub consumer: String,
    pub rules: super::rules::Rules,
    /// The series of the metrics rules watch, read once for all of them.
    pub catalog: super::catalog::Catalog,
    /// The processes sharing the evaluation, and which rules are this one's.
    pub members: super::members::Members,
    pub shutdown: CancellationToken,
}
