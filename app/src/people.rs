//! A person as analytics knows them: what the people view shows, and what an export hands
//! over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::Event;

/// Most events a person's timeline keeps (the newest).
pub const TIMELINE_LEN: usize = 200;

/// The event properties that make a visit's source, as [`Person::first_source`] holds them.
pub const SOURCE_PROPERTIES: [&str; 7] = [
    "channel",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// One person: their summary and their recent events.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Person {
    /// The id their events carry.
    pub user_id: String,
    /// Their earliest and latest event, ms since the Unix epoch.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Visits on any site (page events more than the visit timeout apart start another).
    pub visits: i64,
    /// Events by name.
    pub events: BTreeMap<String, u64>,
    /// The source of their first visit: its channel, referrer host and campaign parameters
    /// (those it had).
    pub first_source: BTreeMap<String, String>,
    /// Their newest events (at most [`TIMELINE_LEN`]), newest first.
    pub timeline: Vec<Event>,
}
