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
