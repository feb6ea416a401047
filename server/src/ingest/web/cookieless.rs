//! Visitors counted without cookies or stored ids: a page event sent without a `user_id` (the
//! snippet with `data-cookieless`) gets one made from a salt that changes every UTC day, the
//! site, the client's address and its user agent, hashed together. The address and the agent
//! are never stored; once a day's salt is deleted, nobody (livedash included) can tell which
//! visitor an id was, and the same person gets another id the next day.

use std::net::IpAddr;

/// The stand-in `user_id` of a parsed event that came without one: replaced at ingest by the
/// visitor's id of the day. A sender can put no event in this state on purpose: it starts with
/// a character JSON senders do not use in ids.
pub const ANONYMOUS: &str = "\u{0}anonymous";

/// The prefix of cookieless visitor ids, so that they are told apart from senders' ids.
pub const ID_PREFIX: &str = "anon-";

/// The id of the day of a visitor on `site` from `ip` with `user_agent`.
#[must_use]
pub fn visitor_id(salt: &[u8; 32], site: &str, ip: IpAddr, user_agent: &str) -> String {
    let mut hasher = blake3::Hasher::new_keyed(salt);
    for part in [site, &ip.to_canonical().to_string(), user_agent] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize().to_hex();
    format!("{ID_PREFIX}{}", &hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_same_visitor_on_the_same_day_keeps_one_id() {
        let salt = [7; 32];
        let id = visitor_id(&salt, "a.test", ip("203.0.113.5"), AGENT);
        assert_eq!(id, visitor_id(&salt, "a.test", ip("203.0.113.5"), AGENT));
        // An IPv4 address seen as IPv6 is the same client.
        assert_eq!(
            id,
            visitor_id(&salt, "a.test", ip("::ffff:203.0.113.5"), AGENT)
        );
        assert!(id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 16);
        assert!(!id.contains("203.0.113.5") && !id.contains("Firefox"));
    }

    #[test]
    fn another_day_site_address_or_agent_is_another_visitor() {
        let salt = [7; 32];
        let id = visitor_id(&salt, "a.test", ip("203.0.113.5"), AGENT);
        assert_ne!(id, visitor_id(&[8; 32], "a.test", ip("203.0.113.5"), AGENT));
        assert_ne!(id, visitor_id(&salt, "b.test", ip("203.0.113.5"), AGENT));
        assert_ne!(id, visitor_id(&salt, "a.test", ip("203.0.113.6"), AGENT));
        assert_ne!(id, visitor_id(&salt, "a.test", ip("203.0.113.5"), "curl"));
    }
}
