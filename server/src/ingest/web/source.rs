//! Where a visit came from: the referring site, the five UTM parameters of the landing page's
//! address, and the channel they add up to.
//!
//! Addresses are read with the `url` crate (the WHATWG URL standard, as browsers read them).
//! The channel rules follow the usual default grouping of web analytics tools: a campaign's
//! medium speaks first, then an ad network's click id, then the referring site's kind.

use app::web::Channel;
use url::Url;

/// Longest value kept of a UTM parameter or referrer host, in bytes.
const MAX_VALUE_LEN: usize = 200;

/// The five UTM parameters of a landing page's address; `None` where absent or empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

/// Where a visit came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The referring site's host, without `www.`; `None` for no referrer or the site itself.
    pub referrer: Option<String>,
    pub utm: Utm,
    pub channel: Channel,
}

/// The source of a visit that landed on `page` (the full address) coming from `referrer`
/// (`document.referrer`, often empty). A referrer on the page's own host, or on one of
/// `own_hosts` (the site's other domains) or their subdomains, is the site itself and dropped.
#[must_use]
pub fn source(page: &str, referrer: &str, own_hosts: &[String]) -> Source {
    source_of(Url::parse(page).ok().as_ref(), referrer, own_hosts)
}

/// [`source`] of a page address already parsed (`None`: it could not be).
#[must_use]
pub fn source_of(page: Option<&Url>, referrer: &str, own_hosts: &[String]) -> Source {
    let page_host = page.as_ref().and_then(|url| url.host_str().map(bare_host));
    let mut utm = Utm::default();
    let mut paid_click = false;
    let mut ref_param = None;
    if let Some(page) = &page {
        for (name, value) in page.query_pairs() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = match name.to_ascii_lowercase().as_str() {
                "utm_source" => &mut utm.source,
                "utm_medium" => &mut utm.medium,
                "utm_campaign" => &mut utm.campaign,
                "utm_term" => &mut utm.term,
                "utm_content" => &mut utm.content,
                // Google, Microsoft and DoubleClick add these to ad clicks only.
                "gclid" | "gbraid" | "wbraid" | "msclkid" | "dclid" => {
                    paid_click = true;
                    continue;
                }
                "ref" | "source" => &mut ref_param,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(clip(value));
            }
        }
    }
    let referrer = referrer_host(referrer).filter(|host| {
        page_host.as_deref() != Some(host.as_str())
            && !own_hosts
                .iter()
                .any(|own| is_or_under(host, &bare_host(own)))
    });
    // `?ref=` names a source where no UTM does (Product Hunt, newsletters, link shorteners).
    if utm.source.is_none() {
        utm.source = ref_param;
    }
    let channel = channel(&utm, paid_click, referrer.as_deref());
    Source {
        referrer,
        utm,
        channel,
    }
}

/// The referring host of `referrer`, lowercase and without `www.`; an app's referrer
/// (`android-app://com.google.android.gm/`) gives the app's id.
fn referrer_host(referrer: &str) -> Option<String> {
    let url = Url::parse(referrer.trim()).ok()?;
    let host = url.host_str()?;
    match url.scheme() {
        "http" | "https" | "android-app" => Some(clip(&bare_host(host))),
        _ => None,
    }
}

/// `host` lowercase, without a trailing dot or a leading `www.`.
/// `host` as a site is named: lower case, without a final dot or `www.`.
pub(super) fn bare_host(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.strip_prefix("www.") {
        Some(rest) => rest.to_owned(),
        None => host,
    }
}

