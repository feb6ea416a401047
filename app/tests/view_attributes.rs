//! A guard over the UI's `view!` markup: an attribute whose value is an unbraced closure ends
//! at the first `<` or `>` the macro meets, so `disabled=move || n >= MAX` renders Rust source
//! as text and leaves the attribute stuck. Such expressions must be braced:
//! `disabled={move || n >= MAX}`.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `folder`, in its folders too.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).expect("app/src/ui is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Where an unbraced `attr=move ||` expression holds a comparison outside parentheses.
fn unbraced_comparisons(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("=move ||") {
            let expression = &rest[at + "=move ||".len()..];
            let mut depth = 0i32;
            let bytes = expression.as_bytes();
            for (index, &byte) in bytes.iter().enumerate() {
                match byte {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth -= 1,
                    b'<' | b'>' if depth == 0 => {
                        let next = bytes.get(index + 1).copied();
                        let before = index.checked_sub(1).map(|i| bytes[i]);
                        let spaced = before == Some(b' ') && next == Some(b' ');
                        let arrow = matches!(before, Some(b'=' | b'-'));
                        if !arrow && (next == Some(b'=') || spaced) {
                            found.push((number + 1, line.trim().to_string()));
                        }
                    }
                    _ => {}
                }
                if depth < 0 {
                    break;
                }
            }
            rest = expression;
        }
    }
    found
}

#[test]
fn the_scan_finds_what_it_is_for() {
    let broken =
        r#"<button disabled=move || steps.with(Vec::len) >= MAX on:click=f>"Add"</button>"#;
    assert_eq!(unbraced_comparisons(broken).len(), 1);
    assert_eq!(
        unbraced_comparisons("<b hidden=move || a < b>x</b>").len(),
        1
    );
    let fine = r#"<button disabled={move || n >= MAX} class=move || f(a >= b) on:click=move |_| x.set(1)>"Add"</button>"#;
    assert!(unbraced_comparisons(fine).is_empty());
    assert!(unbraced_comparisons("<i data-x=move || value.get()>y</i>").is_empty());
}

#[test]
fn no_unbraced_comparison_in_view_attributes() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let files = rust_files(&ui);
    assert!(
        files.len() > 20,
        "app/src/ui and its folders hold the UI's files"
    );
    let mut found = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).expect("a source file");
        for (line, text) in unbraced_comparisons(&source) {
            found.push(format!("{}:{line}: {text}", path.display()));
        }
    }
    assert!(
        found.is_empty(),
        "brace these attribute expressions (`attr={{move || …}}`):\n{}",
        found.join("\n")
    );
}
