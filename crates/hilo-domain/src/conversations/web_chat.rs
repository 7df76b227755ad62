//! The web chat widget's rules, free of I/O: what a visitor's frames say, who a
//! visitor may be taken for, and how fast they may write.
//!
//! A site may tell the widget who its signed-in visitor is (`user_id` or `email`) with
//! `identifier_hash` = hex(HMAC-SHA256(the channel's identity secret, the identifier as
//! given)). Only a claim with the right hash is linked to the customer and shown their
//! earlier chat; any other visitor is anonymous, known by the token the widget keeps.

use hmac::{KeyInit, Mac};
use serde::Deserialize;

use crate::Invalid;
use crate::customers::identity::{Identifier, IdentifierType};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Longest message a visitor may send, in characters.
pub const MAX_CONTENT: usize = 4_096;
/// Most messages a visitor may send in [`RATE_WINDOW_MILLIS`].
pub const MAX_MESSAGES_PER_WINDOW: u32 = 20;
pub const RATE_WINDOW_MILLIS: i64 = 10_000;

/// What the widget sends, one JSON text frame each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame: who the visitor is.
    Hello(Hello),
    /// A message from the visitor; `client_id` makes a resend after a reconnect safe.
    Message { client_id: String, content: String },
    /// The visitor has seen the messages up to this one.
    Read { message_id: String },
    /// The visitor is typing.
    Typing,
}

/// Who the visitor says they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The site's anonymous id: its Segment SDK's, or one the widget made.
    pub anonymous_id: String,
    /// The token this browser was given before, to resume as the same visitor.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub identifier_hash: Option<String>,
}

impl ClientFrame {
    /// Reads one frame; a frame that is not one of ours is refused naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        serde_json::from_str(text).map_err(|e| {
            let reason = e.to_string();
            let reason = reason
                .split(" at line")
                .next()
                .unwrap_or("is not understood");
            Invalid::new("frame", format!("is not a frame of the widget: {reason}"))
        })
    }
}

/// Who a visitor is taken for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// Proved by the site: linked to the customer, shown their earlier chat.
    Verified(Identifier),
    /// No claim, or a claim without the right hash: anonymous.
    Anonymous {
        /// Whether the visitor claimed an identity the hash did not prove.
        refused_claim: bool,
    },
}

impl Hello {
    /// The anonymous id, checked.
    pub fn anonymous_id(&self) -> Result<Identifier, Invalid> {
        let value = self.anonymous_id.trim();
        if value.is_empty() || value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err(Invalid::new(
                "anonymous_id",
                "must be 1 to 100 characters, without control characters",
            ));
        }
        Ok(Identifier {
            kind: IdentifierType::anonymous_id(),
            value: value.to_owned(),
        })
    }

    /// Who the visitor is, given the channel's identity secret. A `user_id` is the
    /// claim when both it and an `email` are given; the hash is over the claim exactly
    /// as given, and only the claim it proves is linked.
    pub fn visitor(&self, identity_secret: &str, default_region: &str) -> Visitor {
        let claim = match (&self.user_id, &self.email) {
            (Some(user_id), _) if !user_id.trim().is_empty() => {
                Some((IdentifierType::user_id(), user_id))
            }
            (_, Some(email)) if !email.trim().is_empty() => Some((IdentifierType::email(), email)),
            _ => None,
        };
        let Some((kind, raw)) = claim else {
            return Visitor::Anonymous {
                refused_claim: false,
            };
        };
        let proved = self
            .identifier_hash
            .as_deref()
            .is_some_and(|hash| hash_matches(identity_secret, raw, hash));
        match Identifier::normalize(kind, raw, default_region) {
            Ok(identifier) if proved => Visitor::Verified(identifier),
            _ => Visitor::Anonymous {
                refused_claim: true,
            },
        }
    }
}

