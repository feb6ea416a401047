//! The rule editor: a form for every part of a rule, a preview that replays it over the last
//! hours before it is saved (when each instance would have fired and resolved, and how many
//! notifications that would have sent), and saving.

use leptos::prelude::*;

use super::draft::Draft;
use super::shared::{PageState, ask, labels_text, when};
use crate::alerts::ContactPoint;
use crate::alerts::api::{AlertsAnswer, AlertsCall, Preview, PreviewRequest, Watchable};
use crate::alerts::machine::State;
use crate::ui::shared::browser::browser_task;

/// A text field of the draft.
#[component]
fn Text(
    draft: RwSignal<Draft>,
    label: &'static str,
    testid: &'static str,
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
    #[prop(optional)] placeholder: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="text" data-testid=testid placeholder=placeholder
                prop:value=move || draft.with(get)
                on:input=move |event| draft.update(|d| set(d, event_target_value(&event))) />
        </label>
    }
}

/// A choice among fixed options of the draft.
#[component]
fn Choice(
    draft: RwSignal<Draft>,
    label: &'static str,
    testid: &'static str,
    options: &'static [(&'static str, &'static str)],
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
) -> impl IntoView {
    let options = Signal::stored(
        options
            .iter()
            .map(|(value, text)| ((*value).to_owned(), (*text).to_owned()))
            .collect::<Vec<_>>(),
    );
    view! { <Picker draft label testid options get set /> }
}

