//! Ingest protocols: parsing and validating what clients send, before it reaches storage.

pub mod influx;
pub mod json;
pub mod line_protocol;
pub mod statsd;

/// A foreign metric name (`api.requests`, `disk-io`) mapped onto the metric grammar: characters
/// outside `[a-zA-Z0-9_:]` become `_`, and a leading digit gets a `_` in front.
#[must_use]
pub fn metric_name_from(text: &str) -> String {
    let mut name: String = text
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// A foreign tag key mapped onto the label grammar: characters outside `[a-zA-Z0-9_]` become
/// `_`, and an empty key, a leading digit or the reserved `__` prefix gets an `x` in front.
#[must_use]
pub fn label_name_from(text: &str) -> String {
    let mut label: String = text
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if label.is_empty()
        || label.starts_with(|c: char| c.is_ascii_digit())
        || label.starts_with("__")
    {
        label.insert(0, 'x');
    }
    label
}
