//! Secrets Hilo must use again later — a provider's auth token, a mailbox password —
//! kept sealed at rest: AES-256-GCM under a key the operator holds (`HILO_SECRET_KEY`)
//! or one generated into the data directory, never in the database beside them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// What a sealed value starts with: the format's version, so the scheme can change.
const PREFIX: &str = "sealed:v1:";
/// Shortest key text an operator may set: 256 bits written in base64 are 43 characters.
pub const MIN_KEY_TEXT: usize = 32;

/// The key that seals and opens credentials.
#[derive(Clone)]
pub struct SealingKey {
    key: [u8; 32],
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsealable {
    #[error("the value is not in the sealed format")]
    Format,
    /// Sealed under another key, or altered.
    #[error("the value does not open with this node's secret key (HILO_SECRET_KEY)")]
    WrongKey,
}

impl SealingKey {
    /// The key an operator's text stands for: its SHA-256 under a label, so any long
    /// random text (base64, hex, a passphrase of 32+ characters) works.
    pub fn from_text(text: &str) -> Result<Self, crate::Invalid> {
        let text = text.trim();
        if text.chars().count() < MIN_KEY_TEXT {
            return Err(crate::Invalid::new(
                "secret_key",
                format!("must have at least {MIN_KEY_TEXT} characters"),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(b"hilo sealing key v1\0");
        hasher.update(text.as_bytes());
        Ok(Self {
            key: hasher.finalize().into(),
        })
    }

    /// New key text from the operating system's random source (256 bits, base64).
    pub fn generate_text() -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A short public fingerprint of the key: nodes compare it with the one stored at
    /// first start, so a node with another key refuses to start instead of failing to
    /// open every credential.
    pub fn fingerprint(&self) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"hilo key fingerprint");
        let digest = mac.finalize().into_bytes();
        crate::secret::digest_hex(&digest)[..16].to_owned()
    }

    /// A digest of `text` under this key, for `purpose`: what is kept of a short code
    /// (a pickup code), which a plain hash would not protect from being guessed
    /// offline from a copy of the database.
    pub fn keyed_digest(&self, purpose: &str, text: &str) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(text.as_bytes());
        crate::secret::digest_hex(&mac.finalize().into_bytes())
    }

    fn aead(&self) -> LessSafeKey {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.key)
            .unwrap_or_else(|_| unreachable!("the key has AES-256's length"));
        LessSafeKey::new(unbound)
    }

    /// Seals `plain`; every call draws a fresh nonce, so equal values seal differently.
    pub fn seal(&self, plain: &str) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let mut data = plain.as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX),
                &mut data,
            )
            .unwrap_or_else(|_| unreachable!("AES-GCM seals any length Hilo stores"));
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, Unsealable> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(Unsealable::Format)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| Unsealable::Format)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable::Format);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable::Format)?;
        let mut data = sealed.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(PREFIX), &mut data)
            .map_err(|_| Unsealable::WrongKey)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unsealable::Format)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

/// How a stored credential is shown: its last four characters, so an admin can tell
/// which one is set without anyone reading it back.
pub fn masked(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= 8 {
        return "••••".to_owned();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("••••{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> SealingKey {
        SealingKey::from_text(text).unwrap()
    }

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let a = key("a-very-long-operator-secret-key-text-1");
        let b = key("a-very-long-operator-secret-key-text-2");
        let sealed = a.seal("auth-token-123").unwrap();
        assert!(sealed.starts_with("sealed:v1:"));
        assert!(!sealed.contains("auth-token"));
        assert_eq!(a.open(&sealed).unwrap(), "auth-token-123");
        assert_eq!(b.open(&sealed), Err(Unsealable::WrongKey));
        assert_ne!(a.seal("auth-token-123").unwrap(), sealed, "fresh nonce");
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn altered_or_foreign_values_do_not_open() {
        let a = key(&SealingKey::generate_text().unwrap());
        let sealed = a.seal("x").unwrap();
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(a.open(&altered).is_err());
        assert_eq!(a.open("plain"), Err(Unsealable::Format));
        assert_eq!(a.open("sealed:v1:!!"), Err(Unsealable::Format));
        assert_eq!(a.open("sealed:v1:AAAA"), Err(Unsealable::Format));
    }

    #[test]
    fn short_keys_are_refused_and_masks_show_four() {
        assert!(SealingKey::from_text("short").is_err());
        assert_eq!(masked("0123456789abcdef"), "••••cdef");
        assert_eq!(masked("short"), "••••");
    }
}
