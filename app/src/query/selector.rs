//! Selectors: which series a query reads (a metric name and label conditions, or `__name__`
//! matchers as Prometheus users write them), read from text and written back as text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The label that names the metric, as in PromQL: `{__name__="cpu"}` is the selector `cpu`,
/// and `{__name__=~"http_.*"}` reads every metric whose name starts with `http_`.
pub const NAME_LABEL: &str = "__name__";

/// What a selector without a metric name is missing.
const MISSING_NAME: &str = "expected a metric name, or a __name__ matcher in braces such as \
                            {__name__=~\"http_.*\"}";

/// How a label is compared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`: equal.
    #[serde(rename = "=")]
    Equal,
    /// `!=`: not equal (a missing label counts as empty).
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~`: the whole value matches the regular expression.
    #[serde(rename = "=~")]
    Regex,
    /// `!~`: the whole value does not match the regular expression.
    #[serde(rename = "!~")]
    NotRegex,
}

/// One label condition of a selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regular expression.
    pub value: String,
}

/// Which series a query reads: a metric name and label conditions.
///
/// The name may instead be given by conditions on [`NAME_LABEL`] (`__name__`), as Prometheus
/// users write it: then `name` is empty, and the `__name__` matchers choose among the catalog's
/// metric names. Both may be given (`http{__name__!~".*_bucket"}`): every condition holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Metric name; empty when `__name__` matchers give it.
    pub name: String,
    /// Label conditions, all of which must hold; `__name__` ones are about the metric name.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
}

/// Why a selector's text could not be read.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("selector {text:?}, at byte {position}: {problem}")]
pub struct SelectorError {
    /// The text.
    pub text: String,
    /// Where reading stopped.
    pub position: usize,
    /// What was expected.
    pub problem: String,
}

impl Selector {
    /// Parses PromQL-style text: `http_requests{route="/api",method!="GET",host=~"web-.*"}`.
    /// The name may be given as a `__name__` matcher instead, or besides:
    /// `{__name__=~"http_.*", route="/api"}`. An exact `__name__="x"` is read as the name `x`
    /// (so `{__name__="x"}` and `x` are the same selector).
    ///
    /// # Errors
    /// The text is not a selector, or names no metric; the error says where and why.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let fail = |position: usize, problem: &str| SelectorError {
            text: text.to_owned(),
            position,
            problem: problem.to_owned(),
        };
        let trimmed = text.trim();
        let name_end = trimmed.find(['{', ' ']).unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        if trimmed.is_empty() {
            return Err(fail(0, MISSING_NAME));
        }
        let mut matchers = Vec::new();
        let rest = trimmed[name_end..].trim_start();
        if rest.is_empty() {
            return Ok(Self {
                name: name.to_owned(),
                matchers,
            });
        }
        let body = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| fail(name_end, "expected {label=\"value\", …}"))?;
        let mut chars = body.char_indices().peekable();
        let offset = trimmed.len() - rest.len() + 1;
        loop {
            while chars
                .next_if(|(_, c)| c.is_whitespace() || *c == ',')
                .is_some()
            {}
            let Some(&(start, _)) = chars.peek() else {
                break;
            };
            let mut label = String::new();
            while let Some((_, c)) = chars.next_if(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
            {
                label.push(c);
            }
            if label.is_empty() {
                return Err(fail(offset + start, "expected a label name"));
            }
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            let op = match (chars.next().map(|(_, c)| c), chars.peek().map(|(_, c)| *c)) {
                (Some('='), Some('~')) => {
                    chars.next();
                    MatchOp::Regex
                }
                (Some('='), _) => MatchOp::Equal,
                (Some('!'), Some('=')) => {
                    chars.next();
                    MatchOp::NotEqual
                }
                (Some('!'), Some('~')) => {
                    chars.next();
                    MatchOp::NotRegex
                }
                _ => {
                    return Err(fail(
                        offset + start,
                        "expected =, !=, =~ or !~ after the label",
                    ));
                }
            };
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            let Some((quote_at, '"')) = chars.next() else {
                return Err(fail(offset + start, "expected a quoted value"));
            };
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    // `\\`, `\"` and `\n` are escapes; any other backslash is kept, so a regex
                    // such as `web-\d+` needs no doubling.
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, escaped @ ('\\' | '"'))) => value.push(escaped),
                        Some((_, other)) => {
                            value.push('\\');
                            value.push(other);
                        }
                        None => break,
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(fail(offset + quote_at, "unterminated quoted value"));
            }
            if label == NAME_LABEL && op == MatchOp::Equal && value.is_empty() {
                return Err(fail(
                    offset + start,
                    "__name__=\"\" names no metric: a metric name cannot be empty",
                ));
            }
            matchers.push(Matcher { label, op, value });
        }
        // An exact `__name__` is the name itself: the first one when no name was written, and
        // any that repeats the name is dropped. So equal selectors compare equal, and
        // `to_string` reads back as the same selector.
        let mut name = name.to_owned();
        if name.is_empty()
            && let Some(exact) = matchers.iter().find(|m| m.is_exact_name())
        {
            name = exact.value.clone();
        }
        if name.is_empty() {
            if !matchers.iter().any(|m| m.label == NAME_LABEL) {
                return Err(fail(0, MISSING_NAME));
            }
        } else {
            matchers.retain(|m| !(m.is_exact_name() && m.value == name));
        }
        Ok(Self { name, matchers })
    }

    /// The conditions on the metric name (`__name__` matchers), besides the name itself.
    pub fn name_matchers(&self) -> impl Iterator<Item = &Matcher> {
        self.matchers.iter().filter(|m| m.label == NAME_LABEL)
    }

    /// The one metric the selector can read, when it names one: its name, or an exact
    /// `__name__` matcher's value. `None` when `__name__` patterns choose among the metrics.
    #[must_use]
    pub fn fixed_name(&self) -> Option<&str> {
        if self.name.is_empty() {
            self.name_matchers()
                .find(|m| m.is_exact_name())
                .map(|m| m.value.as_str())
        } else {
            Some(self.name.as_str())
        }
    }

    /// Checks that the selector says which metrics it reads: a name, or a `__name__`
    /// matcher. [`Selector::parse`] ensures it; a selector that arrived as JSON is checked here.
    ///
    /// # Errors
    /// Neither is given; the error says what is missing.
    pub fn check(&self) -> Result<(), SelectorError> {
        if self.name.is_empty() && self.name_matchers().next().is_none() {
            return Err(SelectorError {
                text: self.to_string(),
                position: 0,
                problem: MISSING_NAME.to_owned(),
            });
        }
        Ok(())
    }
}

impl Matcher {
    /// Whether this is `__name__="…"` with a name: the metric name, written as a matcher.
    fn is_exact_name(&self) -> bool {
        self.label == NAME_LABEL && self.op == MatchOp::Equal && !self.value.is_empty()
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        })
    }
}

/// `label="value"`, escaped so that [`Selector::parse`] reads back the same value.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.label, self.op)?;
        for c in self.value.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// The selector as text that [`Selector::parse`] reads back as the same selector:
/// `name{label="value", …}`, or `{__name__=~"…", …}` without a name.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.matchers.is_empty() && !self.name.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, matcher) in self.matchers.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{matcher}")?;
        }
        f.write_str("}")
    }
}
