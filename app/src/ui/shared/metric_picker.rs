//! The metric name autocomplete, shared by the editor's side panel and Explore: an input that
//! suggests the catalog's metric names as one types (arrows to move through them, Enter or a
//! click to pick); a picked name replaces the typed one and keeps any `{…}` label part.

use leptos::prelude::*;

use crate::api::metric_names;

/// A selector's metric name and the label filters inside its braces.
#[must_use]
pub fn split_selector(selector: &str) -> (String, String) {
    match selector.split_once('{') {
        Some((name, rest)) => (
            name.trim().to_owned(),
            rest.trim_end()
                .strip_suffix('}')
                .unwrap_or(rest)
                .trim()
                .to_owned(),
        ),
        None => (selector.trim().to_owned(), String::new()),
    }
}

/// The selector for a metric name and label filters.
#[must_use]
pub fn join_selector(name: &str, filters: &str) -> String {
    if filters.trim().is_empty() {
        name.trim().to_owned()
    } else {
        format!("{}{{{}}}", name.trim(), filters.trim())
    }
}

/// `text` with the metric name `name` in place of its own, its label part kept.
#[must_use]
pub fn with_metric(text: &str, name: &str) -> String {
    join_selector(name, &split_selector(text).1)
}

/// An input that suggests metric names from the catalog, for the name typed before any `{`.
///
/// The suggestion list is `data-testid="metric-suggestions"` (a `listbox` named "Metric
/// names"), each suggestion `data-testid="metric-suggestion"` (an `option`).
#[component]
pub fn MetricPicker(
    /// The input's text: a metric name, or a whole selector.
    value: Signal<String>,
    /// Called with the new text: as typed, or with a picked name in place of the typed one.
    on_change: Callback<String>,
    /// The caption above the input.
    #[prop(default = "Metric")]
    label: &'static str,
    /// The input's id (its caption's `for`); the list's is `{id}-suggestions`.
    #[prop(default = "metric-picker")]
    id: &'static str,
    /// The input's `data-testid`.
    #[prop(default = "metric-picker")]
    testid: &'static str,
    /// The input's name, when a form submits it.
    #[prop(optional)]
    name: Option<&'static str>,
    /// What the empty input shows.
    #[prop(default = "Start typing a metric name")]
    placeholder: &'static str,
    /// The wrapper's classes.
    #[prop(default = "field autocomplete")]
    classes: &'static str,
) -> impl IntoView {
    let suggestions = RwSignal::new(Vec::<String>::new());
    let highlighted = RwSignal::new(None::<usize>);
    let open = RwSignal::new(false);
    // Answers may arrive out of order; only the newest question's counts.
    let asked = StoredValue::new(0u64);
    let suggest = move |text: String| {
        let prefix = split_selector(&text).0;
        asked.update_value(|count| *count += 1);
        let question = asked.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(names) = metric_names(prefix).await
                && asked.try_get_value() == Some(question)
            {
                suggestions.set(names);
                highlighted.set(None);
                open.set(true);
            }
        });
    };
    let pick = move |name: String| {
        on_change.run(with_metric(&value.get_untracked(), &name));
        open.set(false);
    };
    let list_id = format!("{id}-suggestions");
    let controls = list_id.clone();
    // The server renders the text as an attribute; the browser keeps the property current.
    let initial = value.get_untracked();
    view! {
        <div class=classes>
            <label for=id>{label}</label>
            <input
                id=id
                name=name
                type="text"
                role="combobox"
                autocomplete="off"
                spellcheck="false"
                placeholder=placeholder
                aria-autocomplete="list"
                aria-controls=controls
                aria-expanded=move || (open.get() && !suggestions.with(Vec::is_empty)).to_string()
                data-testid=testid
                value=initial
                prop:value=move || value.get()
                on:input=move |event| {
                    let text = event_target_value(&event);
                    on_change.run(text.clone());
                    suggest(text);
                }
                on:focus=move |_| suggest(value.get_untracked())
                on:blur=move |_| {
                    // Let a click on a suggestion land first.
                    set_timeout(move || open.set(false), std::time::Duration::from_millis(150));
                }
                on:keydown=move |event| {
                    let count = suggestions.with(Vec::len);
                    match event.key().as_str() {
                        "ArrowDown" if count > 0 => {
                            event.prevent_default();
                            open.set(true);
                            highlighted.update(|h| *h = Some(h.map_or(0, |h| (h + 1) % count)));
                        }
                        "ArrowUp" if count > 0 => {
                            event.prevent_default();
                            highlighted.update(|h| *h = Some(h.map_or(count - 1, |h| (h + count - 1) % count)));
                        }
                        "Enter" => {
                            if let Some(name) = highlighted.get().and_then(|h| suggestions.with(|s| s.get(h).cloned())) {
                                event.prevent_default();
                                pick(name);
                            }
                        }
                        "Escape" => open.set(false),
                        _ => {}
                    }
                }
            />
            <Show when=move || open.get() && !suggestions.with(Vec::is_empty)>
                <ul
                    class="suggestions"
                    id=list_id.clone()
                    role="listbox"
                    aria-label="Metric names"
                    data-testid="metric-suggestions"
                >
                    {move || suggestions.get().into_iter().enumerate().map(|(index, metric)| {
                        let chosen = metric.clone();
                        view! {
                            <li
                                role="option"
                                data-testid="metric-suggestion"
                                aria-selected=move || (highlighted.get() == Some(index)).to_string()
                                on:pointerdown=move |event| {
                                    event.prevent_default();
                                    pick(chosen.clone());
                                }
                            >
                                {metric}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_split_and_join() {
        assert_eq!(
            split_selector(r#"cpu{host="a", region=~"eu.*"}"#),
            ("cpu".into(), r#"host="a", region=~"eu.*""#.into())
        );
        assert_eq!(split_selector("cpu"), ("cpu".into(), String::new()));
        assert_eq!(join_selector("cpu", ""), "cpu");
        assert_eq!(join_selector("cpu", r#"host="a""#), r#"cpu{host="a"}"#);
    }

    /// A picked name replaces the typed one; the label part stays.
    #[test]
    fn picking_keeps_the_label_part() {
        assert_eq!(
            with_metric("http_re", "http_requests_total"),
            "http_requests_total"
        );
        assert_eq!(with_metric("", "cpu"), "cpu");
        assert_eq!(
            with_metric(r#"http{route="/api"}"#, "http_requests_total"),
            r#"http_requests_total{route="/api"}"#
        );
        assert_eq!(
            with_metric(r#"{route="/api"}"#, "http_requests_total"),
            r#"http_requests_total{route="/api"}"#
        );
    }
}
