//! One delivery attempt over HTTP, with its timeout, and when to try again after a failure.

use app::alerts::{ContactKind, ContactPoint};

use super::email::Mailer;
pub use super::failure::{SendError, TIMEOUT};
use super::{payload, sign};
use crate::storage::alerts::Notification;

/// The first retry's delay; each later one doubles, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 600_000;

/// The HTTP client notifications go through.
#[must_use]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("livedash/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What notifications are sent through: HTTP, and the SMTP relay when there is one.
#[derive(Clone, Copy)]
pub struct Channels<'a> {
    pub http: &'a reqwest::Client,
    pub mail: Option<&'a Mailer>,
}

/// Sends `notification` (id `id`) to `contact`; the receiver's status when it was 2xx
/// (250, the relay's, for email).
///
/// # Errors
/// Any other answer, or none.
pub async fn send(
    channels: Channels<'_>,
    contact: &ContactPoint,
    notification: &Notification,
    id: &str,
    public_url: &str,
) -> Result<u16, SendError> {
    let client = channels.http;
    let request = match &contact.kind {
        ContactKind::Email { to } => {
            let mailer = channels.mail.ok_or_else(|| {
                SendError::Unsendable(
                    "no SMTP relay: start livedash with LIVEDASH_SMTP_URL to send email".into(),
                )
            })?;
            mailer.send(to, notification, id, public_url).await?;
            return Ok(250);
        }
        ContactKind::Webhook { url, secret } => {
            let body = serde_json::to_vec(&payload::webhook_body(notification, id, public_url))
                .map_err(|e| SendError::Unsendable(e.to_string()))?;
            let secret = secret
                .as_deref()
                .ok_or_else(|| SendError::Unsendable("the webhook has no secret".into()))?;
            let signed = sign::sign(secret, id, app::clock::now_ms() / 1000, &body)
                .map_err(SendError::Unsendable)?;
            client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", signed.id)
                .header("webhook-timestamp", signed.timestamp)
                .header("webhook-signature", signed.signature)
                .body(body)
        }
        ContactKind::Alertmanager { url } => client
            .post(format!("{}/api/v2/alerts", url.trim_end_matches('/')))
            .json(&payload::alertmanager_body(
                notification,
                public_url,
                app::clock::now_ms(),
            )),
        ContactKind::Slack { url } => client
            .post(url)
            .json(&payload::slack_body(notification, public_url)),
    };
    let response = request
        .send()
        .await
        .map_err(|error| SendError::Transport(transport_reason(&error)))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(status);
    }
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(300);
    Err(SendError::Status { status, body })
}

fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("could not connect: {error}")
    } else {
        error.to_string()
    }
}

/// The delay before retry number `attempt` (1 for the first retry): exponential, capped, and
/// with "equal jitter" (between half and all of it), so that receivers coming back are not hit
/// by every sender at once.
#[must_use]
pub fn backoff_ms(attempt: u32, random: f64) -> i64 {
    let exponent = attempt.saturating_sub(1).min(20);
    let base = (FIRST_BACKOFF_MS << exponent).min(MAX_BACKOFF_MS);
    base / 2 + (base as f64 / 2.0 * random.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_ten_minutes() {
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(1, 1.0), 1_000);
        assert_eq!(backoff_ms(4, 1.0), 8_000);
        assert_eq!(backoff_ms(40, 1.0), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(40, 0.0), MAX_BACKOFF_MS / 2);
    }
}
