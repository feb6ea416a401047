//! Tokens: identifiers, `::` and single punctuation; comments and literals are dropped.

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
    /// A string, char or number literal, or a lifetime.
    Literal,
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let (mut tokens, mut i, mut line) = (Vec::new(), 0, 1);
    // Skips a quoted literal whose opening quote is at `i`; returns the index after it.
    let skip_quoted = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < chars.len() && chars[i] != '"' {
            if chars[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    // Skips a char literal whose opening quote is at `i`; returns the index after it.
    let skip_char = |i: usize| {
        let mut i = i + if at(i + 1) == '\\' { 3 } else { 2 };
        while i < chars.len() && chars[i] != '\'' {
            i += 1;
        }
        i + 1
    };
    while i < chars.len() {
        let (c, start_line) = (chars[i], line);
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let (mut depth, mut j) = (0, i);
            loop {
                if at(j) == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 2;
                } else if at(j) == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else if j >= chars.len() {
                    break;
                } else {
                    line += usize::from(chars[j] == '\n');
                    j += 1;
                }
            }
            i = j;
        } else if c == '"' {
            i = skip_quoted(i, &mut line);
            tokens.push((Tok::Literal, start_line));
        } else if c == '\'' {
            if at(i + 1) == '\\' || at(i + 2) == '\'' {
                i = skip_char(i);
            } else {
                i += 1;
                while is_ident_char(at(i)) {
                    i += 1;
                }
            }
            tokens.push((Tok::Literal, start_line));
        } else if c.is_ascii_digit() {
            while is_ident_char(at(i)) || (at(i) == '.' && at(i + 1).is_ascii_digit()) {
                i += 1;
            }
            tokens.push((Tok::Literal, start_line));
        } else if is_ident_char(c) {
            let start = i;
            while is_ident_char(at(i)) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw = matches!(word.as_str(), "r" | "br" | "cr");
            if raw && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '#' | '"'))) {
                let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
                i += hashes + 1;
                while i < chars.len()
                    && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|&c| c == '#'))
                {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += hashes + 1;
                tokens.push((Tok::Literal, start_line));
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_quoted(i, &mut line);
                tokens.push((Tok::Literal, start_line));
            } else if word == "b" && at(i) == '\'' {
                i = skip_char(i);
                tokens.push((Tok::Literal, start_line));
            } else if word == "r" && at(i) == '#' && is_ident_char(at(i + 1)) {
                let start = i + 1;
                i = start;
                while is_ident_char(at(i)) {
                    i += 1;
                }
                tokens.push((Tok::Ident(chars[start..i].iter().collect()), start_line));
            } else {
                tokens.push((Tok::Ident(word), start_line));
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push((Tok::PathSep, line));
            i += 2;
        } else {
            tokens.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// Drops every item marked `#[cfg(test)]` (with the attributes after it), and the whole file
/// if it starts with `#![cfg(test)]`; also gives the names of the modules declared so
/// (`#[cfg(test)] mod tests;`), whose files are left out too.
pub fn without_test_items(tokens: Vec<(Tok, usize)>) -> (Vec<(Tok, usize)>, Vec<String>) {
    let is = |i: usize, expected: &[&str]| {
        expected
            .iter()
            .enumerate()
            .all(|(k, e)| match tokens.get(i + k) {
                Some((Tok::Ident(word), _)) => word == e,
                Some((Tok::Punct(c), _)) => e.len() == 1 && e.starts_with(*c),
                _ => false,
            })
    };
    if is(0, &["#", "!", "[", "cfg", "(", "test", ")", "]"]) {
        return (Vec::new(), Vec::new());
    }
    let (mut kept, mut test_modules, mut i) = (Vec::new(), Vec::new(), 0);
    while i < tokens.len() {
        if !is(i, &["#", "[", "cfg", "(", "test", ")", "]"]) {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Skip to the end of the item: a `;` or a closing bracket back at depth 0.
        let mut depth = 0usize;
        i += 7;
        let item = i;
        while let Some((token, _)) = tokens.get(i) {
            i += 1;
            match token {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
                Tok::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Tok::Punct(';') if depth == 0 => {
                    if i >= item + 3
                        && is(i - 3, &["mod"])
                        && let Tok::Ident(name) = &tokens[i - 2].0
                    {
                        test_modules.push(name.clone());
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    (kept, test_modules)
}
