//! The Standard Webhooks signature: `webhook-signature: v1,<base64 of HMAC-SHA256 over
//! "<id>.<timestamp>.<body>">`, keyed with the secret's bytes (the base64 after `whsec_`).

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The three headers of a signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
}

/// Signs `body` sent as message `id` at `timestamp_s` (seconds) with `secret` (`whsec_…`).
///
/// # Errors
/// The secret is not `whsec_` and base64.
pub fn sign(secret: &str, id: &str, timestamp_s: i64, body: &[u8]) -> Result<Signed, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|error| format!("the contact point's secret is not base64: {error}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|error| error.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    Ok(Signed {
        id: id.to_owned(),
        timestamp: timestamp_s.to_string(),
        signature: format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_specifications_example() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
