//! Email notifications: the message (a subject that sorts and filters well in a mail client,
//! a plain-text body with the summary, value, labels and links) and the SMTP relay it goes
//! through (lettre's asynchronous transport: TLS, STARTTLS and authentication as the
//! relay's address says).

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use app::alerts::machine::Notice;
use app::model::format_rfc3339;

use super::failure::{SendError, TIMEOUT};
use super::payload::{group_headline, other_labels};
use crate::storage::alerts::{Notification, Queued};

/// The relay email notifications are sent through, and who they are from.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for the relay at `url` (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, or `smtp://host:25` unencrypted), sending as `from`.
    ///
    /// # Errors
    /// Why the address or the sender cannot be used.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| format!("not an SMTP relay address: {error}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|error| format!("not an email address: {error}"))?;
        Ok(Self { transport, from })
    }

    /// Sends `notification` (id `id`) to `to`.
    ///
    /// # Errors
    /// An address that cannot be used, or the relay refused or did not answer.
    pub async fn send(
        &self,
        to: &[String],
        notification: &Notification,
        id: &str,
        public_url: &str,
    ) -> Result<(), SendError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(notification))
            // The same id on a resend lets a mail system drop the copy.
            .message_id(Some(format!("<{id}@livedash>")))
            .header(ContentType::TEXT_PLAIN);
        for address in to {
            let mailbox = address
                .parse::<Mailbox>()
                .map_err(|error| SendError::Unsendable(format!("{address:?}: {error}")))?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .body(body(notification, public_url))
            .map_err(|error| SendError::Unsendable(error.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| {
                // A permanent refusal (no such mailbox, authentication refused) does not
                // change by trying again: it becomes a dead letter with the relay's reply.
                if error.is_permanent() {
                    SendError::Unsendable(format!("the SMTP relay refused it: {error}"))
                } else {
                    SendError::Transport(format!("the SMTP relay: {error}"))
                }
            })
    }
}

/// `[FIRING:critical] cpu high (host=web-1)`, `[RESOLVED] cpu high (host=web-1)`; a group's:
/// `[FIRING:2 RESOLVED:1] service=api`.
#[must_use]
pub fn subject(notification: &Notification) -> String {
    let [queued] = notification.alerts.as_slice() else {
        return group_headline(notification);
    };
    if notification.group.is_some() {
        return group_headline(notification);
    }
    let status = match queued.status {
        Notice::Firing => match queued.labels.get("severity") {
            Some(severity) => format!("FIRING:{severity}"),
            None => "FIRING".to_owned(),
        },
        Notice::Resolved => "RESOLVED".to_owned(),
    };
    let labels = other_labels(queued);
    if labels.is_empty() {
        format!("[{status}] {}", queued.rule_name)
    } else {
        format!("[{status}] {} ({labels})", queued.rule_name)
    }
}

/// The plain-text body: each alert's summary, value, state, labels and links.
#[must_use]
pub fn body(notification: &Notification, public_url: &str) -> String {
    notification
        .alerts
        .iter()
        .map(|queued| alert_text(queued, public_url, notification.alerts.len() > 1))
        .collect::<Vec<_>>()
        .join("\n\n----\n\n")
}

fn alert_text(queued: &Queued, public_url: &str, named: bool) -> String {
    let mut lines = Vec::new();
    if named {
        let status = match queued.status {
            Notice::Firing => "FIRING",
            Notice::Resolved => "RESOLVED",
        };
        lines.push(format!(
            "{status}: {} ({})",
            queued.rule_name,
            other_labels(queued)
        ));
        lines.push(String::new());
    }
    for name in ["summary", "description"] {
        if let Some(text) = queued.annotations.get(name) {
            lines.push(text.clone());
            lines.push(String::new());
        }
    }
    if let Some(value) = queued.value {
        lines.push(format!("Value: {}", app::format::number(value)));
    }
    lines.push(format!("State: {}", queued.state));
    lines.push(format!("Since: {}", format_rfc3339(queued.starts_at_ms)));
    if let Some(ends) = queued.ends_at_ms {
        lines.push(format!("Resolved: {}", format_rfc3339(ends)));
    }
    lines.push(String::new());
    lines.push("Labels:".to_owned());
    for (name, value) in &queued.labels {
        lines.push(format!("  {name} = {value}"));
    }
    lines.push(String::new());
    lines.push(format!("Rule: {public_url}/alerts?rule={}", queued.rule_id));
    if let Some(dashboard) = &queued.dashboard {
        lines.push(format!("Dashboard: {public_url}/d/{dashboard}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::queued;
    use super::*;

    #[test]
    fn subjects_say_the_status_severity_rule_and_group() {
        assert_eq!(
            subject(&Notification::single(queued(Notice::Firing))),
            "[FIRING:critical] cpu high (host=web-1)"
        );
        assert_eq!(
            subject(&Notification::single(queued(Notice::Resolved))),
            "[RESOLVED] cpu high (host=web-1)"
        );
    }

    #[test]
    fn bodies_carry_the_summary_value_labels_and_links() {
        let text = body(&Notification::single(queued(Notice::Resolved)), "http://ld");
        assert!(text.starts_with("web-1 is hot\n"), "{text}");
        assert!(text.contains("Value: 97"), "{text}");
        assert!(
            text.contains("Resolved: 2023-11-14T22:14:20.000Z"),
            "{text}"
        );
        assert!(text.contains("  host = web-1"), "{text}");
        assert!(text.contains("Rule: http://ld/alerts?rule=r1"), "{text}");
        assert!(text.contains("Dashboard: http://ld/d/d1"), "{text}");
        let grouped = Notification {
            group: Some(crate::storage::alerts::GroupKey {
                contact: "ops".into(),
                labels: [("alertname".to_owned(), "cpu high".to_owned())].into(),
            }),
            alerts: vec![queued(Notice::Firing), queued(Notice::Resolved)],
        };
        assert_eq!(
            subject(&grouped),
            "[FIRING:1 RESOLVED:1] alertname=cpu high"
        );
        let text = body(&grouped, "http://ld");
        assert!(
            text.starts_with("FIRING: cpu high (host=web-1)\n"),
            "{text}"
        );
        assert!(text.contains("\n----\n\nRESOLVED: cpu high"), "{text}");
    }

    #[test]
    fn relay_addresses_and_senders_are_checked() {
        assert!(Mailer::new("smtp://127.0.0.1:2525", "livedash@example.com").is_ok());
        assert!(
            Mailer::new(
                "smtps://user:pass@mail.example.com",
                "Ops <ops@example.com>"
            )
            .is_ok()
        );
        assert!(Mailer::new("http://mail.example.com", "ops@example.com").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:2525", "nobody").is_err());
    }
}
