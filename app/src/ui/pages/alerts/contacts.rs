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
            secret: RwSignal::new(None),
            tested: RwSignal::new(None),
        }
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
        let contact = ContactPoint {
            name: name.get_untracked(),
            kind,
            send_resolved: true,
            mute: mute.get_untracked().trim().to_owned(),
            repeat_ms: None,
        };
        let every = repeat.get_untracked();
        let contact = if every.trim().is_empty() {
            contact
        } else {
            match crate::query::parse_duration_ms(&every) {
                Ok(ms) => ContactPoint {
                    repeat_ms: Some(ms),
                    ..contact
                },
                Err(problem) => {
                    state.problem.set(Some(format!("repeat: {problem}")));
                    return;
                }
            }
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
                <input type="text" placeholder="Mute (UTC): Sat-Sun 00:00-24:00" aria-label="Mute timing (UTC)"
                    title="Days and times (UTC) without notifications, e.g. Mon-Fri 22:00-06:00; Sat-Sun 00:00-24:00. What arrives meanwhile is sent when the window ends."
                    data-testid="contact-mute"
                    prop:value=move || mute.get() on:input=move |event| mute.set(event_target_value(&event)) />
                <input type="text" placeholder="Repeat every (4h)" aria-label="Repeat interval"
                    title="While an alert keeps firing, send it again this often; once when empty."
                    data-testid="contact-repeat"
                    prop:value=move || repeat.get() on:input=move |event| repeat.set(event_target_value(&event)) />
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
                        <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Address"</th><th>"Muted (UTC)"</th><th>"Repeat"</th><th></th></tr></thead>
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
