//! Finding an erased person inside other customers' records: a referral, a gift
//! recipient, a shared device. Every JSON string that is one of their identifiers
//! becomes `"[erased]"`; emails and phone numbers are found in any spelling and inside
//! longer text too. Other identifiers (user ids, device ids, cards) are matched whole, so
//! `kiosk-7` never eats into `kiosk-70`.

use serde_json::Value;

use crate::customers::identity::{Identifier, IdentifierType, national_number, normalize_phone};

/// What an erased value is replaced with.
pub const ERASED: &str = "[erased]";

/// The identifiers to cut out, prepared for matching.
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    /// Whole values, ASCII-lowercased and trimmed.
    whole: Vec<String>,
    /// Emails, lowercased.
    emails: Vec<String>,
    /// Phones in E.164, and their national digits.
    phones: Vec<(String, String)>,
    region: String,
}

/// Fewest digits a run of text needs to be read as a phone number.
const PHONE_DIGITS: usize = 7;

impl Redaction {
    pub fn new(identifiers: &[Identifier], default_region: &str) -> Self {
        let mut redaction = Self {
            region: default_region.to_owned(),
            ..Self::default()
        };
        for identifier in identifiers {
            let value = identifier.value.trim().to_ascii_lowercase();
            if value.is_empty() {
                continue;
            }
            match identifier.kind.as_str() {
                IdentifierType::EMAIL => redaction.emails.push(value.clone()),
                IdentifierType::PHONE => {
                    let national = national_number(&identifier.value).unwrap_or_default();
                    if national.len() >= PHONE_DIGITS {
                        redaction.phones.push((identifier.value.clone(), national));
                    }
                }
                _ => {}
            }
            redaction.whole.push(value);
        }
        redaction
    }

    pub fn is_empty(&self) -> bool {
        self.whole.is_empty()
    }

    /// What every text holding one of the identifiers contains, lowercased: for each
    /// identifier, pieces that appear in this order (a phone's national digits one by
    /// one, since any separators may sit between them). A cheap first pass for the
    /// store (a `LIKE` per entry) before [`Redaction::apply`] decides.
    pub fn fragments(&self) -> Vec<Vec<String>> {
        let mut fragments: Vec<Vec<String>> = self
            .whole
            .iter()
            .filter(|value| {
                !self
                    .phones
                    .iter()
                    .any(|(e164, _)| e164.eq_ignore_ascii_case(value))
            })
            .map(|value| vec![value.clone()])
            .collect();
        for (_, national) in &self.phones {
            fragments.push(national.chars().map(String::from).collect());
        }
        fragments
    }

    /// Cuts the identifiers out of every string in `value`; whether anything changed.
    pub fn apply(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => match self.redact_text(text) {
                Some(redacted) => {
                    *text = redacted;
                    true
                }
                None => false,
            },
            // Every item is visited: no short circuit.
            Value::Array(items) => items
                .iter_mut()
                .map(|item| self.apply(item))
                .fold(false, |a, b| a | b),
            Value::Object(map) => map
                .values_mut()
                .map(|item| self.apply(item))
                .fold(false, |a, b| a | b),
            _ => false,
        }
    }

    /// The text with the identifiers cut out, or `None` when it holds none.
    fn redact_text(&self, text: &str) -> Option<String> {
        let folded = text.trim().to_ascii_lowercase();
        if self.whole.contains(&folded) {
            return Some(ERASED.to_owned());
        }
        let mut out = text.to_owned();
        let mut changed = false;
        for email in &self.emails {
            if let Some(cut) = cut_email(&out, email) {
                out = cut;
                changed = true;
            }
        }
        if !self.phones.is_empty()
            && let Some(cut) = self.cut_phones(&out)
        {
            out = cut;
            changed = true;
        }
        changed.then_some(out)
    }

    /// Replaces each run of phone characters (digits, spaces, `+-().`) that reads as
    /// one of the phones.
    fn cut_phones(&self, text: &str) -> Option<String> {
        let is_phone_char = |c: char| c.is_ascii_digit() || " +-().\u{a0}/".contains(c);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut at = 0;
        while let Some(c) = text[at..].chars().next() {
            if !(c.is_ascii_digit() || c == '+' || c == '(') {
                at += c.len_utf8();
                continue;
            }
            let end = text[at..]
                .find(|c: char| !is_phone_char(c))
                .map_or(text.len(), |len| at + len);
            let run = text[at..end].trim_end_matches(|c: char| !c.is_ascii_digit());
            let digits = run.chars().filter(char::is_ascii_digit).count();
            if digits >= PHONE_DIGITS
                && normalize_phone(run, &self.region)
                    .is_ok_and(|e164| self.phones.iter().any(|(phone, _)| *phone == e164))
            {
                out.push_str(&text[copied..at]);
                out.push_str(ERASED);
                copied = at + run.len();
            }
            at = end.max(at + c.len_utf8());
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }
}

