//! Signing as the Standard Webhooks specification says: `webhook-signature` is `v1,`
//! followed by the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`,
//! keyed with the decoded bytes of a `whsec_` secret.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

use crate::Invalid;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The prefix every signing secret carries, as the specification's libraries expect.
const PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// An endpoint's signing secret. `Debug` shows none of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    text: String,
    key: Vec<u8>,
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self {
            text: format!("{PREFIX}{}", STANDARD.encode(bytes)),
            key: bytes.to_vec(),
        })
    }

    /// A stored secret, as `whsec_` and base64.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let key = text
            .strip_prefix(PREFIX)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .filter(|key| key.len() >= 24 && key.len() <= 64)
            .ok_or_else(|| Invalid::new("secret", "is not a whsec_ secret of 24 to 64 bytes"))?;
        Ok(Self {
            text: text.to_owned(),
            key,
        })
    }

    /// The secret as shown once to an admin and stored.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

/// The `webhook-signature` header of one delivery.
pub fn sign(secret: &SigningSecret, id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(&secret.key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// How far a signed message's timestamp may be from now, as the specification advises.
pub const TOLERANCE_SECS: i64 = 300;

/// Whether a message signed by the other side is genuine: `signatures` (the
/// `webhook-signature` header, space-separated `v1,…` entries) holds the signature of
/// `id`, `timestamp` and `body`, and the timestamp is within five minutes of `now`.
pub fn verify(
    secret: &SigningSecret,
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now_secs: i64,
) -> bool {
    let Ok(timestamp_secs) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now_secs - timestamp_secs).abs() > TOLERANCE_SECS || id.is_empty() {
        return false;
    }
    let expected = sign(secret, id, timestamp_secs, body);
    signatures
        .split_whitespace()
        .any(|given| crate::secret::constant_time_eq(given, &expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_what_it_signs_within_the_tolerance() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_else(|e| panic!("{e}"));
        let body = br#"{"test": 2432232314}"#;
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        assert!(verify(&secret, id, "1614265330", body, good, 1614265330));
        assert!(verify(
            &secret,
            id,
            "1614265330",
            body,
            &format!("v1,bad {good}"),
            1614265600
        ));
        assert!(!verify(
            &secret,
            id,
            "1614265330",
            body,
            good,
            1614265330 + 301
        ));
        assert!(!verify(&secret, id, "1614265331", body, good, 1614265330));
        assert!(!verify(
            &secret,
            "other",
            "1614265330",
            body,
            good,
            1614265330
        ));
        assert!(!verify(&secret, id, "1614265330", b"{}", good, 1614265330));
        assert!(!verify(&secret, id, "soon", body, good, 1614265330));
    }

    #[test]
    fn matches_the_specification_example() {
        // The example of the Standard Webhooks specification.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_else(|e| panic!("{e}"));
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_parse_back_and_differ() {
        let a = SigningSecret::generate().unwrap_or_else(|e| panic!("{e}"));
        let b = SigningSecret::generate().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(a.expose()), Ok(a.clone()));
        assert_eq!(format!("{a:?}"), "SigningSecret(…)");
    }

    #[test]
    fn short_or_foreign_secrets_are_refused() {
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningSecret::parse("whsec_!!!").is_err());
    }
}
