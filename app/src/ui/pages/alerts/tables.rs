//! The Alerts page's lists: firing alerts (with a one-click silence), rules with their state,
//! the history as a timeline, silences, and dead letters.

use leptos::prelude::*;

use super::draft::Draft;
use super::shared::{PageState, ask, labels_text, transition_text, when};
use crate::alerts::api::{AlertsCall, DeadLetter, HistoryEntry, InstanceView, RuleView};
use crate::alerts::machine::State;
use crate::alerts::{LabelMatcher, Silence};
use crate::query::MatchOp;
use crate::ui::shared::browser::browser_task;

/// A state as a coloured badge.
#[component]
pub(super) fn StateBadge(state: State) -> impl IntoView {
    let class = match state {
        State::Firing | State::NoData | State::Error => "badge badge-down",
        State::Pending | State::Recovering => "badge badge-wait",
        State::Normal => "badge badge-ok",
    };
    view! { <span class=class data-testid="state" data-state=state.name()>{state.name().replace('_', " ")}</span> }
}

/// Alerts that are not normal, worst first, each with a button that silences it for an hour.
#[component]
pub(super) fn Firing(instances: Vec<InstanceView>, state: PageState) -> impl IntoView {
    let silence = browser_task(
        move |labels: std::collections::BTreeMap<String, String>| async move {
            let now = crate::clock::now_ms();
            let silence = Silence {
                id: String::new(),
                matchers: labels
                    .into_iter()
                    .filter(|(name, _)| name != "severity")
                    .map(|(name, value)| LabelMatcher {
                        name,
                        op: MatchOp::Equal,
                        value,
                    })
                    .collect(),
                starts_ms: now,
                ends_ms: now + 3_600_000,
                comment: "silenced from the Alerts page".into(),
                created_by: String::new(),
            };
            state.report(ask(AlertsCall::CreateSilence(silence)).await);
        },
    );
    view! {
        <section class="panel">
            <h2>"Alerts now"</h2>
            {'list: {
                let instances: Vec<_> = instances
                    .into_iter()
                    .filter(|i| i.state != State::Normal)
                    .collect();
                if instances.is_empty() {
                    break 'list view! { <p class="empty" data-testid="no-alerts">"Nothing is firing."</p> }.into_any();
                }
                view! {
                    <div class="table-scroll"><table class="values" data-testid="alert-instances">
                        <thead><tr><th>"State"</th><th>"Rule"</th><th>"Labels"</th><th class="num">"Value"</th><th>"Since"</th><th>"Summary"</th><th></th></tr></thead>
                        <tbody>
                            {instances.into_iter().map(|instance| {
                                let labels = instance.labels.clone();
                                view! {
                                    <tr data-testid="alert-instance" data-rule=instance.rule_id.clone()>
                                        <td><StateBadge state=instance.state />
                                            {instance.silenced.then(|| view! { <span class="badge" data-testid="silenced">"silenced"</span> })}</td>
                                        <td>{instance.rule_name.clone()}</td>
                                        <td class="small">{labels_text(&instance.labels)}</td>
                                        <td class="num">{instance.value.map(crate::format::number).unwrap_or_default()}</td>
                                        <td class="time">{when(instance.active_since_ms.unwrap_or(instance.since_ms))}</td>
                                        <td>{instance.summary.clone()}</td>
                                        <td>{(!instance.silenced && instance.state.is_firing()).then(|| {
                                            let labels = labels.clone();
                                            view! {
                                                <button type="button" class="button small secondary" data-testid="silence-alert"
                                                    on:click=move |_| silence.run(labels.clone())>"Silence 1 h"</button>
                                            }
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// What a rule's condition says, in words.
fn condition_text(view: &RuleView) -> String {
    use crate::alerts::Condition;
    let line = |line: &Option<crate::alerts::Line>| line.map(|l| crate::format::number(l.raise));
    match &view.rule.condition {
        Condition::Above { critical, warning } => format!(
            "above {}",
            [
                line(critical).map(|v| format!("{v} (critical)")),
                line(warning).map(|v| format!("{v} (warning)"))
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        ),
        Condition::Below { critical, warning } => format!(
            "below {}",
            [
                line(critical).map(|v| format!("{v} (critical)")),
                line(warning).map(|v| format!("{v} (warning)"))
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        ),
        Condition::Outside { critical, .. } => critical.map_or_else(String::new, |band| {
            format!(
                "outside {} to {}",
                crate::format::number(band.low.raise),
                crate::format::number(band.high.raise)
            )
        }),
        Condition::Absent { after_ms, .. } => format!(
            "no sample for {}",
            crate::format::duration_ms(*after_ms as f64)
        ),
    }
}

/// Every rule with its state; edit or delete.
#[component]
pub(super) fn Rules(rules: Vec<RuleView>, state: PageState) -> impl IntoView {
    let delete = browser_task(move |id: String| async move {
        state.report(ask(AlertsCall::DeleteRule(id)).await);
    });
    view! {
        <section class="panel">
            <h2>"Rules"</h2>
            {'list: {
                if rules.is_empty() {
                    break 'list view! { <p class="empty">"No rules yet. Make one with “New rule”, or with “Alert on this” on a chart."</p> }.into_any();
                }
                view! {
                    <div class="table-scroll"><table class="values" data-testid="alert-rules">
                        <thead><tr><th>"State"</th><th>"Name"</th><th>"Query"</th><th>"Condition"</th><th class="num">"Firing"</th><th></th></tr></thead>
                        <tbody>
                            {rules.into_iter().map(|view| {
                                let rule = view.rule.clone();
                                let id = rule.id.clone();
                                let row_id = rule.id.clone();
                                let query = view.query.clone();
                                view! {
                                    <tr data-testid="alert-rule" data-rule=row_id>
                                        <td><StateBadge state=view.state /></td>
                                        <td>{rule.name.clone()}</td>
                                        <td><code>{query}</code></td>
                                        <td class="small">{condition_text(&view)}</td>
                                        <td class="num">{format!("{} / {}", view.firing, view.instances)}</td>
                                        <td class="actions">
                                            <button type="button" class="button small secondary" data-testid="edit-rule"
                                                on:click=move |_| state.editing.set(Some(Draft::of(&rule)))>"Edit"</button>
                                            <button type="button" class="button small danger" data-testid="delete-rule"
                                                on:click=move |_| delete.run(id.clone())>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Transitions, newest first, as a timeline.
#[component]
pub(super) fn History(entries: Vec<HistoryEntry>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"History"</h2>
            {'list: {
                if entries.is_empty() {
                    break 'list view! { <p class="empty">"No state changes yet."</p> }.into_any();
                }
                view! {
                    <ol class="history" data-testid="alert-history">
                        {entries.into_iter().map(|entry| view! {
                            <li data-testid="history-entry" data-to=entry.to.name()>
                                <span class="time">{when(entry.at_ms)}</span>
                                <StateBadge state=entry.to />
                                <strong>{entry.rule_name.clone()}</strong>
                                <span class="small">{transition_text(&entry)}</span>
                                <span class="muted small">{labels_text(&entry.labels)}</span>
                                {entry.value.map(|v| view! { <span class="small">{format!("value {}", crate::format::number(v))}</span> })}
                                {entry.notified.clone().map(|n| view! { <span class="badge">{format!("notified: {n}")}</span> })}
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

/// Silences in force or coming, each with a button to end it now.
#[component]
pub(super) fn Silences(silences: Vec<Silence>, state: PageState) -> impl IntoView {
    let expire = browser_task(move |id: String| async move {
        state.report(ask(AlertsCall::ExpireSilence(id)).await);
    });
    view! {
        <section class="panel">
            <h2>"Silences"</h2>
            {'list: {
                let now = crate::clock::now_ms();
                let silences: Vec<Silence> = silences.into_iter().filter(|s| s.ends_ms > now).collect();
                if silences.is_empty() {
                    break 'list view! { <p class="empty">"No silences. Silence a firing alert from the list above."</p> }.into_any();
                }
                view! {
                    <div class="table-scroll"><table class="values" data-testid="silences">
                        <thead><tr><th>"Matches"</th><th>"From"</th><th>"Until"</th><th>"By"</th><th>"Comment"</th><th></th></tr></thead>
                        <tbody>
                            {silences.into_iter().map(|silence| {
                                let id = silence.id.clone();
                                let matchers = silence.matchers.iter()
                                    .map(|m| format!("{}{}\"{}\"", m.name, match m.op { MatchOp::Equal => "=", MatchOp::NotEqual => "!=", MatchOp::Regex => "=~", MatchOp::NotRegex => "!~" }, m.value))
                                    .collect::<Vec<_>>().join(", ");
                                view! {
                                    <tr data-testid="silence">
                                        <td class="small"><code>{matchers}</code></td>
                                        <td class="time">{when(silence.starts_ms)}</td>
                                        <td class="time">{when(silence.ends_ms)}</td>
                                        <td class="small">{silence.created_by.clone()}</td>
                                        <td class="small">{silence.comment.clone()}</td>
                                        <td><button type="button" class="button small secondary" data-testid="expire-silence"
                                            on:click=move |_| expire.run(id.clone())>"End now"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Notifications given up after every retry.
#[component]
pub(super) fn DeadLetters(letters: Vec<DeadLetter>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Undelivered notifications"</h2>
            {'list: {
                if letters.is_empty() {
                    break 'list view! { <p class="empty" data-testid="no-dead-letters">"Every notification was delivered."</p> }.into_any();
                }
                view! {
                    <div class="table-scroll"><table class="values" data-testid="dead-letters">
                        <thead><tr><th>"Given up"</th><th>"Contact point"</th><th>"Status"</th><th class="num">"Attempts"</th><th>"Last error"</th></tr></thead>
                        <tbody>
                            {letters.into_iter().map(|letter| view! {
                                <tr>
                                    <td class="time">{when(letter.at_ms)}</td>
                                    <td>{letter.contact_point}</td>
                                    <td>{letter.status}</td>
                                    <td class="num">{letter.attempts}</td>
                                    <td class="small">{letter.error}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}
