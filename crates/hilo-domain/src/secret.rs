//! Secrets Hilo hands out (API keys, write keys, session tokens): how they are made,
//! how they are stored (as a SHA-256 digest, never in clear) and how they are kept out
//! of logs.

use std::fmt;

use sha2::{Digest, Sha256};

/// A value that must never be printed by accident: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must show or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in place of the secret. Secrets Hilo issues carry 192 random bits,
    /// so a fast hash is enough: there is nothing to brute-force.
    pub fn digest(&self) -> String {
        digest_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The kinds of secret Hilo issues; the prefix tells them apart at a glance and lets
/// authentication look in the right table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A secret API key with a role.
    ApiKey,
    /// A source's write key, for the collection API.
    WriteKey,
    /// A console session or CSRF token.
    Session,
    /// The token a web chat widget resumes an anonymous visitor with.
    ChatVisitor,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "hilo_sk_",
            Self::WriteKey => "hilo_wk_",
            Self::Session => "",
            Self::ChatVisitor => "hilo_cv_",
        }
    }

    /// A fresh secret of this kind from the operating system's random source.
    pub fn generate(self) -> Result<Secret, getrandom::Error> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes)?;
        Ok(Secret(format!("{}{}", self.prefix(), hex(&bytes))))
    }

    /// The kind a presented secret claims to be, from its prefix. Keys preset by an
    /// operator may have no prefix and count as API keys.
    pub fn of(secret: &str) -> Self {
        if secret.starts_with(Self::WriteKey.prefix()) {
            Self::WriteKey
        } else {
            Self::ApiKey
        }
    }
}

/// The first characters of a secret, safe to list so people can tell keys apart.
pub fn display_prefix(secret: &Secret) -> String {
    secret.expose().chars().take(12).collect()
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn digest_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hilo_sk_abc");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
    }

    #[test]
    fn generated_secrets_are_prefixed_unique_and_recognised() {
        let a = SecretKind::WriteKey.generate().unwrap();
        let b = SecretKind::WriteKey.generate().unwrap();
        assert!(a.expose().starts_with("hilo_wk_"));
        assert_eq!(a.expose().len(), 8 + 48);
        assert_ne!(a, b);
        assert_eq!(SecretKind::of(a.expose()), SecretKind::WriteKey);
        assert_eq!(SecretKind::of("preset-by-operator"), SecretKind::ApiKey);
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
