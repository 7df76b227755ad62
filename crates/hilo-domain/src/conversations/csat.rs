//! Customer satisfaction (CSAT): when a conversation is resolved the customer is asked
//! to rate it from 1 to 5 on the channel they wrote on; an answer that is just a rating
//! within three days is the conversation's rating, kept on the customer's timeline.

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// How long after the question an answer counts as a rating.
pub const ANSWER_WITHIN_MILLIS: i64 = 72 * 3_600_000;

/// The question when the settings give none, in both languages.
pub const DEFAULT_QUESTION: &str = "¿Qué tal te hemos atendido? Responde con un número del 1 \
    (mal) al 5 (muy bien). / How did we do? Reply with a number from 1 (poor) to 5 (great).";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsatSettings {
    pub enabled: bool,
    /// The question sent; the default when `None`.
    #[serde(default)]
    pub question: Option<String>,
}

impl CsatSettings {
    pub fn check(mut self) -> Result<Self, Invalid> {
        if let Some(question) = &self.question {
            let question = question.trim();
            if question.is_empty() || question.chars().count() > 1_000 {
                return Err(Invalid::new("question", "must be 1 to 1000 characters"));
            }
            self.question = Some(question.to_owned());
        }
        Ok(self)
    }

    pub fn question(&self) -> &str {
        self.question.as_deref().unwrap_or(DEFAULT_QUESTION)
    }
}

/// The rating a message is, if it is only a rating: `4`, `4/5`, `5 estrellas`, `⭐⭐⭐`.
pub fn rating_in(text: &str) -> Option<u8> {
    let text = text.trim().trim_end_matches(['.', '!']).trim();
    let stars = text.chars().filter(|c| *c == '⭐').count();
    if stars > 0 && text.chars().all(|c| c == '⭐' || c.is_whitespace()) {
        return u8::try_from(stars).ok().filter(|s| (1..=5).contains(s));
    }
    let lower = text.to_lowercase();
    let rest = ["/5", "de 5", "estrellas", "estrella", "stars", "star"]
        .iter()
        .find_map(|suffix| lower.strip_suffix(suffix))
        .unwrap_or(&lower)
        .trim();
    match rest {
        "1" | "2" | "3" | "4" | "5" => rest.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_rating_is_a_rating() {
        for (text, rating) in [
            ("5", Some(5)),
            (" 4/5 ", Some(4)),
            ("3 estrellas", Some(3)),
            ("⭐⭐", Some(2)),
            ("1.", Some(1)),
            ("6", None),
            ("0", None),
            ("5 minutos más tarde llegó", None),
            ("Tengo 2 preguntas", None),
            ("", None),
        ] {
            assert_eq!(rating_in(text), rating, "{text:?}");
        }
    }
}
