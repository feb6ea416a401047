//! The corpus of real user agents in `user_agents.txt`, each against what it must give.

use super::*;

const CORPUS: &str = include_str!("user_agents.txt");

fn expected(line: &str) -> Agent {
    if line == "bot" {
        return Agent::Bot;
    }
    let parts: Vec<&str> = line.split(" | ").collect();
    let [kind, browser, os] = parts[..] else {
        panic!("corpus line {line:?}: expected `kind | browser | os`");
    };
    let kind = match kind {
        "desktop" => DeviceKind::Desktop,
        "mobile" => DeviceKind::Mobile,
        "tablet" => DeviceKind::Tablet,
        "other" => DeviceKind::Other,
        other => panic!("corpus: unknown device kind {other:?}"),
    };
    Agent::Person(Device {
        browser: browser.to_owned(),
        os: os.to_owned(),
        kind,
    })
}

#[test]
fn the_corpus_of_real_agents_is_classified_as_expected() {
    let mut wrong = Vec::new();
    let mut count = 0;
    for line in CORPUS.lines().filter(|line| !line.starts_with('#')) {
        let (want, user_agent) = line.split_once('\t').expect("a tab after the expectation");
        count += 1;
        let got = agent(user_agent);
        if got != expected(want) {
            wrong.push(format!("{user_agent}\n  want {want}\n  got  {got:?}"));
        }
    }
    assert!(count >= 50, "the corpus holds {count} agents");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_empty_or_blank_agent_is_a_bot() {
    assert_eq!(agent(""), Agent::Bot);
    assert_eq!(agent("   "), Agent::Bot);
}
