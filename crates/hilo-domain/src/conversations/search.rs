//! Searching conversations by their text: what a person types, made into the words both
//! engines' full-text indexes match. A word is a run of letters and digits — the same
//! split SQLite's `unicode61` tokenizer and PostgreSQL's `simple` parser make — without
//! accents, as both indexes keep them ("donde" finds "dónde"), so a search can never be
//! read as query syntax; each word matches as a prefix, so a search finds results while
//! it is being typed.

use crate::Invalid;

/// Most words one search holds.
pub const MAX_WORDS: usize = 8;
/// Longest search text.
pub const MAX_TEXT: usize = 200;

/// The words of a search, lower-case, each once, in the order typed; a text too long or
/// with too many words is refused, naming `q`. A text with no letter or digit has no
/// words: it searches for nothing, as the customer search reads it.
pub fn words(text: &str) -> Result<Vec<String>, Invalid> {
    if text.chars().count() > MAX_TEXT {
        return Err(Invalid::new(
            "q",
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    let words = split(text);
    if words.len() > MAX_WORDS {
        return Err(Invalid::new(
            "q",
            format!("must hold at most {MAX_WORDS} words"),
        ));
    }
    Ok(words)
}

/// The words of a search box as a person typed it: at most the first eight, of the first
/// 200 characters; none when it holds no letter or digit.
pub fn typed_words(text: &str) -> Vec<String> {
    let text: String = text.chars().take(MAX_TEXT).collect();
    let mut words = split(&text);
    words.truncate(MAX_WORDS);
    words
}

fn split(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word: String = word.to_lowercase().chars().map(fold).collect();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// Whether `text` holds every word, each as the beginning of one of its words: the
/// indexes' match, checked here over a few thousand messages.
pub fn holds(words: &[String], text: &str) -> bool {
    let own = split(text);
    words
        .iter()
        .all(|word| own.iter().any(|w| w.starts_with(word.as_str())))
}

/// A letter without its accent, as both engines' indexes keep it (SQLite's
/// `remove_diacritics`, PostgreSQL's `hilo_fold`, migration 0033).
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        other => other,
    }
}

/// The words as an SQLite FTS5 query: every word, each as a quoted prefix.
pub fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The words as a PostgreSQL `tsquery`: every word, each as a prefix.
pub fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{w}':*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn words_are_letters_and_digits_lower_cased_once() {
        assert_eq!(
            words("  Pedido #4521: ¿dónde está? pedido").unwrap(),
            ["pedido", "4521", "donde", "esta"]
        );
        assert_eq!(words("\"; DROP TABLE --").unwrap(), ["drop", "table"]);
        assert!(words("*** ' \"").unwrap().is_empty());
        let many: Vec<String> = (0..=MAX_WORDS).map(|i| format!("w{i}")).collect();
        assert_eq!(words(&many.join(" ")).unwrap_err().field, "q");
        assert!(words(&"word ".repeat(50)).is_err());
        assert_eq!(typed_words(&many.join(" ")).len(), MAX_WORDS);
        assert!(typed_words("¿?").is_empty());
    }

    #[test]
    fn a_text_holds_words_as_the_indexes_match_them() {
        let text = "¿Dónde está mi pedido 4521? Las zapatillas";
        assert!(holds(&words("donde zapa").unwrap(), text));
        assert!(holds(&words("PEDIDO 452").unwrap(), text));
        assert!(
            !holds(&words("illas").unwrap(), text),
            "a prefix, not any part"
        );
        assert!(!holds(&words("pedido talla").unwrap(), text), "every word");
    }

    #[test]
    fn queries_quote_every_word_as_a_prefix() {
        let w = words("talla Zapatos").unwrap();
        assert_eq!(fts5_query(&w), "\"talla\"* AND \"zapatos\"*");
        assert_eq!(tsquery(&w), "'talla':* & 'zapatos':*");
    }

    proptest! {
        /// Whatever is typed, the query holds only the words, quoted: nothing of the
        /// engines' query syntax gets through.
        #[test]
        fn no_syntax_gets_through(text in "\\PC{0,60}") {
            if let Ok(words) = words(&text) {
                for word in &words {
                    prop_assert!(word.chars().all(char::is_alphanumeric));
                }
                let query = fts5_query(&words);
                prop_assert_eq!(query.matches('"').count(), words.len() * 2);
            }
        }
    }
}
