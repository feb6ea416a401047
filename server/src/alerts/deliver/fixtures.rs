//! A notification as tests of what receivers are sent use it.

use std::collections::BTreeMap;

use app::alerts::machine::Notice;

use crate::storage::alerts::Queued;

/// `cpu high` on `host=web-1`, critical, value 97, its dashboard `d1`; resolved a minute after
/// it fired when `status` says so.
pub fn queued(status: Notice) -> Queued {
    Queued {
        contact: "ops".into(),
        rule_id: "r1".into(),
        rule_name: "cpu high".into(),
        group: "{}".into(),
        transitions: 1,
        status,
        labels: BTreeMap::from([
            ("alertname".to_owned(), "cpu high".to_owned()),
            ("host".to_owned(), "web-1".to_owned()),
            ("severity".to_owned(), "critical".to_owned()),
        ]),
        annotations: BTreeMap::from([("summary".to_owned(), "web-1 is hot".to_owned())]),
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: (status == Notice::Resolved).then_some(1_700_000_060_000),
        value: Some(97.0),
        state: "firing".into(),
        dashboard: Some("d1".into()),
        at_ms: 1_700_000_000_000,
    }
}