/// `text` with every occurrence of `email` (ASCII case-insensitive, not part of a longer
/// address) replaced, or `None` when there is none.
fn cut_email(text: &str, email: &str) -> Option<String> {
    let is_address_char = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let bytes = text.as_bytes();
    let needle = email.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    let mut at = 0;
    let mut changed = false;
    while at + needle.len() <= bytes.len() {
        let window = &bytes[at..at + needle.len()];
        let before_ok = at == 0 || !is_address_char(bytes[at - 1]);
        let after = bytes.get(at + needle.len()).copied();
        let after_ok = after.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if window.eq_ignore_ascii_case(needle) && before_ok && after_ok {
            out.push_str(&text[from..at]);
            out.push_str(ERASED);
            at += needle.len();
            from = at;
            changed = true;
        } else {
            at += 1;
        }
    }
    out.push_str(&text[from..]);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ana() -> Redaction {
        let ids = [
            ("email", "ana.secreta@example.com"),
            ("phone", "+34611222333"),
            ("user_id", "ana-user-1"),
            ("anonymous_id", "kiosk-7"),
        ]
        .map(|(kind, value)| Identifier::normalize(kind.parse().unwrap(), value, "ES").unwrap());
        Redaction::new(&ids, "ES")
    }

    #[test]
    fn identifiers_go_wherever_they_sit_and_nothing_else() {
        let mut value = json!({
            "referral": "Ana.Secreta@Example.com",
            "note": "gift for ana.secreta@example.com, call 611 22 23 33 or +34 (611) 222-333.",
            "list": [{"deep": ["ana-user-1", "kiosk-70", "kiosk-7 "]}],
            "phone": "611222333",
            "others": "bob@example.com, 611 999 888, ana.secreta@example.community",
            "n": 611222333
        });
        assert!(ana().apply(&mut value));
        assert_eq!(
            value,
            json!({
                "referral": ERASED,
                "note": "gift for [erased], call [erased] or [erased].",
                "list": [{"deep": [ERASED, "kiosk-70", ERASED]}],
                "phone": ERASED,
                "others": "bob@example.com, 611 999 888, ana.secreta@example.community",
                "n": 611222333
            })
        );
        let mut untouched = json!({"a": "nothing here", "b": ["kiosk-70"]});
        assert!(!ana().apply(&mut untouched));
    }

    #[test]
    fn fragments_find_every_spelling_the_apply_step_redacts() {
        let fragments = ana().fragments();
        let one = |text: &str| vec![text.to_owned()];
        assert!(fragments.contains(&one("ana.secreta@example.com")));
        assert!(fragments.contains(&one("kiosk-7")));
        let digits: Vec<String> = "611222333".chars().map(String::from).collect();
        assert!(fragments.contains(&digits));
        assert!(
            !fragments
                .iter()
                .flatten()
                .any(|piece| piece.contains("+34"))
        );
        // Each entry's pieces, in order, are in the text a message carries.
        let holds = |text: &str, pieces: &[String]| {
            let mut rest = text;
            pieces.iter().all(|piece| match rest.find(piece.as_str()) {
                Some(at) => {
                    rest = &rest[at + piece.len()..];
                    true
                }
                None => false,
            })
        };
        let text = r#"{"note":"call +34 (611) 222-333"}"#.to_lowercase();
        assert!(fragments.iter().any(|pieces| holds(&text, pieces)));
    }
}
