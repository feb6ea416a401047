//! Parsing one file: its `use` items and the other paths it names.

use crate::tokens::Tok;

/// A module's path from the crate root: `[]` is the root, `["storage", "store"]` is
/// `storage::store`.
pub type ModPath = Vec<String>;

/// Where a path is written: the file and line, and the line's text.
#[derive(Clone, Debug)]
pub struct Site {
    pub file: String,
    pub line: usize,
    pub text: String,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.text)
    }
}

/// A path found in a file, not yet resolved.
#[derive(Clone, Debug)]
pub struct RawPath {
    /// The module the path is written in: the file's module, then any inline `mod x { … }`.
    pub scope: ModPath,
    pub segments: Vec<String>,
    pub line: usize,
    /// From a `use`: the name it binds (none for `*` and `_`), and whether it is a face.
    pub binds: Option<String>,
    pub face: bool,
    /// Written at the top level of the file, outside any block (a `use` there names an item
    /// of the module).
    pub top_level: bool,
}

/// Parses a `use` tree starting at `tokens[*i]`, adding one path per leaf.
fn use_tree(tokens: &[(Tok, usize)], i: &mut usize, prefix: &[String], leaves: &mut Vec<RawPath>) {
    let mut segments = prefix.to_vec();
    let mut line = tokens.get(*i).map_or(0, |t| t.1);
    if tokens.get(*i).map(|t| &t.0) == Some(&Tok::PathSep) {
        segments.push(String::new()); // `::name`: another crate
        *i += 1;
    }
    while let Some((token, at)) = tokens.get(*i) {
        match token {
            Tok::Ident(word) => {
                segments.push(word.clone());
                line = *at;
                *i += 1;
                if tokens.get(*i).map(|t| &t.0) != Some(&Tok::PathSep) {
                    break;
                }
                *i += 1;
            }
            Tok::Punct('{') => {
                *i += 1;
                while let Some((token, _)) = tokens.get(*i) {
                    match token {
                        Tok::Punct('}') => break,
                        Tok::Punct(',') => *i += 1,
                        _ => {
                            let before = *i;
                            use_tree(tokens, i, &segments, leaves);
                            *i = (*i).max(before + 1);
                        }
                    }
                }
                *i += 1;
                return;
            }
            Tok::Punct('*') => {
                *i += 1;
                leaves.push(leaf(segments, None, line));
                return;
            }
            _ => break,
        }
    }
    let mut binds = segments.last().cloned();
    if segments.last().map(String::as_str) == Some("self") {
        segments.pop();
        binds = segments.last().cloned();
    }
    if let Some((Tok::Ident(word), _)) = tokens.get(*i)
        && word == "as"
    {
        binds = match tokens.get(*i + 1) {
            Some((Tok::Ident(alias), _)) if alias != "_" => Some(alias.clone()),
            _ => None,
        };
        *i += 2;
    }
    leaves.push(leaf(segments, binds, line));
}

fn leaf(segments: Vec<String>, binds: Option<String>, line: usize) -> RawPath {
    RawPath {
        scope: Vec::new(),
        segments,
        line,
        binds,
        face: false,
        top_level: false,
    }
}

/// The paths in one file (`module` is the file's module; `folder` says it is a folder's
/// module file, whose `pub use` items are faces).
pub fn paths_in(tokens: &[(Tok, usize)], module: &ModPath, folder: bool) -> Vec<RawPath> {
    let word = |i: usize| match tokens.get(i) {
        Some((Tok::Ident(word), _)) => word.as_str(),
        _ => "",
    };
    let tok = |i: usize| tokens.get(i).map(|t| &t.0);
    let mut paths = Vec::new();
    // Inline modules: their names, and the brace depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < tokens.len() {
        let scope = || {
            let mut scope = module.clone();
            scope.extend(inline.iter().map(|(name, _)| name.clone()));
            scope
        };
        match &tokens[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                if i >= 2 && word(i - 2) == "mod" && !word(i - 1).is_empty() {
                    inline.push((word(i - 1).to_owned(), depth));
                }
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, open)| *open == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(keyword) if keyword == "use" => {
                let public = i >= 1
                    && (word(i - 1) == "pub"
                        || (tok(i - 1) == Some(&Tok::Punct(')'))
                            && (2..8).any(|back| {
                                i > back
                                    && word(i - back - 1) == "pub"
                                    && tok(i - back) == Some(&Tok::Punct('('))
                            })));
                let mut leaves = Vec::new();
                i += 1;
                use_tree(tokens, &mut i, &[], &mut leaves);
                let top_level = depth == 0;
                for mut leaf in leaves {
                    leaf.scope = scope();
                    leaf.face = public && folder && top_level;
                    leaf.top_level = top_level;
                    paths.push(leaf);
                }
            }
            Tok::Ident(first) => {
                let continues =
                    i >= 1 && matches!(tok(i - 1), Some(Tok::PathSep | Tok::Punct('.' | '$')));
                let visibility = i >= 1 && word(i - 1) == "in";
                if continues || visibility || tok(i + 1) != Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                let mut segments = vec![first.clone()];
                let mut line = tokens[i].1;
                i += 1;
                while tok(i) == Some(&Tok::PathSep)
                    && let Some((Tok::Ident(next), at)) = tokens.get(i + 1)
                {
                    segments.push(next.clone());
                    line = *at;
                    i += 2;
                }
                paths.push(RawPath {
                    scope: scope(),
                    segments,
                    line,
                    binds: None,
                    face: false,
                    top_level: false,
                });
            }
            _ => i += 1,
        }
    }
    paths
}
