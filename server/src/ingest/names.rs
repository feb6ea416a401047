//! Foreign metric and label names (StatsD, InfluxDB) mapped onto livedash's name grammar.

/// A foreign metric name (`api.requests`, `disk-io`) mapped onto the metric grammar: characters
/// outside `[a-zA-Z0-9_:]` become `_`, and a leading digit gets a `_` in front.
#[must_use]
pub fn metric_name_from(text: &str) -> String {
    metric_name_from_parts(&[text])
}

/// [`metric_name_from`] of the parts joined, without building the joined text first.
#[must_use]
pub fn metric_name_from_parts(parts: &[&str]) -> String {
    let length: usize = parts.iter().map(|part| part.len()).sum();
    let mut name = String::with_capacity(length + 1);
    let last = parts.len().saturating_sub(1);
    for (index, part) in parts.iter().enumerate() {
        let mut part = *part;
        if index == 0 {
            part = part.trim_start();
        }
        if index == last {
            part = part.trim_end();
        }
        if name.is_empty() && part.starts_with(|c: char| c.is_ascii_digit()) {
            name.push('_');
        }
        name.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        }));
    }
    name
}

/// A foreign tag key mapped onto the label grammar: characters outside `[a-zA-Z0-9_]` become
/// `_`, and an empty key, a leading digit or the reserved `__` prefix gets an `x` in front.
#[must_use]
pub fn label_name_from(text: &str) -> String {
    let text = text.trim();
    let mut label = String::with_capacity(text.len() + 1);
    label.extend(text.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    if label.is_empty()
        || label.starts_with(|c: char| c.is_ascii_digit())
        || label.starts_with("__")
    {
        label.insert(0, 'x');
    }
    label
}