const AGGREGATIONS: &[(&str, &str)] = &[
    ("avg", "average"),
    ("min", "minimum"),
    ("max", "maximum"),
    ("sum", "sum"),
    ("count", "count"),
    ("last", "last value"),
    ("rate", "rate per second"),
    ("unique", "unique count"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
];

const KINDS: &[(&str, &str)] = &[
    ("metric", "a metric"),
    ("uniques", "unique users of an event"),
    ("funnel", "a funnel's conversion"),
    ("experiment", "an experiment"),
];

const COMPARES: &[(&str, &str)] = &[
    ("value", "the conversion (0 to 1)"),
    (
        "week_earlier",
        "its change against a week earlier (-0.2: a fifth lower)",
    ),
];

const SIGNALS: &[(&str, &str)] = &[
    ("significance", "each variant's always-valid p-value"),
    ("sample_ratio", "its sample ratio's p-value (mismatch)"),
];

/// A choice among options that change with the page's data (`options`: value, text).
#[component]
fn Picker(
    draft: RwSignal<Draft>,
    label: &'static str,
    testid: &'static str,
    options: Signal<Vec<(String, String)>>,
    get: fn(&Draft) -> String,
    set: fn(&mut Draft, String),
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select data-testid=testid
                prop:value=move || draft.with(get)
                on:change=move |event| draft.update(|d| set(d, event_target_value(&event)))>
                {move || options.get().into_iter().map(|(value, text)| view! {
                    <option value=value.clone() selected=draft.with(get) == value>{text}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

const CONDITIONS: &[(&str, &str)] = &[
    ("above", "is above"),
    ("below", "is below"),
    ("outside", "is outside a range"),
    ("absent", "has no sample for"),
];

const HANDLING: &[(&str, &str)] = &[
    ("keep", "keep the state"),
    ("alert", "alert"),
    ("normal", "treat as normal"),
];

/// The rule editor.
#[component]
pub(super) fn RuleEditor(
    draft: Draft,
    state: PageState,
    contacts: Signal<Vec<ContactPoint>>,
    analytics: Signal<Watchable>,
) -> impl IntoView {
    let draft = RwSignal::new(draft);
    // A new funnel or experiment rule starts on the first there is.
    Effect::new(move |_| {
        analytics.with(|defined| {
            let first_funnel = defined.funnels.first().map(|f| f.0.clone());
            let first_experiment = defined.experiments.first().map(|e| e.0.clone());
            draft.update(|d| {
                if d.funnel.is_empty() {
                    d.funnel = first_funnel.unwrap_or_default();
                }
                if d.experiment.is_empty() {
                    d.experiment = first_experiment.unwrap_or_default();
                }
            });
        });
    });
    let funnels = Signal::derive(move || {
        analytics.with(|defined| {
            defined
                .funnels
                .iter()
                .map(|(id, name, _)| (id.clone(), name.clone()))
                .collect()
        })
    });
    let steps = Signal::derive(move || {
        let chosen = draft.with(|d| d.funnel.clone());
        let mut steps = vec![(String::new(), "the whole funnel".to_owned())];
        analytics.with(|defined| {
            if let Some((_, _, events)) = defined.funnels.iter().find(|f| f.0 == chosen) {
                for (index, event) in events.iter().enumerate().skip(1) {
                    steps.push((index.to_string(), format!("into step {index}: {event}")));
                }
            }
        });
        steps
    });
    let experiments = Signal::derive(move || analytics.with(|defined| defined.experiments.clone()));
    let kind = move || draft.with(|d| d.kind.clone());
    let preview = RwSignal::new(None::<Preview>);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let run_preview = browser_task(move |()| async move {
        let rule = match draft.get_untracked().rule() {
            Ok(rule) => rule,
            Err(error) => {
                problem.set(Some(error));
                return;
            }
        };
        busy.set(true);
        let answer = ask(AlertsCall::Preview(Box::new(PreviewRequest {
            rule,
            hours: Some(6),
        })))
        .await;
        busy.set(false);
        match answer {
            Ok(AlertsAnswer::Preview(answer)) => {
                problem.set(None);
                preview.set(Some(*answer));
            }
            Ok(_) => {}
            Err(error) => problem.set(Some(error.to_string())),
        }
    });
    let save = browser_task(move |()| async move {
        let rule = match draft.get_untracked().rule() {
            Ok(rule) => rule,
            Err(error) => {
                problem.set(Some(error));
                return;
            }
        };
        match ask(AlertsCall::SaveRule(Box::new(rule))).await {
            Ok(_) => {
                state.editing.set(None);
                state.changes.update(|count| *count += 1);
                // A rule made from a chart: the address forgets the prefill.
                #[cfg(feature = "hydrate")]
                if let Some(window) = web_sys::window() {
                    let _ = window.history().and_then(|history| {
                        history.replace_state_with_url(
                            &wasm_bindgen::JsValue::NULL,
                            "",
                            Some("/alerts"),
                        )
                    });
                }
            }
            Err(error) => problem.set(Some(error.to_string())),
        }
    });
    let op = move || draft.with(|d| d.op.clone());
    view! {
        <section class="panel rule-editor" data-testid="rule-editor">
            <h2>{move || if draft.with(|d| d.id.is_empty()) { "New rule" } else { "Edit rule" }}</h2>
            <form class="rule-form" on:submit=move |event| { event.prevent_default(); save.run(()); }>
                <div class="form-grid">
                    <Text draft label="Name" testid="rule-name" get=|d| d.name.clone() set=|d, v| d.name = v placeholder="CPU high" />
                    <Choice draft label="Watch" testid="rule-kind" options=KINDS get=|d| d.kind.clone() set=|d, v| d.kind = v />
                </div>
                {move || match kind().as_str() {
                    "uniques" => view! {
                        <div class="form-grid">
                            <Text draft label="Event (any when empty)" testid="rule-event" get=|d| d.event.clone() set=|d, v| d.event = v placeholder="signup" />
                            <Text draft label="Over the last" testid="rule-window" get=|d| d.window.clone() set=|d, v| d.window = v placeholder="1h" />
                        </div>
                    }.into_any(),
                    "funnel" => view! {
                        <div class="form-grid">
                            <Picker draft label="Funnel" testid="rule-funnel" options=funnels get=|d| d.funnel.clone() set=|d, v| { d.funnel = v; d.step.clear(); } />
                            <Picker draft label="Conversion of" testid="rule-step" options=steps get=|d| d.step.clone() set=|d, v| d.step = v />
                            <Text draft label="Over the last (up to a day)" testid="rule-window" get=|d| d.window.clone() set=|d, v| d.window = v placeholder="1h" />
                            <Choice draft label="Compare" testid="rule-compare" options=COMPARES get=|d| d.compare.clone() set=|d, v| d.compare = v />
                        </div>
                        {move || funnels.with(Vec::is_empty).then(|| view! {
                            <p class="note">"No funnels yet: make one on the Analytics page."</p>
                        })}
                    }.into_any(),
                    "experiment" => view! {
                        <div class="form-grid">
                            <Picker draft label="Experiment" testid="rule-experiment" options=experiments get=|d| d.experiment.clone() set=|d, v| d.experiment = v />
                            <Choice draft label="Watch its" testid="rule-signal" options=SIGNALS get=|d| d.signal.clone() set=|d, v| d.signal = v />
                        </div>
                        <p class="note">
                            "Always-valid p-values stay valid however often they are looked at, so an alert on one (below 0.05, say) "
                            "is safe; a sample-ratio p-value below 0.001 means users are lost or counted twice in some variant."
                        </p>
                    }.into_any(),
                    _ => view! {
                        <div class="form-grid">
                            <Text draft label="Series (selector)" testid="rule-selector" get=|d| d.selector.clone() set=|d, v| d.selector = v placeholder="cpu{host=~\"web-.*\"}" />
                            <Choice draft label="Combined as" testid="rule-aggregation" options=AGGREGATIONS get=|d| d.aggregation.clone() set=|d, v| d.aggregation = v />
                            <Text draft label="Over the last" testid="rule-window" get=|d| d.window.clone() set=|d, v| d.window = v placeholder="5m" />
                            <Text draft label="One alert per (labels)" testid="rule-group-by" get=|d| d.group_by.clone() set=|d, v| d.group_by = v placeholder="host" />
                            <label class="check">
                                <input type="checkbox" data-testid="rule-change" prop:checked=move || draft.with(|d| d.change)
                                    on:change=move |event| draft.update(|d| d.change = event_target_checked(&event)) />
                                <span>"Compare its change against the window before (rate of change)"</span>
                            </label>
                        </div>
                    }.into_any(),
                }}
                <div class="form-grid">
                    <Choice draft label="Alert when the value" testid="rule-op" options=CONDITIONS get=|d| d.op.clone() set=|d, v| d.op = v />
                </div>
                {move || match op().as_str() {
                    "outside" => view! {
                        <div class="form-grid">
                            <Text draft label="Lowest normal value" testid="rule-low" get=|d| d.band.0.clone() set=|d, v| d.band.0 = v />
                            <Text draft label="Highest normal value" testid="rule-high" get=|d| d.band.1.clone() set=|d, v| d.band.1 = v />
                        </div>
                    }.into_any(),
                    "absent" => view! {
                        <div class="form-grid">
                            <Text draft label="No sample for" testid="rule-absent" get=|d| d.absent_after.clone() set=|d, v| d.absent_after = v />
                        </div>
                    }.into_any(),
                    _ => view! {
                        <div class="form-grid">
                            <Text draft label="Critical at" testid="rule-critical" get=|d| d.critical.0.clone() set=|d, v| d.critical.0 = v placeholder="90" />
                            <Text draft label="Critical clears at" testid="rule-critical-clear" get=|d| d.critical.1.clone() set=|d, v| d.critical.1 = v placeholder="same" />
                            <Text draft label="Warning at" testid="rule-warning" get=|d| d.warning.0.clone() set=|d, v| d.warning.0 = v placeholder="none" />
                            <Text draft label="Warning clears at" testid="rule-warning-clear" get=|d| d.warning.1.clone() set=|d, v| d.warning.1 = v placeholder="same" />
                        </div>
                    }.into_any(),
                }}
                <div class="form-grid">
                    <Text draft label="Pending for" testid="rule-pending" get=|d| d.pending.clone() set=|d, v| d.pending = v placeholder="0s" />
                    <Text draft label="Keep firing for" testid="rule-keep" get=|d| d.keep_firing.clone() set=|d, v| d.keep_firing = v placeholder="0s" />
                    <Choice draft label="When there is no data" testid="rule-no-data" options=HANDLING get=|d| d.no_data.clone() set=|d, v| d.no_data = v />
                    <Choice draft label="When evaluation fails" testid="rule-on-error" options=HANDLING get=|d| d.error.clone() set=|d, v| d.error = v />
                    <Text draft label="Labels" testid="rule-labels" get=|d| d.labels.clone() set=|d, v| d.labels = v placeholder="team=ops" />
                    <Text draft label="Summary" testid="rule-summary" get=|d| d.summary.clone() set=|d, v| d.summary = v placeholder="{{ $labels.host }} at {{ $value }}" />
                </div>
                <fieldset class="contact-choice">
                    <legend>"Notify"</legend>
                    {move || {
                        let list = contacts.get();
                        if list.is_empty() {
                            return view! { <p class="note">"No contact points yet: add one below to be notified."</p> }.into_any();
                        }
                        list.into_iter().map(|contact| {
                            let name = contact.name.clone();
                            let checked_name = name.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" data-testid="rule-contact" value=name.clone()
                                        prop:checked=move || draft.with(|d| d.contact_points.contains(&checked_name))
                                        on:change=move |event| {
                                            let on = event_target_checked(&event);
                                            let name = name.clone();
                                            draft.update(|d| {
                                                d.contact_points.retain(|c| *c != name);
                                                if on { d.contact_points.push(name); }
                                            });
                                        } />
                                    <span>{contact.name.clone()}" ("{contact.kind_name()}")"</span>
                                </label>
                            }
                        }).collect_view().into_any()
                    }}
                </fieldset>
                {move || problem.get().map(|problem| view! { <p class="error" role="alert" data-testid="rule-error">{problem}</p> })}
                <div class="toolbar">
                    <button type="button" class="button secondary" data-testid="preview-rule" disabled=move || busy.get()
                        on:click=move |_| run_preview.run(())>
                        {move || if busy.get() { "Replaying…" } else { "Preview the last 6 hours" }}
                    </button>
                    <button type="submit" class="button" data-testid="save-rule">"Save rule"</button>
                    <button type="button" class="button secondary" data-testid="cancel-rule"
                        on:click=move |_| state.editing.set(None)>"Cancel"</button>
                </div>
            </form>
            {move || preview.get().map(|preview| view! { <PreviewView preview /> })}
        </section>
    }
}

/// The colour class of a state on a timeline.
fn state_class(state: State) -> &'static str {
    match state {
        State::Normal => "tl-normal",
        State::Pending => "tl-pending",
        State::Firing | State::NoData | State::Error => "tl-firing",
        State::Recovering => "tl-recovering",
    }
}

/// What the rule would have done: one timeline per instance.
#[component]
fn PreviewView(preview: Preview) -> impl IntoView {
    let span = (preview.to - preview.from).max(1) as f64;
    let total = preview.notifications;
    let instances = preview.instances.len();
    view! {
        <div class="rule-preview" data-testid="rule-preview">
            <p class="note" data-testid="preview-summary">
                {format!(
                    "Over the last 6 hours this rule would have sent {total} notification{} for {instances} instance{} (per contact point).",
                    if total == 1 { "" } else { "s" },
                    if instances == 1 { "" } else { "s" },
                )}
            </p>
            {preview.note.clone().map(|note| view! { <p class="note" data-testid="preview-note">{note}</p> })}
            {(instances == 0).then(|| view! { <p class="empty">"Nothing to replay: no series match the selector, or no data, in that time."</p> })}
            <div class="preview-rows">
                {preview.instances.into_iter().take(50).map(|instance| {
                    // Segments of the timeline: each state from its transition to the next.
                    let mut segments = Vec::new();
                    let mut start = preview.from;
                    let mut current = State::Normal;
                    for step in &instance.replayed.transitions {
                        segments.push((start, step.transition.at_ms, current));
                        start = step.transition.at_ms;
                        current = step.transition.to;
                    }
                    segments.push((start, preview.to, current));
                    let fired: Vec<String> = instance.replayed.transitions.iter()
                        .filter(|t| t.notice.is_some())
                        .map(|t| format!("{} {}", t.transition.to.name().replace('_', " "), when(t.transition.at_ms)))
                        .collect();
                    let name = if instance.labels.is_empty() { "(all series)".to_owned() } else { labels_text(&instance.labels) };
                    view! {
                        <div class="preview-row" data-testid="preview-instance" data-notifications=instance.replayed.notifications>
                            <div class="preview-label">
                                <strong>{name}</strong>
                                <span class="muted small">{format!(" {} notification{}", instance.replayed.notifications, if instance.replayed.notifications == 1 { "" } else { "s" })}</span>
                            </div>
                            <svg class="timeline" viewBox="0 0 1000 14" preserveAspectRatio="none" role="img"
                                aria-label=fired.join("; ")>
                                {segments.into_iter().filter(|(a, b, _)| b > a).map(|(a, b, state)| {
                                    let x = (a - preview.from) as f64 / span * 1000.0;
                                    let w = (b - a) as f64 / span * 1000.0;
                                    view! { <rect class=state_class(state) x=format!("{x:.1}") y="0" width=format!("{w:.1}") height="14"><title>{format!("{} from {}", state.name().replace('_', " "), when(a))}</title></rect> }
                                }).collect_view()}
                            </svg>
                            {(!fired.is_empty()).then(|| view! { <p class="muted small" data-testid="preview-transitions">{fired.join(" · ")}</p> })}
                        </div>
                    }
                }).collect_view()}
            </div>
        </div>
    }
}
