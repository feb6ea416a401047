//! What a page view says about its visit beyond the event itself: the source (referrer, UTM
//! parameters, channel) and the device (browser, OS, kind, or a bot). Pure functions of what the
//! browser sent; nothing here touches storage.
//!
//! Only events that carry the page's address (the `url` property, which the snippet always
//! sends) get this context: events a backend sends about its users are left as they are, and a
//! backend's own user agent is never taken for a bot's.

pub mod cookieless;
pub mod device;
pub mod source;

use app::events::Event;

pub use device::{Agent, Device, agent};
pub use source::{Source, Utm, source};

pub use app::web::{SITE_PROPERTY, URL_PROPERTY};
/// The counter of events from bots, by `site`: counted, never stored as events.
pub const BOT_EVENTS_METRIC: &str = "livedash_web_bot_events_total";

/// What [`add_page_context`] made of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageContext {
    /// Not from a web page (no `url`): left as it is.
    None,
    /// From a bot: to be counted for its site and dropped.
    Bot { site: String },
    /// From a person: its properties now tell the site, device and source.
    Added,
}

/// Adds the page context of `event`, sent by `user_agent` (see [`agent`]: classified once per
/// request): `site`, `browser`, `os`, `device`,
/// `channel`, `referrer_host` and the `utm_*` parameters found, each only where the sender did
/// not set it. A referrer on the site's own domain is no referrer.
pub fn add_page_context(event: &mut Event, user_agent: &Agent) -> PageContext {
    let Some(url) = event.properties.get(URL_PROPERTY) else {
        return PageContext::None;
    };
    // Parsed once, for the site and the source.
    let page = url::Url::parse(url).ok();
    let site = match event.properties.get(SITE_PROPERTY) {
        Some(site) => site.clone(),
        None => page
            .as_ref()
            .and_then(|page| page.host_str().map(source::bare_host))
            .unwrap_or_default(),
    };
    let device = match user_agent {
        Agent::Bot => return PageContext::Bot { site },
        Agent::Person(device) => device.clone(),
    };
    let referrer = event
        .properties
        .get("referrer")
        .map(String::as_str)
        .unwrap_or_default();
    let source = source::source_of(page.as_ref(), referrer, std::slice::from_ref(&site));
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            event.properties.entry(name.to_owned()).or_insert(value);
        }
    };
    add(SITE_PROPERTY, Some(site.clone()).filter(|s| !s.is_empty()));
    add("browser", Some(device.browser));
    add("os", Some(device.os));
    add("device", Some(device.kind.as_str().to_owned()));
    add("channel", Some(source.channel.as_str().to_owned()));
    add("referrer_host", source.referrer);
    add("utm_source", source.utm.source);
    add("utm_medium", source.utm.medium);
    add("utm_campaign", source.utm.campaign);
    add("utm_term", source.utm.term);
    add("utm_content", source.utm.content);
    PageContext::Added
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    fn page_view(properties: &[(&str, &str)]) -> Event {
        Event {
            event: "page_view".to_owned(),
            user_id: "u1".to_owned(),
            ts: 1_700_000_000_000,
            properties: properties
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_page_view_gets_its_site_device_and_source() {
        let mut event = page_view(&[
            (
                "url",
                "https://www.example.com/pricing?utm_source=hn&utm_campaign=launch",
            ),
            ("referrer", "https://news.ycombinator.com/item?id=1"),
            ("path", "/pricing"),
        ]);
        assert_eq!(
            add_page_context(&mut event, &agent(CHROME)),
            PageContext::Added
        );
        let get = |name: &str| event.properties.get(name).map(String::as_str);
        assert_eq!(get("site"), Some("example.com"));
        assert_eq!(get("browser"), Some("Chrome"));
        assert_eq!(get("os"), Some("Windows"));
        assert_eq!(get("device"), Some("desktop"));
        assert_eq!(get("channel"), Some("social"));
        assert_eq!(get("referrer_host"), Some("news.ycombinator.com"));
        assert_eq!(get("utm_source"), Some("hn"));
        assert_eq!(get("utm_campaign"), Some("launch"));
        assert_eq!(get("utm_medium"), None);
    }

    #[test]
    fn what_the_sender_set_is_kept_and_the_site_names_its_own_domain() {
        let mut event = page_view(&[
            ("url", "https://app.example.com/"),
            ("referrer", "https://blog.example.com/post"),
            ("site", "example.com"),
            ("channel", "partner"),
        ]);
        add_page_context(&mut event, &agent(CHROME));
        assert_eq!(event.properties["channel"], "partner");
        assert_eq!(event.properties["site"], "example.com");
        assert!(!event.properties.contains_key("referrer_host"));
    }

    #[test]
    fn bots_are_told_apart_and_events_without_a_page_are_left_alone() {
        let mut event = page_view(&[("url", "https://example.com/")]);
        assert_eq!(
            add_page_context(
                &mut event,
                &agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
            ),
            PageContext::Bot {
                site: "example.com".to_owned()
            }
        );
        let mut event = page_view(&[("plan", "pro")]);
        let before = event.clone();
        assert_eq!(
            add_page_context(&mut event, &agent("curl/8.11.0")),
            PageContext::None
        );
        assert_eq!(event, before);
    }
}
