//! Email addresses, normalised so the same person is found however they typed it.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

/// A trimmed, lower-cased address with one `@`, a local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalised = text.trim().to_lowercase();
        let invalid = |reason: &str| Invalid::new("email", reason);
        if normalised.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if normalised.len() > 254 {
            return Err(invalid("is longer than 254 characters"));
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return Err(invalid("must contain @"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(invalid("must look like name@example.com"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid("must have a domain such as example.com"));
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("must not contain spaces"));
        }
        Ok(Self(normalised))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let email: EmailAddress = "  Ana.Garcia@Example.COM ".parse().unwrap();
        assert_eq!(email.as_str(), "ana.garcia@example.com");
    }

    #[test]
    fn malformed_addresses_say_why() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
        ] {
            let err = bad.parse::<EmailAddress>().unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
    }
}
