//! The layout test: reads the sources of `server/src` and `app/src` (no compiler, std only)
//! and checks that their file modules form no import cycle and that the top-level modules
//! keep the dependency rule written in each crate's `lib.rs` (`# Dependency rule`, a ```text
//! block: lines are layers, top to bottom; `|` separates peers; a module may use modules on
//! lower lines only).
//!
//! What counts as a use of module `m` from file module `f`: a path in `f` that resolves to `m`
//! (`crate::…`, `super::…`, `self::…`, a bare path starting with a child module's name or a
//! name `f` imports, `use` groups). A path resolves to the longest existing module prefix,
//! going through the names a module imports (`crate::storage::Store` where storage/mod.rs has
//! `pub use store::Store;` resolves to `storage::store`). A `pub use` in a folder's module
//! file (`mod.rs`, `lib.rs`) is the folder's face: it adds no edge. Comments, string
//! literals and `#[cfg(test)]` items (also `#[cfg(test)] mod tests;` and its file) are
//! ignored; `main.rs` is a crate of its own.
//!
//! `cargo test -p server --test layout -- --ignored --nocapture` prints both module graphs.
//!
//! The checker, by job: `tokens` (identifiers and `::`; comments, literals and test items
//! dropped), `paths` (the `use` items and other paths in one file), `graph` (the file modules,
//! the edges between them, cycles by Tarjan's algorithm), `rule` (the `# Dependency rule`
//! block and the edges that break it) and `checks` (the checker's own tests on small sources).

mod checks;
mod graph;
mod paths;
mod rule;
mod tokens;

use std::path::{Path, PathBuf};

use graph::{Crate, name};

fn manifest_dir() -> PathBuf {
    std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .or_else(|| option_env!("CARGO_MANIFEST_DIR").map(String::from))
        .map(PathBuf::from)
        .expect("CARGO_MANIFEST_DIR is not set (run through cargo, or set it to server/)")
}

// ---------------------------------------------------------------------------------------------
// The checks on the real sources.

/// Every `.rs` file under `src`, as (path relative to `src`, source).
fn read_sources(src: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, src: &Path, files: &mut Vec<(String, String)>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, src, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).expect("under src");
                let relative = relative.to_string_lossy().replace('\\', "/");
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                files.push((relative, source));
            }
        }
    }
    let mut files = Vec::new();
    walk(src, src, &mut files);
    files.sort();
    files
}

fn src_of(crate_name: &str) -> PathBuf {
    match crate_name {
        "server" => manifest_dir().join("src"),
        _ => manifest_dir().join("../app/src"),
    }
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

fn check_cycles(crate_name: &str) {
    let files = read_sources(&src_of(crate_name));
    assert_none(Crate::new(&files).cycle_problems(&format!("{crate_name}/src")));
}

fn check_rule(crate_name: &str) {
    let src = src_of(crate_name);
    let files = read_sources(&src);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert_none(Crate::new(&files).rule_problems(&format!("{crate_name}/src"), &lib));
}

#[test]
fn server_has_no_import_cycle() {
    check_cycles("server");
}

#[test]
fn server_follows_its_dependency_rule() {
    check_rule("server");
}

#[test]
fn app_has_no_import_cycle() {
    check_cycles("app");
}

#[test]
fn app_follows_its_dependency_rule() {
    check_rule("app");
}

/// `cargo test -p server --test layout -- --ignored --nocapture` prints both graphs.
#[test]
#[ignore = "prints the module graphs; run by hand"]
fn print_the_module_graphs() {
    for crate_name in ["server", "app"] {
        let krate = Crate::new(&read_sources(&src_of(crate_name)));
        println!("{crate_name}/src:");
        for (from, targets) in &krate.edges {
            for (to, sites) in targets {
                println!("  {} -> {}  at {}", name(from), name(to), sites[0]);
            }
        }
    }
}