fn clip(value: &str) -> String {
    let mut end = value.len().min(MAX_VALUE_LEN);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// Whether `host` is `domain` or a subdomain of it.
fn is_or_under(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether `host` is `brand` under any top-level or country domain (`google.com`,
/// `google.co.uk`, `news.google.de`): the brand's label followed by one or two short labels.
fn is_brand(host: &str, brand: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels
        .iter()
        .position(|label| *label == brand)
        .is_some_and(|at| {
            let rest = &labels[at + 1..];
            !rest.is_empty() && rest.len() <= 2 && rest.iter().all(|label| label.len() <= 3)
        })
}

const SEARCH_BRANDS: &[&str] = &["google", "bing", "yahoo", "yandex", "baidu", "naver"];
const SEARCH_DOMAINS: &[&str] = &[
    "duckduckgo.com",
    "ecosia.org",
    "search.brave.com",
    "startpage.com",
    "qwant.com",
    "seznam.cz",
    "kagi.com",
    "ask.com",
    "search.aol.com",
    "so.com",
    "sogou.com",
    "com.google.android.googlequicksearchbox",
];
const SOCIAL_DOMAINS: &[&str] = &[
    "facebook.com",
    "fb.com",
    "fb.me",
    "instagram.com",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "reddit.com",
    "youtube.com",
    "youtu.be",
    "pinterest.com",
    "tiktok.com",
    "threads.net",
    "bsky.app",
    "mastodon.social",
    "news.ycombinator.com",
    "quora.com",
    "tumblr.com",
    "vk.com",
    "weibo.com",
    "discord.com",
    "t.me",
    "telegram.org",
    "whatsapp.com",
    "snapchat.com",
    "com.linkedin.android",
    "com.reddit.frontpage",
];
const MAIL_DOMAINS: &[&str] = &[
    "mail.google.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "mail.yahoo.com",
    "mail.proton.me",
    "app.fastmail.com",
    "com.google.android.gm",
];
const PAID_MEDIA: &[&str] = &[
    "cpc",
    "ppc",
    "cpm",
    "cpv",
    "cpa",
    "paid",
    "paidsearch",
    "paid_search",
    "paid-search",
    "paidsocial",
    "paid_social",
    "paid-social",
    "display",
    "banner",
    "retargeting",
    "affiliate",
];
const EMAIL_MEDIA: &[&str] = &["email", "e-mail", "e_mail", "mail", "newsletter"];
const SOCIAL_MEDIA: &[&str] = &[
    "social",
    "social-network",
    "social_network",
    "social-media",
    "social_media",
    "sm",
];

fn any_domain(host: &str, domains: &[&str]) -> bool {
    domains.iter().any(|domain| is_or_under(host, domain))
}

fn is_search(host: &str) -> bool {
    any_domain(host, SEARCH_DOMAINS) || SEARCH_BRANDS.iter().any(|brand| is_brand(host, brand))
}

/// The channel of a visit with these campaign parameters, ad click and referring host.
fn channel(utm: &Utm, paid_click: bool, referrer: Option<&str>) -> Channel {
    let medium = utm.medium.as_deref().map(str::to_ascii_lowercase);
    let medium = medium.as_deref();
    let source = utm.source.as_deref().map(str::to_ascii_lowercase);
    let in_list = |value: Option<&str>, list: &[&str]| value.is_some_and(|v| list.contains(&v));
    if in_list(medium, PAID_MEDIA) || paid_click {
        return Channel::Paid;
    }
    if in_list(medium, EMAIL_MEDIA)
        || in_list(source.as_deref(), EMAIL_MEDIA)
        || referrer.is_some_and(|host| any_domain(host, MAIL_DOMAINS))
    {
        return Channel::Email;
    }
    if medium == Some("organic") || referrer.is_some_and(is_search) {
        return Channel::OrganicSearch;
    }
    let social_source = source
        .as_deref()
        .is_some_and(|source| any_domain(source, SOCIAL_DOMAINS) || is_social_name(source));
    if in_list(medium, SOCIAL_MEDIA)
        || social_source
        || referrer.is_some_and(|host| any_domain(host, SOCIAL_DOMAINS))
    {
        return Channel::Social;
    }
    if referrer.is_some() || utm.source.is_some() || medium.is_some() {
        return Channel::Referral;
    }
    Channel::Direct
}

/// A social network named as a campaign source without its domain (`utm_source=facebook`).
fn is_social_name(source: &str) -> bool {
    SOCIAL_DOMAINS
        .iter()
        .any(|domain| domain.split('.').next() == Some(source) && source.len() > 2)
        || matches!(
            source,
            "twitter" | "linkedin" | "ig" | "fb" | "hackernews" | "hn"
        )
}

#[cfg(test)]
mod tests;