/// The hash a site computes for `identifier`: hex(HMAC-SHA256(secret, identifier)).
pub fn identifier_hash(secret: &str, identifier: &str) -> String {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(identifier.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `hash` is the identifier's hash under `secret`, compared in constant time.
fn hash_matches(secret: &str, identifier: &str, hash: &str) -> bool {
    let hash = hash.trim();
    if secret.is_empty() || hash.len() != 64 || !hash.is_ascii() {
        return false;
    }
    let Some(expected) = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hash[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(identifier.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// The key a verified visitor is stored under on a channel: one visitor per identity,
/// whichever device they chat from.
pub fn verified_key(identifier: &Identifier) -> String {
    format!("{}:{}", identifier.kind, identifier.value)
}

/// A message's id for the widget (`client_id`): 1 to 64 letters, digits, `-` or `_`.
pub fn check_client_id(client_id: &str) -> Result<&str, Invalid> {
    let valid = !client_id.is_empty()
        && client_id.len() <= 64
        && client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(client_id)
    } else {
        Err(Invalid::new(
            "client_id",
            "must be 1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// A visitor's message text, trimmed and checked.
pub fn check_content(content: &str) -> Result<&str, Invalid> {
    let content = content.trim();
    if content.is_empty() || content.chars().count() > MAX_CONTENT {
        return Err(Invalid::new(
            "content",
            format!("must be 1 to {MAX_CONTENT} characters"),
        ));
    }
    Ok(content)
}

/// How fast one connection may write: at most [`MAX_MESSAGES_PER_WINDOW`] messages
/// in each window of [`RATE_WINDOW_MILLIS`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageRate {
    window_start: i64,
    count: u32,
}

impl MessageRate {
    /// Whether one more message may be taken at `now` (Unix milliseconds); counts it.
    pub fn allow(&mut self, now: i64) -> bool {
        if now - self.window_start >= RATE_WINDOW_MILLIS || now < self.window_start {
            self.window_start = now;
            self.count = 0;
        }
        if self.count >= MAX_MESSAGES_PER_WINDOW {
            return false;
        }
        self.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(user_id: Option<&str>, email: Option<&str>, hash: Option<&str>) -> Hello {
        Hello {
            anonymous_id: "a1".into(),
            token: None,
            user_id: user_id.map(str::to_owned),
            email: email.map(str::to_owned),
            identifier_hash: hash.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_right_hash_proves_a_claim() {
        let secret = "s3cret";
        let hash = identifier_hash(secret, "user-42");
        assert_eq!(hash.len(), 64);
        let verified = hello(Some("user-42"), None, Some(&hash)).visitor(secret, "ES");
        assert_eq!(
            verified,
            Visitor::Verified(Identifier {
                kind: IdentifierType::user_id(),
                value: "user-42".into()
            })
        );
        let refused = Visitor::Anonymous {
            refused_claim: true,
        };
        assert_eq!(
            hello(Some("user-43"), None, Some(&hash)).visitor(secret, "ES"),
            refused
        );
        assert_eq!(
            hello(Some("user-42"), None, None).visitor(secret, "ES"),
            refused
        );
        assert_eq!(
            hello(Some("user-42"), None, Some(&hash)).visitor("other", "ES"),
            refused
        );
        assert_eq!(
            hello(Some("user-42"), None, Some("zz")).visitor(secret, "ES"),
            refused
        );
        assert_eq!(
            hello(None, None, None).visitor(secret, "ES"),
            Visitor::Anonymous {
                refused_claim: false
            }
        );
    }

    #[test]
    fn the_user_id_is_the_claim_and_an_email_is_hashed_as_given() {
        let secret = "k";
        let email_hash = identifier_hash(secret, "Ana@Example.com");
        // With a user id given, the hash must be the user id's.
        assert!(matches!(
            hello(Some("u1"), Some("Ana@Example.com"), Some(&email_hash)).visitor(secret, "ES"),
            Visitor::Anonymous { .. }
        ));
        assert_eq!(
            hello(
                None,
                Some("Ana@Example.com"),
                Some(&email_hash.to_uppercase())
            )
            .visitor(secret, "ES"),
            Visitor::Verified(Identifier {
                kind: IdentifierType::email(),
                value: "ana@example.com".into()
            })
        );
    }

    #[test]
    fn frames_are_read_strictly() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"typing"}"#),
            Ok(ClientFrame::Typing)
        );
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"message","client_id":"c1","content":"hola"}"#),
            Ok(ClientFrame::Message { .. })
        ));
        let error = ClientFrame::parse(r#"{"type":"shout"}"#).unwrap_err();
        assert_eq!(error.field, "frame");
        assert!(ClientFrame::parse(r#"{"type":"message","content":"x"}"#).is_err());
        assert!(ClientFrame::parse("not json").is_err());
        assert!(check_client_id("abc-1_2").is_ok());
        assert!(check_client_id("a b").is_err());
        assert!(check_client_id(&"x".repeat(65)).is_err());
        assert!(check_content("  ").is_err());
        assert_eq!(check_content(" hola "), Ok("hola"));
    }

    #[test]
    fn a_connection_writes_at_a_bounded_rate() {
        let mut rate = MessageRate::default();
        let start = 1_000_000;
        for _ in 0..MAX_MESSAGES_PER_WINDOW {
            assert!(rate.allow(start));
        }
        assert!(!rate.allow(start + 1));
        assert!(rate.allow(start + RATE_WINDOW_MILLIS));
    }
}
