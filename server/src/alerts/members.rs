//! Sharing the evaluation of rules among the live processes. Every process sees every change
//! notice; without sharing, each would evaluate every rule and all but one would find the
//! transition already written. Each rule goes to one live process by rendezvous hashing (the
//! member with the highest hash of member and rule), so that a process joining or leaving
//! moves only its share. The compare-and-set of transitions keeps a moment of disagreement
//! (two processes evaluating one rule) harmless; when membership changes, every process
//! evaluates its rules afresh, so that a change seen by a process that no longer owned it is
//! not missed ([`super::heartbeat`] reads the members).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The members this process knows, and which rules it owns among them.
#[derive(Default)]
pub struct Members {
    state: Mutex<Known>,
    /// Moves whenever the members change, so that what was worked out from them can be
    /// kept without asking again ([`super::rules::Compiled::owned`]).
    epoch: AtomicU64,
}

#[derive(Default)]
struct Known {
    live: Vec<String>,
    owned: HashMap<String, bool>,
}

impl Members {
    /// Whether `me` evaluates `rule` on change notices. Until membership is known, or while
    /// `me` is not among the members read, every rule is its own (evaluating too much is safe,
    /// too little is not).
    pub fn owns(&self, me: &str, rule: &str) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.live.len() < 2 || !state.live.iter().any(|m| m == me) {
            return true;
        }
        if let Some(owned) = state.owned.get(rule) {
            return *owned;
        }
        let owner = state
            .live
            .iter()
            .max_by_key(|member| score(member, rule))
            .is_some_and(|member| member == me);
        state.owned.insert(rule.to_owned(), owner);
        owner
    }

    /// Takes the members read; whether they changed.
    pub fn update(&self, live: Vec<String>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.live == live {
            return false;
        }
        state.live = live;
        state.owned.clear();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// The members' version: moves with every change.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}

/// A member's weight for a rule: the same in every process and every build.
fn score(member: &str, rule: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(member.as_bytes())
        .chain_update([0])
        .chain_update(rule.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_has_one_owner_and_a_leaving_member_moves_only_its_share() {
        let three: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let views: Vec<Members> = three
            .iter()
            .map(|_| {
                let members = Members::default();
                members.update(three.clone());
                members
            })
            .collect();
        let rules: Vec<String> = (0..300).map(|i| format!("rule-{i}")).collect();
        let owner_of = |views: &[Members], names: &[String], rule: &str| -> Vec<String> {
            names
                .iter()
                .zip(views)
                .filter(|(name, view)| view.owns(name, rule))
                .map(|(name, _)| name.clone())
                .collect()
        };
        let mut before = Vec::new();
        for rule in &rules {
            let owners = owner_of(&views, &three, rule);
            assert_eq!(owners.len(), 1, "{rule}: {owners:?}");
            before.push(owners[0].clone());
        }
        for name in &three {
            let share = before.iter().filter(|owner| *owner == name).count();
            assert!(share > 60, "{name} owns {share} of 300");
        }
        // "c" leaves: its rules go to the others, theirs stay.
        let two: Vec<String> = three[..2].to_vec();
        for view in &views[..2] {
            assert!(view.update(two.clone()));
        }
        for (rule, owner) in rules.iter().zip(&before) {
            let owners = owner_of(&views[..2], &two, rule);
            assert_eq!(owners.len(), 1);
            if owner != "c" {
                assert_eq!(&owners[0], owner, "{rule} moved");
            }
        }
        // Alone, or not yet among the members read: every rule is its own.
        let alone = Members::default();
        assert!(alone.owns("a", "rule-1"));
        alone.update(vec!["b".into(), "c".into()]);
        assert!(alone.owns("a", "rule-1"));
    }
}
