//! The checker itself, on small sources.

use crate::graph::{Crate, name};

fn small_crate(files: &[(&str, &str)]) -> Crate {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
        .collect();
    Crate::new(&files)
}

/// Every edge as `from -> to @line`, sorted.
fn edges(krate: &Crate) -> Vec<String> {
    let mut all = Vec::new();
    for (from, targets) in &krate.edges {
        for (to, sites) in targets {
            for site in sites {
                all.push(format!("{} -> {} @{}", name(from), name(to), site.line));
            }
        }
    }
    all.sort();
    all
}

#[test]
fn finds_a_cycle_through_super_and_a_bare_child_path() {
    let krate = small_crate(&[
        ("lib.rs", "mod a;\n"),
        (
            "a/mod.rs",
            "mod b;\npub fn f() {}\nfn g() {\n    b::h();\n}\n",
        ),
        ("a/b.rs", "pub fn h() {\n    super::f();\n}\n"),
    ]);
    assert_eq!(edges(&krate), ["a -> a::b @4", "a::b -> a @2"]);
    let problems = krate.cycle_problems("demo");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert!(problem.contains("among 2 modules: a, a::b"), "{problem}");
    assert!(
        problem.contains("a -> a::b  at a/mod.rs:4: b::h();"),
        "{problem}"
    );
    assert!(
        problem.contains("a::b -> a  at a/b.rs:2: super::f();"),
        "{problem}"
    );
}

#[test]
fn a_face_resolves_to_the_file_that_defines_the_item() {
    let krate = small_crate(&[
        ("lib.rs", "mod storage;\nmod http;\n"),
        (
            "storage/mod.rs",
            "mod store;\nmod query;\npub use store::Store;\n",
        ),
        ("storage/store.rs", "pub struct Store;\n"),
        ("storage/query.rs", "use super::Store;\n"),
        (
            "http.rs",
            "use crate::storage::Store;\nfn f() { crate::storage::Store::new(); }\n",
        ),
    ]);
    assert_eq!(
        edges(&krate),
        [
            "http -> storage::store @1",
            "http -> storage::store @2",
            "storage::query -> storage::store @1"
        ]
    );
    assert!(krate.cycle_problems("demo").is_empty());
}

#[test]
fn reads_use_groups_and_module_imports() {
    let krate = small_crate(&[
        ("lib.rs", "mod a;\nmod b;\nmod m;\n"),
        ("a.rs", ""),
        ("b/mod.rs", "mod c;\n"),
        ("b/c.rs", ""),
        (
            "m.rs",
            "use crate::{\n    a::X,\n    b::{c::Y, Z},\n};\nuse crate::b::{self as bee};\nfn f() { bee::c::g(); std::mem::drop(1); }\n",
        ),
    ]);
    assert_eq!(
        edges(&krate),
        [
            "m -> a @2",
            "m -> b @3",
            "m -> b @5",
            "m -> b::c @3",
            "m -> b::c @6"
        ]
    );
}

#[test]
fn ignores_comments_strings_and_test_modules() {
    let source = r####"
// crate::a::f();
/* crate::a::f(); /* nested */ crate::a::f(); */
/// crate::a::f();
fn f() -> &'static str {
    let _ = ('"', '\'', b'"', '\u{22}', "crate::a::f()", r#"crate::a::f() "still" "#);
    "crate::\"a\"::f()"
}
#[cfg(test)]
mod tests {
    use crate::a::f;
}
"####;
    let krate = small_crate(&[
        ("lib.rs", "mod a;\nmod m;\n"),
        ("a.rs", "pub fn f() {}\n"),
        ("m.rs", source),
    ]);
    assert_eq!(edges(&krate), Vec::<String>::new());
    // The same file's code after the literals is still read.
    let krate = small_crate(&[
        ("lib.rs", "mod a;\nmod m;\n"),
        ("a.rs", "pub fn f() {}\n"),
        ("m.rs", &format!("{source}fn g() {{ crate::a::f(); }}\n")),
    ]);
    assert_eq!(edges(&krate), ["m -> a @13"]);
}

#[test]
fn leaves_out_test_modules_in_files_of_their_own() {
    let krate = small_crate(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a/mod.rs", "pub fn f() {}\n#[cfg(test)]\nmod tests;\n"),
        ("a/tests.rs", "use super::f;\nuse crate::b::g;\n"),
        ("b.rs", "pub fn g() {}\n"),
    ]);
    assert_eq!(edges(&krate), Vec::<String>::new());
    assert!(
        !krate
            .modules
            .contains_key(&vec!["a".to_owned(), "tests".to_owned()])
    );
}

#[test]
fn inline_modules_resolve_super_from_where_they_are() {
    let krate = small_crate(&[
        ("lib.rs", "mod ui;\n"),
        (
            "ui/mod.rs",
            "mod page;\npub use page::Page;\npub struct Shell;\n",
        ),
        (
            "ui/page.rs",
            "pub struct Page;\nmod live {\n    use super::Page;\n    use super::super::Shell;\n}\n",
        ),
    ]);
    assert_eq!(edges(&krate), ["ui::page -> ui @4"]);
}

const RULE_LIB: &str = "//! A crate.\n//!\n//! # Dependency rule\n//!\n//! Words.\n//!\n//! ```text\n//! http\n//! live | ingest\n//! storage\n//! ```\nmod http;\n";

#[test]
fn reports_a_broken_rule_with_its_line() {
    let krate = small_crate(&[
        ("lib.rs", RULE_LIB),
        ("http.rs", "use crate::storage::Store;\n"),
        ("live.rs", "fn f() {\n    crate::ingest::parse();\n}\n"),
        ("ingest.rs", "pub fn parse() {}\n"),
        ("storage.rs", "use crate::http::Router;\n"),
    ]);
    let problems = krate.rule_problems("demo", RULE_LIB);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("`live` uses `ingest`, a peer"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("lib.rs:9: `live | ingest`"),
        "{}",
        problems[0]
    );
    assert!(problems[0].contains("at live.rs:2: crate::ingest::parse();"));
    assert!(problems[1].contains("`storage` (lib.rs:10: `storage`) uses `http`"));
    assert!(problems[1].contains("broken rule line lib.rs:8: `http`"));
    assert!(problems[1].contains("at storage.rs:1: use crate::http::Router;"));
}

#[test]
fn reports_modules_missing_from_or_repeated_in_the_rule() {
    let lib = RULE_LIB.replace("//! storage\n", "//! storage | http | nowhere\n");
    let krate = small_crate(&[
        ("lib.rs", &lib),
        ("http.rs", ""),
        ("live.rs", ""),
        ("ingest.rs", ""),
        ("config.rs", ""),
    ]);
    let problems = krate.rule_problems("demo", &lib).join("\n");
    assert!(problems.contains("does not list the top-level module `config` (config.rs)"));
    assert!(problems.contains("lists `http` 2 times (lib.rs:8, lib.rs:10)"));
    assert!(problems.contains("lists `storage` (lib.rs:10), which is not a top-level module"));
    assert!(problems.contains("lists `nowhere` (lib.rs:10), which is not a top-level module"));
}

#[test]
fn fails_without_a_rule_block() {
    let krate = small_crate(&[("lib.rs", "//! No rule here.\nmod a;\n"), ("a.rs", "")]);
    let problems = krate.rule_problems("demo", "//! No rule here.\nmod a;\n");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("lib.rs has no dependency rule"),
        "{}",
        problems[0]
    );
}
