//! What a visit was made on: browser, operating system and kind of device from the user agent,
//! and whether the agent is a bot.
//!
//! Parsing is the `woothee` crate's (Project Woothee's shared dataset and test set, no regexes
//! at run time: about a microsecond per agent, which matters at 100 000 events/s); bots are
//! what woothee calls crawlers plus what the `isbot` crate's maintained pattern list
//! recognises (headless browsers, HTTP libraries, monitoring and SEO tools). An agent that
//! says nothing is taken for a bot: every browser sends one.

use std::sync::LazyLock;

use app::web::DeviceKind;

static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);
static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// Who sent an event, as its user agent tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agent {
    /// A crawler, script or monitor: counted apart, never as a visitor.
    Bot,
    Person(Device),
}

/// A person's browser, operating system and device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The browser's family (`Chrome`, `Safari`, `Firefox`), or `Unknown`.
    pub browser: String,
    /// The operating system's family (`Windows`, `macOS`, `iOS`, `Android`), or `Unknown`.
    pub os: String,
    pub kind: DeviceKind,
}

const UNKNOWN: &str = "Unknown";

/// Classifies `user_agent`.
#[must_use]
pub fn agent(user_agent: &str) -> Agent {
    let user_agent = user_agent.trim();
    if user_agent.is_empty() || BOTS.is_bot(user_agent) {
        return Agent::Bot;
    }
    let Some(parsed) = PARSER.parse(user_agent) else {
        return Agent::Person(Device {
            browser: UNKNOWN.to_owned(),
            os: UNKNOWN.to_owned(),
            kind: DeviceKind::Other,
        });
    };
    if parsed.category == "crawler" {
        return Agent::Bot;
    }
    let os = os_family(parsed.os);
    let kind = match parsed.category {
        "pc" => DeviceKind::Desktop,
        _ if os == "iPadOS" => DeviceKind::Tablet,
        // Android tablets' browsers leave "Mobile" out, as Google documents for sites; so do
        // televisions, which say "TV".
        "smartphone" if os == "Android" && !user_agent.contains("Mobile") => {
            if user_agent.contains("TV") {
                DeviceKind::Other
            } else {
                DeviceKind::Tablet
            }
        }
        "smartphone" | "mobilephone" => DeviceKind::Mobile,
        _ => DeviceKind::Other,
    };
    Agent::Person(Device {
        browser: known(parsed.name),
        os: os.to_owned(),
        kind,
    })
}

/// The browser's name as people know it.
fn known(name: &str) -> String {
    match name {
        "" | "UNKNOWN" => UNKNOWN,
        "SamsungBrowser" => "Samsung Internet",
        other => other,
    }
    .to_owned()
}

/// The family of woothee's operating system name (which carries the version for Windows).
fn os_family(os: &str) -> &str {
    match os {
        _ if os.starts_with("Windows") => "Windows",
        "Mac OSX" | "Mac OS Classic" => "macOS",
        "iPhone" | "iPod" | "iOS" => "iOS",
        "iPad" => "iPadOS",
        "" | "UNKNOWN" => UNKNOWN,
        other => other,
    }
}

#[cfg(test)]
mod tests;
