//! Summary and description templates: text with `{{ $value }}`, `{{ $labels.host }}`,
//! `{{ $severity }}` and `{{ $state }}` in it, as in Prometheus's alerting rules, checked when a
//! rule is saved so that a template that cannot render is refused then, not at 3 a.m.

use std::collections::BTreeMap;

/// What a template is rendered with.
pub struct Context<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub value: Option<f64>,
    pub severity: &'a str,
    pub state: &'a str,
}

enum Piece<'a> {
    Text(&'a str),
    Value,
    Label(&'a str),
    Severity,
    State,
}

fn parse(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let inner_start = open + 2;
        let close = rest[inner_start..].find("}}").ok_or_else(|| {
            format!(
                "`{{{{` at byte {} is never closed with `}}}}`",
                offset + open
            )
        })?;
        let name = rest[inner_start..inner_start + close].trim();
        pieces.push(match name {
            "$value" => Piece::Value,
            "$severity" => Piece::Severity,
            "$state" => Piece::State,
            _ => match name.strip_prefix("$labels.") {
                Some(label)
                    if !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    Piece::Label(label)
                }
                _ => {
                    return Err(format!(
                        "unknown placeholder `{{{{ {name} }}}}`: use $value, $labels.<name>, \
                         $severity or $state"
                    ));
                }
            },
        });
        let consumed = inner_start + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks that `text` renders.
///
/// # Errors
/// An unclosed `{{`, or a placeholder other than `$value`, `$labels.<name>`, `$severity`,
/// `$state`.
pub fn check(text: &str) -> Result<(), String> {
    parse(text).map(|_| ())
}

/// Renders `text`; a label the instance lacks renders empty, as in Prometheus.
#[must_use]
pub fn render(text: &str, context: &Context<'_>) -> String {
    let Ok(pieces) = parse(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Value => match context.value {
                Some(value) => out.push_str(&crate::format::number(value)),
                None => out.push_str("no value"),
            },
            Piece::Label(name) => {
                if let Some(value) = context.labels.get(name) {
                    out.push_str(value);
                }
            }
            Piece::Severity => out.push_str(context.severity),
            Piece::State => out.push_str(context.state),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labels_value_and_severity() {
        let labels = BTreeMap::from([("host".to_owned(), "web-1".to_owned())]);
        let context = Context {
            labels: &labels,
            value: Some(97.31),
            severity: "critical",
            state: "firing",
        };
        assert_eq!(
            render(
                "CPU on {{ $labels.host }} is {{$value}}% ({{ $severity }}, {{ $state }}){{ $labels.zone }}",
                &context
            ),
            "CPU on web-1 is 97.3% (critical, firing)"
        );
        assert_eq!(render("plain", &context), "plain");
    }

    #[test]
    fn refuses_what_cannot_render() {
        assert!(check("{{ $value").unwrap_err().contains("never closed"));
        assert!(
            check("{{ .Value }}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(check("{{ $labels. }}").is_err());
        assert!(check("ok {{ $labels.host }}").is_ok());
    }
}
