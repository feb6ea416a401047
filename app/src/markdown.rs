//! The markdown most notes use (headings, paragraphs, bullet lists, fenced code, bold, italic,
//! inline code) read into blocks of plain text: nothing in a note ever becomes HTML.

/// A block of a markdown note.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading { level: u8, text: Vec<Inline> },
    Paragraph(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Code(String),
}

/// A run of text within a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Emphasis(String),
    Code(String),
}

/// Reads the markdown most notes use (headings, paragraphs, bullet lists, fenced code, bold,
/// italic, inline code) into blocks of plain text: nothing in a note ever becomes HTML.
#[must_use]
pub fn markdown(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Vec<Vec<Inline>> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |paragraph: &mut Vec<&str>, list: &mut Vec<Vec<Inline>>, blocks: &mut Vec<_>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(inlines(&paragraph.join(" "))));
            paragraph.clear();
        }
        if !list.is_empty() {
            blocks.push(Block::List(std::mem::take(list)));
        }
    };
    for line in text.lines() {
        if let Some(lines) = code.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(Block::Code(lines.join("\n")));
                code = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            flush(&mut paragraph, &mut list, &mut blocks);
            code = Some(Vec::new());
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut list, &mut blocks);
        } else if let Some((level, heading)) = heading(trimmed) {
            flush(&mut paragraph, &mut list, &mut blocks);
            blocks.push(Block::Heading {
                level,
                text: inlines(heading),
            });
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            if !paragraph.is_empty() {
                blocks.push(Block::Paragraph(inlines(&paragraph.join(" "))));
                paragraph.clear();
            }
            list.push(inlines(item));
        } else {
            if !list.is_empty() {
                blocks.push(Block::List(std::mem::take(&mut list)));
            }
            paragraph.push(trimmed);
        }
    }
    if let Some(lines) = code {
        blocks.push(Block::Code(lines.join("\n")));
    }
    flush(&mut paragraph, &mut list, &mut blocks);
    blocks
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let level = line.bytes().take_while(|byte| *byte == b'#').count();
    let rest = line[level..].strip_prefix(' ')?;
    (1..=3).contains(&level).then(|| (level as u8, rest.trim()))
}

/// Splits `text` at `**bold**`, `*italic*` / `_italic_` and `` `code` `` marks; a mark without
/// its closing twin stays text.
fn inlines(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let marked = [
            ("**", Inline::Strong as fn(String) -> Inline),
            ("`", Inline::Code),
            ("*", Inline::Emphasis),
            ("_", Inline::Emphasis),
        ]
        .into_iter()
        .find_map(|(mark, make)| {
            let inner = rest.strip_prefix(mark)?;
            let end = inner.find(mark).filter(|end| *end > 0)?;
            let content = &inner[..end];
            // `a * b * c` is arithmetic, not emphasis.
            if content.starts_with(char::is_whitespace) || content.ends_with(char::is_whitespace) {
                return None;
            }
            Some((make(content.to_owned()), mark.len() * 2 + end))
        });
        match marked {
            Some((inline, used)) => {
                if !plain.is_empty() {
                    out.push(Inline::Text(std::mem::take(&mut plain)));
                }
                out.push(inline);
                rest = &rest[used..];
            }
            None => {
                plain.push(first);
                rest = &rest[first.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        out.push(Inline::Text(plain));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markdown becomes blocks of text; HTML in a note stays text.
    #[test]
    fn markdown_is_text() {
        let blocks = markdown(
            "# On call\n\nRestart **only** the `api` if *p99* > 1s\n\n- one\n- <b>two</b>\n\n```\nx < y\n```",
        );
        assert_eq!(
            blocks,
            vec![
                Block::Heading {
                    level: 1,
                    text: vec![Inline::Text("On call".into())]
                },
                Block::Paragraph(vec![
                    Inline::Text("Restart ".into()),
                    Inline::Strong("only".into()),
                    Inline::Text(" the ".into()),
                    Inline::Code("api".into()),
                    Inline::Text(" if ".into()),
                    Inline::Emphasis("p99".into()),
                    Inline::Text(" > 1s".into()),
                ]),
                Block::List(vec![
                    vec![Inline::Text("one".into())],
                    vec![Inline::Text("<b>two</b>".into())]
                ]),
                Block::Code("x < y".into()),
            ]
        );
        assert_eq!(
            markdown("a * b and 2*3"),
            vec![Block::Paragraph(vec![Inline::Text("a * b and 2*3".into())])]
        );
    }
}
