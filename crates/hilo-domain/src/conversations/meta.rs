//! Meta's rules that need no I/O, for WhatsApp Cloud API, Messenger and Instagram:
//! the `X-Hub-Signature-256` of a webhook, the subscription handshake, and the
//! delivery states WhatsApp reports.

use hmac::{KeyInit, Mac};

use super::MessageStatus;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Whether `header` (`sha256=` and the hex HMAC-SHA256 of the raw body under the app
/// secret) signs `body`. Compared in constant time.
pub fn signature_matches(app_secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    !app_secret.is_empty() && mac.verify_slice(&expected).is_ok()
}

/// The header Meta would send with `body`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// The subscription handshake: the challenge to echo when the mode is `subscribe` and
/// the token is the channel's.
pub fn handshake<'a>(
    verify_token: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
) -> Option<&'a str> {
    let token = token?;
    (mode == Some("subscribe")
        && !verify_token.is_empty()
        && crate::secret::constant_time_eq(token, verify_token))
    .then_some(challenge?)
}

/// What a WhatsApp `statuses[].status` means here.
pub fn status(reported: &str) -> Option<MessageStatus> {
    Some(match reported {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_raw_body_under_the_app_secret() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = signature("app-secret", body);
        assert!(header.starts_with("sha256=") && header.len() == 71);
        assert!(signature_matches("app-secret", body, &header));
        assert!(signature_matches(
            "app-secret",
            body,
            &header.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!signature_matches("other", body, &header));
        assert!(!signature_matches("app-secret", b"{}", &header));
        assert!(!signature_matches("app-secret", body, &header[7..]));
        assert!(!signature_matches("app-secret", body, "sha256=zz"));
        assert!(!signature_matches("", body, &signature("", body)));
    }

    #[test]
    fn the_handshake_echoes_only_for_the_right_token() {
        assert_eq!(
            handshake("tok", Some("subscribe"), Some("tok"), Some("42")),
            Some("42")
        );
        assert_eq!(
            handshake("tok", Some("subscribe"), Some("bad"), Some("42")),
            None
        );
        assert_eq!(
            handshake("tok", Some("unsubscribe"), Some("tok"), Some("42")),
            None
        );
        assert_eq!(handshake("tok", Some("subscribe"), None, Some("42")), None);
    }
}
