//! The crate: its file modules, what each imports, and the edges between them; import
//! cycles, found as strongly connected components (Tarjan).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::paths::{ModPath, Site, paths_in};
use crate::tokens::{tokenize, without_test_items};

pub fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate root".to_owned()
    } else {
        module.join("::")
    }
}

pub struct Crate {
    /// Every file module, with its file (relative to `src/`).
    pub modules: BTreeMap<ModPath, String>,
    /// What each module's top-level `use` items bind: name → (the module that wrote it, path).
    imports: BTreeMap<ModPath, BTreeMap<String, (ModPath, Vec<String>)>>,
    /// `from → to`, with every site that makes the edge.
    pub edges: BTreeMap<ModPath, BTreeMap<ModPath, Vec<Site>>>,
}

/// The module a file under `src/` is: `x.rs` and `x/mod.rs` are `x`; `lib.rs` is the root.
fn module_of(file: &str) -> ModPath {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

impl Crate {
    /// Reads the crate from `(file under src/, source)` pairs.
    pub fn new(files: &[(String, String)]) -> Self {
        let files: Vec<&(String, String)> = files
            .iter()
            .filter(|(file, _)| file != "main.rs" && !file.starts_with("bin/"))
            .collect();
        let mut tokens = BTreeMap::new();
        let mut test_only = Vec::new();
        for (file, source) in &files {
            let (kept, test_modules) = without_test_items(tokenize(source));
            for name in test_modules {
                test_only.push([module_of(file), vec![name]].concat());
            }
            tokens.insert(module_of(file), kept);
        }
        let files: Vec<_> = files
            .into_iter()
            .filter(|(file, _)| !test_only.iter().any(|t| module_of(file).starts_with(t)))
            .collect();
        let modules: BTreeMap<ModPath, String> = files
            .iter()
            .map(|(file, _)| (module_of(file), file.clone()))
            .collect();
        let mut found = Vec::new();
        for (file, source) in &files {
            let module = module_of(file);
            let folder = modules
                .keys()
                .any(|other| other.len() == module.len() + 1 && other.starts_with(&module));
            for path in paths_in(&tokens[&module], &module, folder) {
                found.push((file.as_str(), source.as_str(), module.clone(), path));
            }
        }
        let mut krate = Crate {
            modules,
            imports: BTreeMap::new(),
            edges: BTreeMap::new(),
        };
        for (_, _, module, path) in &found {
            if let (Some(binds), true) = (&path.binds, path.top_level) {
                krate
                    .imports
                    .entry(module.clone())
                    .or_default()
                    .insert(binds.clone(), (path.scope.clone(), path.segments.clone()));
            }
        }
        for (file, source, module, path) in found {
            if path.face {
                continue;
            }
            let Some(to) = krate.resolve(&path.scope, &path.segments, 0) else {
                continue;
            };
            if to == module {
                continue;
            }
            let sites = krate
                .edges
                .entry(module)
                .or_default()
                .entry(to)
                .or_default();
            if !sites.iter().any(|s| s.file == file && s.line == path.line) {
                let text = source
                    .lines()
                    .nth(path.line.saturating_sub(1))
                    .unwrap_or("");
                sites.push(Site {
                    file: file.to_owned(),
                    line: path.line,
                    text: text.trim().chars().take(100).collect(),
                });
            }
        }
        krate
    }

    /// The file module a path written in `scope` names, or `None` for another crate's item or
    /// a local name.
    fn resolve(&self, scope: &ModPath, segments: &[String], hops: usize) -> Option<ModPath> {
        if hops > 16 {
            return None; // a loop of imports (or a name imported from another crate)
        }
        let first = segments.first()?.as_str();
        let (mut absolute, rest): (ModPath, &[String]) = match first {
            "crate" => (Vec::new(), &segments[1..]),
            "self" | "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                let mut base = scope.clone();
                base.truncate(scope.len().checked_sub(supers)?);
                let skip = if first == "self" { 1 } else { supers };
                (base, &segments[skip..])
            }
            _ => {
                // A bare path: a child of the file module (in a file's inline module, Rust
                // looks in the inline module, so this is the closest we get), or an import.
                let file_module = self.file_module(scope);
                let mut child = file_module.clone();
                child.push(first.to_owned());
                if self.modules.contains_key(&child) {
                    (file_module, segments)
                } else {
                    let (from, target) = self.imports.get(&file_module)?.get(first)?;
                    let mut target = target.clone();
                    target.extend_from_slice(&segments[1..]);
                    return self.resolve(from, &target, hops + 1);
                }
            }
        };
        for (k, segment) in rest.iter().enumerate() {
            absolute.push(segment.clone());
            if self.modules.contains_key(&absolute) {
                continue;
            }
            absolute.pop();
            if let Some((from, target)) = self.imports.get(&absolute).and_then(|m| m.get(segment)) {
                let mut target = target.clone();
                target.extend_from_slice(&rest[k + 1..]);
                return self.resolve(from, &target, hops + 1);
            }
            break;
        }
        self.modules.contains_key(&absolute).then_some(absolute)
    }

    /// The longest prefix of `scope` that is a file module.
    fn file_module(&self, scope: &ModPath) -> ModPath {
        let mut module = scope.clone();
        while !module.is_empty() && !self.modules.contains_key(&module) {
            module.pop();
        }
        module
    }

    fn sites(&self, from: &ModPath, to: &ModPath) -> &[Site] {
        &self.edges[from][to]
    }

    // -----------------------------------------------------------------------------------------
    // Cycles: Tarjan's strongly connected components.

    fn components(&self) -> Vec<Vec<ModPath>> {
        struct Tarjan<'a> {
            krate: &'a Crate,
            index: BTreeMap<&'a ModPath, usize>,
            low: BTreeMap<&'a ModPath, usize>,
            stack: Vec<&'a ModPath>,
            on_stack: BTreeSet<&'a ModPath>,
            found: Vec<Vec<ModPath>>,
        }
        impl<'a> Tarjan<'a> {
            fn visit(&mut self, node: &'a ModPath) {
                let krate = self.krate;
                let next = self.index.len();
                self.index.insert(node, next);
                self.low.insert(node, next);
                self.stack.push(node);
                self.on_stack.insert(node);
                for to in krate.edges.get(node).into_iter().flat_map(|m| m.keys()) {
                    if !self.index.contains_key(to) {
                        self.visit(to);
                        let low = self.low[node].min(self.low[to]);
                        self.low.insert(node, low);
                    } else if self.on_stack.contains(to) {
                        let low = self.low[node].min(self.index[to]);
                        self.low.insert(node, low);
                    }
                }
                if self.low[node] == self.index[node] {
                    let mut component = Vec::new();
                    while let Some(member) = self.stack.pop() {
                        self.on_stack.remove(member);
                        component.push(member.clone());
                        if member == node {
                            break;
                        }
                    }
                    component.sort();
                    self.found.push(component);
                }
            }
        }
        let mut tarjan = Tarjan {
            krate: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            found: Vec::new(),
        };
        for node in self.modules.keys() {
            if !tarjan.index.contains_key(node) {
                tarjan.visit(node);
            }
        }
        let mut found: Vec<_> = tarjan.found.into_iter().filter(|c| c.len() > 1).collect();
        found.sort();
        found
    }

    /// The shortest cycle through the component's first module, staying in the component.
    fn one_cycle(&self, component: &[ModPath]) -> Vec<ModPath> {
        let start = &component[0];
        let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for to in self.edges.get(node).into_iter().flat_map(|m| m.keys()) {
                if to == start {
                    let mut cycle = vec![node.clone()];
                    let mut at = node;
                    while at != start {
                        at = came_from[at];
                        cycle.push(at.clone());
                    }
                    cycle.reverse();
                    return cycle;
                }
                if component.contains(to) && !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    queue.push_back(to);
                }
            }
        }
        unreachable!("a strongly connected component has a cycle through each member")
    }

    pub fn cycle_problems(&self, crate_name: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for component in self.components() {
            let names: Vec<String> = component.iter().map(|m| name(m)).collect();
            let mut message = format!(
                "{crate_name}: import cycle among {} modules: {}\n  one cycle:",
                component.len(),
                names.join(", ")
            );
            let cycle = self.one_cycle(&component);
            for (k, from) in cycle.iter().enumerate() {
                let to = &cycle[(k + 1) % cycle.len()];
                let sites = self.sites(from, to);
                message += &format!("\n    {} -> {}  at {}", name(from), name(to), sites[0]);
                if sites.len() > 1 {
                    message += &format!(" (and {} more)", sites.len() - 1);
                }
            }
            // Pairs that use each other directly are the first to untangle.
            for (k, a) in component.iter().enumerate() {
                for b in &component[k + 1..] {
                    let there = self.edges.get(a).and_then(|m| m.get(b));
                    let back = self.edges.get(b).and_then(|m| m.get(a));
                    if let (Some(there), Some(back)) = (there, back) {
                        message += &format!(
                            "\n  two-way: {} <-> {}  at {}  and  {}",
                            name(a),
                            name(b),
                            there[0],
                            back[0]
                        );
                    }
                }
            }
            problems.push(message);
        }
        problems
    }
}
