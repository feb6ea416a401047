//! Contact points on the Alerts page: the list, a form to add one (a webhook's signing secret
//! is shown once, when it is made), a test notification, and deleting.

use leptos::prelude::*;

use super::shared::{PageState, ask};
use crate::alerts::api::{AlertsAnswer, AlertsCall};
use crate::alerts::{ContactKind, ContactPoint};
use crate::ui::shared::browser::browser_task;

/// What the contact point form holds; kept by the page, so a reload of the list keeps it.
#[derive(Clone, Copy)]
pub(super) struct ContactForm {
    name: RwSignal<String>,
    kind: RwSignal<String>,
    url: RwSignal<String>,
    /// When it is not notified (its mute timing).
    mute: RwSignal<String>,
    /// How often a firing alert is sent again (`4h`); once when empty.
    repeat: RwSignal<String>,
    /// Labels whose alerts are sent together, comma-separated; each alert on its own when empty.
    group_by: RwSignal<String>,
    /// A new group's wait (`30s`) and the least time between a group's notifications (`5m`).
    group_wait: RwSignal<String>,
    group_interval: RwSignal<String>,
    /// A new webhook's secret, shown once.
    secret: RwSignal<Option<String>>,
    /// The last test notification: to whom, and how it went.
    tested: RwSignal<Option<(String, String)>>,
}

impl ContactForm {
    pub fn new() -> Self {
        Self {
            name: RwSignal::new(String::new()),
            kind: RwSignal::new("webhook".to_owned()),
            url: RwSignal::new(String::new()),
            mute: RwSignal::new(String::new()),
            repeat: RwSignal::new(String::new()),
            group_by: RwSignal::new(String::new()),
            group_wait: RwSignal::new(String::new()),
            group_interval: RwSignal::new(String::new()),
            secret: RwSignal::new(None),
            tested: RwSignal::new(None),
        }
    }
}

/// One text field of the contact point form, with its explanation on hover.
#[component]
fn Entry(
    value: RwSignal<String>,
    label: &'static str,
    testid: &'static str,
    placeholder: &'static str,
    title: &'static str,
) -> impl IntoView {
    view! {
        <input type="text" placeholder=placeholder aria-label=label title=title data-testid=testid
            prop:value=move || value.get() on:input=move |event| value.set(event_target_value(&event)) />
    }
}

