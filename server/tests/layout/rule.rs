//! The dependency rule, between top-level modules: read from lib.rs, checked against the
//! crate's edges.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::Crate;
use crate::paths::Site;

impl Crate {
    pub fn rule_problems(&self, crate_name: &str, lib_source: &str) -> Vec<String> {
        let rule = match Rule::read(lib_source) {
            Ok(rule) => rule,
            Err(problem) => return vec![format!("{crate_name}: {problem}")],
        };
        let mut problems = Vec::new();
        let top: BTreeSet<&String> = self
            .modules
            .keys()
            .filter(|m| m.len() == 1)
            .map(|m| &m[0])
            .collect();
        for module in &top {
            let lines: Vec<String> = rule
                .layers
                .iter()
                .filter(|layer| layer.names.contains(module))
                .map(|layer| format!("lib.rs:{}", layer.line))
                .collect();
            match lines.len() {
                1 => {}
                0 => problems.push(format!(
                    "{crate_name}: the dependency rule does not list the top-level module `{module}` ({})",
                    self.modules[&vec![(*module).clone()]]
                )),
                n => problems.push(format!(
                    "{crate_name}: the dependency rule lists `{module}` {n} times ({})",
                    lines.join(", ")
                )),
            }
        }
        for layer in &rule.layers {
            for listed in &layer.names {
                if !top.contains(listed) {
                    problems.push(format!(
                        "{crate_name}: the dependency rule lists `{listed}` (lib.rs:{}), which is not a top-level module",
                        layer.line
                    ));
                }
            }
        }
        let mut broken: BTreeMap<(&str, String), Vec<&Site>> = BTreeMap::new();
        for (from, targets) in &self.edges {
            let Some(user) = from.first() else { continue };
            for (to, sites) in targets {
                let used = match to.first() {
                    Some(used) if used == user => continue,
                    Some(used) => used.clone(),
                    None => String::new(), // the crate root
                };
                let (Some(user_layer), used_layer) = (rule.layer_of(user), rule.layer_of(&used))
                else {
                    continue; // not in the rule: reported above
                };
                if used_layer.is_none() && !used.is_empty() {
                    continue;
                }
                if used_layer.is_none_or(|used_layer| used_layer.line <= user_layer.line) {
                    broken
                        .entry((user.as_str(), used))
                        .or_default()
                        .extend(sites);
                }
            }
        }
        for ((user, used), sites) in broken {
            let user_layer = rule.layer_of(user).expect("checked above");
            let mut message = match rule.layer_of(&used) {
                None => format!(
                    "{crate_name}: `{user}` uses the crate root (lib.rs), which is above every layer"
                ),
                Some(layer) if layer.line == user_layer.line => format!(
                    "{crate_name}: `{user}` uses `{used}`, a peer on its own layer; broken rule line lib.rs:{}: `{}`",
                    layer.line, layer.text
                ),
                Some(layer) => format!(
                    "{crate_name}: `{user}` (lib.rs:{}: `{}`) uses `{used}`, which the rule puts above it; broken rule line lib.rs:{}: `{}`",
                    user_layer.line, user_layer.text, layer.line, layer.text
                ),
            };
            for site in sites.iter().take(5) {
                message += &format!("\n    at {site}");
            }
            if sites.len() > 5 {
                message += &format!("\n    and {} more places", sites.len() - 5);
            }
            problems.push(message);
        }
        problems
    }
}

struct Layer {
    /// The line in lib.rs.
    line: usize,
    text: String,
    names: Vec<String>,
}

struct Rule {
    layers: Vec<Layer>,
}

impl Rule {
    /// Reads the ```text block under `# Dependency rule` in lib.rs's `//!` docs.
    fn read(lib_source: &str) -> Result<Rule, String> {
        let docs: Vec<(usize, &str)> = lib_source
            .lines()
            .enumerate()
            .filter_map(|(k, line)| Some((k + 1, line.trim().strip_prefix("//!")?.trim())))
            .collect();
        let absent = "lib.rs has no dependency rule: a `//! # Dependency rule` section with a ```text block (lines are layers, top to bottom; `|` separates peers)";
        let heading = docs
            .iter()
            .position(|(_, text)| *text == "# Dependency rule")
            .ok_or(absent)?;
        let after = &docs[heading + 1..];
        let open = after
            .iter()
            .take_while(|(_, text)| !text.starts_with("# "))
            .position(|(_, text)| *text == "```text")
            .ok_or(absent)?;
        let mut layers = Vec::new();
        for &(line, text) in &after[open + 1..] {
            if text.starts_with("```") {
                return if layers.is_empty() {
                    Err("lib.rs: the dependency rule's ```text block is empty".to_owned())
                } else {
                    Ok(Rule { layers })
                };
            }
            if !text.is_empty() {
                let names = text.split('|').map(|n| n.trim().to_owned()).collect();
                layers.push(Layer {
                    line,
                    text: text.to_owned(),
                    names,
                });
            }
        }
        Err("lib.rs: the dependency rule's ```text block is not closed".to_owned())
    }

    fn layer_of(&self, module: &str) -> Option<&Layer> {
        self.layers
            .iter()
            .find(|l| l.names.iter().any(|n| n == module))
    }
}
