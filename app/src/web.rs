//! Web analytics as the browser and the server both see it: the channel a visit came through
//! and the kind of device it was made on.

use serde::{Deserialize, Serialize};

/// The event property holding the address of the page an event happened on: an event with one
/// is a page event.
pub const URL_PROPERTY: &str = "url";
/// The event property naming the site an event belongs to (`data-site` on the snippet; by
/// default the page's host without `www.`); events without one count under the site `""`.
pub const SITE_PROPERTY: &str = "site";

/// How a visit reached the site, decided once, at its first event (see `docs/analytics.md`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// No referrer and no campaign: a typed address, a bookmark, an app that sends nothing.
    Direct,
    /// A search engine's results, not an advertisement.
    OrganicSearch,
    /// A social network or forum.
    Social,
    /// An email or newsletter (a campaign's medium, or a webmail's referrer).
    Email,
    /// An advertisement: a paid medium in the campaign, or an ad network's click id.
    Paid,
    /// Any other site that links here.
    Referral,
}

impl Channel {
    /// Every channel, in the order reports list them.
    pub const ALL: [Self; 6] = [
        Self::Direct,
        Self::OrganicSearch,
        Self::Social,
        Self::Email,
        Self::Paid,
        Self::Referral,
    ];

    /// The name stored and sent (`organic_search`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::OrganicSearch => "organic_search",
            Self::Social => "social",
            Self::Email => "email",
            Self::Paid => "paid",
            Self::Referral => "referral",
        }
    }

    /// The name people read (`Organic search`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Direct => "Direct",
            Self::OrganicSearch => "Organic search",
            Self::Social => "Social",
            Self::Email => "Email",
            Self::Paid => "Paid",
            Self::Referral => "Referral",
        }
    }
}

/// What a visit was made on, as its user agent tells.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Desktop,
    Mobile,
    Tablet,
    /// A television, console, e-reader or anything the parser does not place.
    Other,
}

impl DeviceKind {
    /// The name stored and sent (`desktop`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Other => "other",
        }
    }
}

/// A site's web analytics over a range: what the Web analytics dashboard's widgets show.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WebReport {
    /// Users with a page view in the range.
    pub visitors: u64,
    /// Visits that started in the range.
    pub visits: u64,
    pub pageviews: u64,
    /// The visits' durations added up (first to last event), ms.
    pub duration_ms: u64,
    /// Visits with at most one page view and no other event.
    pub bounces: u64,
    /// Users with an event in the last five minutes (whatever the range).
    pub current_visitors: u64,
    /// Per ranking (see [`RANKINGS`]), its values, most first: page views for `page`, visits
    /// for the others.
    pub rankings: std::collections::BTreeMap<String, Vec<Ranked>>,
    /// Set when the report was worked out from the raw event log (a filtered report) and the
    /// range reaches back past what the log keeps: when its oldest entry was written, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_since: Option<i64>,
}

/// One value of a ranking and its count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub value: String,
    pub visits: u64,
}

/// The rankings of a [`WebReport`]: their name and the heading a widget shows. `page` counts
/// page views; the others count visits, by their entry or exit page or by what their first
/// event said.
pub const RANKINGS: [(&str, &str); 14] = [
    ("page", "Top pages"),
    ("entry", "Entry pages"),
    ("exit", "Exit pages"),
    ("channel", "Channels"),
    ("referrer", "Referrers"),
    ("utm_source", "UTM sources"),
    ("utm_medium", "UTM media"),
    ("utm_campaign", "Campaigns"),
    ("utm_term", "UTM terms"),
    ("utm_content", "UTM contents"),
    ("browser", "Browsers"),
    ("os", "Operating systems"),
    ("device", "Devices"),
    ("visitor", "New and returning"),
];

/// The heading of ranking `name` (the name itself when unknown).
#[must_use]
pub fn ranking_label(name: &str) -> &str {
    RANKINGS
        .iter()
        .find(|(known, _)| *known == name)
        .map_or(name, |(_, label)| label)
}

/// A web report's filter: only visits whose ranking `ranking` has `value` (for `page`: visits
/// with a page view of that page) count. Several filters must all hold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebFilter {
    pub ranking: String,
    pub value: String,
}

/// How bounce rate is defined, where it is shown.
pub const BOUNCE_DEFINITION: &str = "The share of visits with a single page view and no other event (any event besides page_view counts as engagement).";