/// Contact points.
#[component]
pub(super) fn ContactPoints(
    contacts: Vec<ContactPoint>,
    form: ContactForm,
    state: PageState,
) -> impl IntoView {
    let ContactForm {
        name,
        kind,
        url,
        mute,
        repeat,
        group_by,
        group_wait,
        group_interval,
        secret,
        tested,
    } = form;
    let add = browser_task(move |()| async move {
        let address = url.get_untracked().trim().to_owned();
        let kind = match kind.get_untracked().as_str() {
            "alertmanager" => ContactKind::Alertmanager { url: address },
            "slack" => ContactKind::Slack { url: address },
            "email" => ContactKind::Email {
                to: address
                    .split(',')
                    .map(str::trim)
                    .filter(|to| !to.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            _ => ContactKind::Webhook {
                url: address,
                secret: None,
            },
        };
        // A duration field: absent when empty, the field named when it does not parse.
        let duration = |field: &str, text: String| -> Result<Option<i64>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            crate::query::parse_duration_ms(text)
                .map(Some)
                .map_err(|problem| format!("{field}: {problem}"))
        };
        let durations = (
            duration("repeat", repeat.get_untracked()),
            duration("group wait", group_wait.get_untracked()),
            duration("group interval", group_interval.get_untracked()),
        );
        let (repeat_ms, wait_ms, interval_ms) = match durations {
            (Ok(repeat), Ok(wait), Ok(interval)) => (repeat, wait, interval),
            (Err(problem), _, _) | (_, Err(problem), _) | (_, _, Err(problem)) => {
                state.problem.set(Some(problem));
                return;
            }
        };
        let contact = ContactPoint {
            name: name.get_untracked(),
            kind,
            send_resolved: true,
            mute: mute.get_untracked().trim().to_owned(),
            repeat_ms,
            group_by: group_by
                .get_untracked()
                .split(',')
                .map(str::trim)
                .filter(|label| !label.is_empty())
                .map(str::to_owned)
                .collect(),
            group_wait_ms: wait_ms.unwrap_or(0),
            group_interval_ms: interval_ms,
        };
        if let Some(AlertsAnswer::Contact(stored)) = state.report(
            ask(AlertsCall::SaveContact {
                contact,
                create: true,
            })
            .await,
        ) {
            name.set(String::new());
            url.set(String::new());
            mute.set(String::new());
            repeat.set(String::new());
            group_by.set(String::new());
            group_wait.set(String::new());
            group_interval.set(String::new());
            secret.set(match stored.kind {
                ContactKind::Webhook { secret, .. } => secret,
                _ => None,
            });
        }
    });
    let test = browser_task(move |name: String| async move {
        let answer = ask(AlertsCall::TestContact(name.clone())).await;
        let text = match answer {
            Ok(AlertsAnswer::Tested(result)) if result.delivered => {
                format!("delivered ({})", result.status.unwrap_or(200))
            }
            Ok(AlertsAnswer::Tested(result)) => {
                format!("not delivered: {}", result.error.unwrap_or_default())
            }
            Ok(_) => String::new(),
            Err(error) => error.to_string(),
        };
        tested.set(Some((name, text)));
    });
    let delete = browser_task(move |name: String| async move {
        state.report(ask(AlertsCall::DeleteContact(name)).await);
    });
    view! {
        <section class="panel">
            <h2>"Contact points"</h2>
            <p class="note">
                "Webhooks get Alertmanager's payload (version 4), signed as the Standard Webhooks specification says; "
                "an Alertmanager contact point posts to its " <code>"/api/v2/alerts"</code> " so its routes, silences and receivers apply; "
                "email goes through the SMTP relay the server was started with (" <code>"LIVEDASH_SMTP_URL"</code> ")."
            </p>
            <form class="toolbar" on:submit=move |event| { event.prevent_default(); add.run(()); }>
                <input type="text" placeholder="Name" aria-label="Contact point name" data-testid="contact-name"
                    prop:value=move || name.get() on:input=move |event| name.set(event_target_value(&event)) />
                <select aria-label="Kind" data-testid="contact-kind" prop:value=move || kind.get()
                    on:change=move |event| kind.set(event_target_value(&event))>
                    <option value="webhook">"Webhook"</option>
                    <option value="alertmanager">"Alertmanager"</option>
                    <option value="slack">"Slack"</option>
                    <option value="email">"Email"</option>
                </select>
                <input type="text"
                    placeholder=move || if kind.get() == "email" { "ops@example.com, …" } else { "https://…" }
                    aria-label="Address" data-testid="contact-url"
                    prop:value=move || url.get() on:input=move |event| url.set(event_target_value(&event)) />
                <Entry value=mute label="Mute timing (UTC)" testid="contact-mute"
                    placeholder="Mute (UTC): Sat-Sun 00:00-24:00"
                    title="Days and times (UTC) without notifications, e.g. Mon-Fri 22:00-06:00; Sat-Sun 00:00-24:00. What arrives meanwhile is sent when the window ends." />
                <Entry value=repeat label="Repeat interval" testid="contact-repeat"
                    placeholder="Repeat every (4h)"
                    title="While an alert keeps firing, send it again this often; once when empty." />
                <Entry value=group_by label="Group by labels" testid="contact-group-by"
                    placeholder="Group by (service, alertname)"
                    title="Alerts with the same values of these labels are sent together, in one notification that lists them; each alert on its own when empty." />
                <Entry value=group_wait label="Group wait" testid="contact-group-wait"
                    placeholder="Group wait (0s)"
                    title="How long a new group's first notification waits for more alerts of the group; sent at once when empty." />
                <Entry value=group_interval label="Group interval" testid="contact-group-interval"
                    placeholder="Group interval (5m)"
                    title="The least time between two notifications of a group; what changes meanwhile is sent together. Five minutes when empty." />
                <button type="submit" class="button" data-testid="add-contact">"Add"</button>
            </form>
            {move || secret.get().map(|secret| view! {
                <p class="note" data-testid="contact-secret">
                    "Signing secret (shown once; give it to the receiver to verify " <code>"webhook-signature"</code> "): "
                    <code>{secret}</code>
                </p>
            })}
            {'list: {
                let list = contacts;
                if list.is_empty() {
                    break 'list view! { <p class="empty">"No contact points yet."</p> }.into_any();
                }
                view! {
                    <div class="table-scroll"><table class="values" data-testid="contact-points">
                        <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Address"</th><th>"Muted (UTC)"</th><th>"Repeat"</th><th>"Grouping"</th><th></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|contact| {
                                let address = contact.address();
                                let test_name = contact.name.clone();
                                let delete_name = contact.name.clone();
                                let shown_name = contact.name.clone();
                                view! {
                                    <tr data-testid="contact-point">
                                        <td>{contact.name.clone()}</td>
                                        <td>{contact.kind_name()}</td>
                                        <td class="small"><code>{address}</code></td>
                                        <td class="small" data-testid="contact-muted">{if contact.mute.is_empty() { "–".to_owned() } else { contact.mute.clone() }}</td>
                                        <td class="small" data-testid="contact-repeats">{contact.repeat_ms.map_or_else(|| "–".to_owned(), |ms| crate::format::duration_ms(ms as f64))}</td>
                                        <td class="small" data-testid="contact-grouping">{grouping(&contact)}</td>
                                        <td class="actions">
                                            <button type="button" class="button small secondary" data-testid="test-contact"
                                                on:click=move |_| test.run(test_name.clone())>"Send test notification"</button>
                                            <button type="button" class="button small danger" data-testid="delete-contact"
                                                on:click=move |_| delete.run(delete_name.clone())>"Delete"</button>
                                            {move || tested.get().filter(|(n, _)| *n == shown_name).map(|(_, text)| view! {
                                                <span class="small" data-testid="test-result">{text}</span>
                                            })}
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

/// How a contact point groups its alerts, for the list: `by service, alertname · wait 30s ·
/// every 5m`, or `–` when it sends each alert on its own.
fn grouping(contact: &ContactPoint) -> String {
    if contact.group_by.is_empty() {
        return "–".to_owned();
    }
    let duration = |ms: i64| crate::format::duration_ms(ms as f64);
    format!(
        "by {} · wait {} · every {}",
        contact.group_by.join(", "),
        duration(contact.group_wait_ms),
        duration(contact.group_interval())
    )
}
