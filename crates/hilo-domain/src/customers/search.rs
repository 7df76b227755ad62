//! Customer search: the words a profile is found by, and what a query asks for.
//!
//! Both engines index the same words, made here: what the profile shows (identifier
//! values and trait values), lower-cased, with Latin accents folded ("José" is `jose`)
//! and split at every character that is not a letter or a digit. A phone is also found
//! by its digits with and without the country code. A query is split the same way and
//! finds the profiles holding each of its words, the last one by prefix, as it is being
//! typed ("jose garc" finds José García); the engine's full-text index answers it (FTS5 on SQLite, a GIN
//! index on a `tsvector` on PostgreSQL), so a search never scans the profiles.
//!
//! A written value of a few words (a name, an address) is also indexed under each pair
//! of neighbouring words, joined by [`PAIR_JOINER`], the last word with the first
//! included: "José García López" under `jose_garcia`, `garcia_lopez` and `lopez_jose`.
//! A query of several words then first finds the profiles where the words are written
//! together as typed, through one short list per pair, instead of intersecting the
//! long lists of common first names and surnames (a whole name took 1.5–6 ms of index
//! at a million profiles, its pairs a few hundredths); the profiles holding the words
//! apart come after them (see [`SearchTier`]).

use std::collections::BTreeSet;

use super::identity::national_number;

/// Longest word kept; longer ones are cut (a query word is cut the same way).
pub const MAX_WORD_CHARS: usize = 64;
/// Most words a profile is indexed under; past it, later trait values are left out.
pub const MAX_DOCUMENT_WORDS: usize = 512;
/// Most words a query uses; more narrow nothing a person types.
pub const MAX_QUERY_WORDS: usize = 8;
/// Joins two neighbouring words into the word of their pair. Never part of a word
/// (words hold only letters and digits).
pub const PAIR_JOINER: char = '_';
/// Most words a written value may have to be indexed by pairs too: a name or an
/// address, not a paragraph.
pub const MAX_PAIRED_WORDS: usize = 6;

/// Lower case with Latin diacritics removed: `Ñúñez` is `nunez`, `Straße` is `strasse`.
/// Characters outside the Latin letters are kept as lower case; combining marks are
/// dropped, so decomposed and precomposed spellings fold alike.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Some(folded) => out.push_str(folded),
            None if ('\u{0300}'..='\u{036f}').contains(&c) => {}
            None => out.push(c),
        }
    }
    out
}

/// The plain letters of a lower-case accented Latin letter.
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// The words of a text, folded, in order (repeats kept).
pub fn words(text: &str) -> impl Iterator<Item = String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| word.chars().take(MAX_WORD_CHARS).collect::<String>())
        .collect::<Vec<_>>()
        .into_iter()
}

/// The words a profile is found by, from its identifiers (`(type, value)`) and the
/// values of its traits, each once, identifiers first.
pub fn document_words<'a>(
    identifiers: impl IntoIterator<Item = (&'a str, &'a str)>,
    trait_values: impl IntoIterator<Item = &'a serde_json::Value>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |word: String, out: &mut Vec<String>| {
        if out.len() < MAX_DOCUMENT_WORDS && seen.insert(word.clone()) {
            out.push(word);
        }
    };
    for (kind, value) in identifiers {
        for word in words(value) {
            add(word, &mut out);
        }
        if kind == "phone" {
            // Found by its digits as typed with or without the country code.
            add(value.trim_start_matches('+').to_owned(), &mut out);
            if let Some(national) = national_number(value) {
                add(national, &mut out);
            }
        }
    }
    let mut pairs = Vec::new();
    for value in trait_values {
        scalar_words(value, &mut |word| add(word, &mut out), &mut pairs);
    }
    for pair in pairs {
        add(pair, &mut out);
    }
    out
}

/// The pairs a written value is found by: each word with the next and the last with
/// the first, for a value of 2 to [`MAX_PAIRED_WORDS`] words written with spaces, both
/// words of a pair holding a letter. Emails, ids and numbers are single words only.
pub fn written_pairs(text: &str) -> Vec<String> {
    let Some(words) = pairable_words(text) else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for n in 0..words.len() {
        let (first, second) = (&words[n], &words[(n + 1) % words.len()]);
        // For two words the wrap-around is the pair the other way round.
        if has_letter(first) && has_letter(second) {
            pairs.push(pair_word(first, second));
        }
    }
    pairs
}

/// The words of a text that pairs: written with spaces, of 2 to [`MAX_PAIRED_WORDS`]
/// words.
fn pairable_words(text: &str) -> Option<Vec<String>> {
    if !text.chars().any(char::is_whitespace) {
        return None;
    }
    let words: Vec<String> = words(text).collect();
    (2..=MAX_PAIRED_WORDS)
        .contains(&words.len())
        .then_some(words)
}

/// Whether a word may be half of a pair.
fn has_letter(word: &str) -> bool {
    word.chars().any(char::is_alphabetic)
}

/// The word of a pair: `jose_garcia`.
fn pair_word(first: &str, second: &str) -> String {
    format!("{first}{PAIR_JOINER}{second}")
}

/// The words of a trait's value: text and numbers, and those inside lists and objects
/// (never the names of an object's keys). The pairs of written text go to `pairs`, to
/// come after every single word.
fn scalar_words(value: &serde_json::Value, add: &mut impl FnMut(String), pairs: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            words(text).for_each(&mut *add);
            pairs.extend(written_pairs(text));
        }
        Value::Number(number) => words(&number.to_string()).for_each(&mut *add),
        Value::Array(items) => items.iter().for_each(|item| scalar_words(item, add, pairs)),
        Value::Object(map) => map.values().for_each(|item| scalar_words(item, add, pairs)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    pub text: String,
    /// Matches every word that starts with `text`: the last word only, the one being
    /// typed (the words before it are finished). A word read as a prefix costs the
    /// index every word it starts ("example" in an email starts a fifth of all
    /// profiles), so finished words are read whole. A single character is read whole
    /// too: as a prefix it would match a good part of every profile.
    pub prefix: bool,
}

/// What a search asks for: profiles holding every word, the last one by prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub words: Vec<QueryWord>,
    /// What the query asks for in [`SearchTier::Written`]: the pairs of its neighbouring
    /// words (the pair with the last word by prefix) and the words in no pair. Empty
    /// when the query has no pair.
    pub pairs: Vec<QueryWord>,
}

/// The parts of a search's results, in the order they are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchTier {
    /// The profiles where the query's neighbouring words are written together, as
    /// typed, in one value: "jose garc" finds José García here.
    Written,
    /// The profiles holding every word of the query otherwise: after the first part,
    /// or every match for a query without pairs (one word, an email, a phone).
    Anywhere,
}

impl SearchQuery {
    /// The query in `text`; `None` when it holds no letter or digit. A text of digits
    /// and phone punctuation (`+34 666-12 34`) is one word of its digits, as a phone
    /// number is indexed.
    pub fn parse(text: &str) -> Option<Self> {
        let phone_like = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let (words, pairs): (Vec<String>, Vec<QueryWord>) = if phone_like && digits.len() >= 3 {
            (
                vec![digits.chars().take(MAX_WORD_CHARS).collect()],
                Vec::new(),
            )
        } else {
            let mut seen = BTreeSet::new();
            let words = words(text)
                .filter(|word| seen.insert(word.clone()))
                .take(MAX_QUERY_WORDS)
                .collect();
            (words, query_pairs(text))
        };
        if words.is_empty() {
            return None;
        }
        let last = words.len() - 1;
        Some(Self {
            words: words
                .into_iter()
                .enumerate()
                .map(|(n, text)| QueryWord {
                    prefix: n == last && text.chars().count() > 1,
                    text,
                })
                .collect(),
            pairs,
        })
    }

    /// The parts of this query's results, in order.
    pub fn tiers(&self) -> &'static [SearchTier] {
        if self.pairs.is_empty() {
            &[SearchTier::Anywhere]
        } else {
            &[SearchTier::Written, SearchTier::Anywhere]
        }
    }

    /// Whether the query may match a good part of all profiles: a single word without
    /// digits, as the first keystrokes of a name are. Names with surnames, emails,
    /// phones and ids are narrow.
    pub fn is_broad(&self) -> bool {
        self.words.len() == 1 && !self.words[0].text.chars().any(|c| c.is_ascii_digit())
    }

    /// One part of the query in FTS5's syntax: each word quoted (words hold only
    /// letters, digits and the pair joiner), `*` for a prefix, all of them required.
    pub fn to_fts5(&self, tier: SearchTier) -> String {
        let all = |words: &[QueryWord]| {
            words
                .iter()
                .map(|word| format!("\"{}\"{}", word.text, if word.prefix { "*" } else { "" }))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        match tier {
            SearchTier::Written => all(&self.pairs),
            SearchTier::Anywhere if self.pairs.is_empty() => all(&self.words),
            SearchTier::Anywhere => format!("({}) NOT ({})", all(&self.words), all(&self.pairs)),
        }
    }

    /// The pairs [`SearchTier::Written`] asks for, as ranges of keys of PostgreSQL's
    /// list of pairs (migration 0029), compared byte by byte: `(from, to)` holds every
    /// pair `p` with `from <= p < to`. A finished pair is itself alone (nothing lies
    /// between a text and the same text followed by U+0001), the pair being typed every
    /// pair it starts (U+10FFFF sorts after any character a word holds). Empty for a
    /// query without pairs.
    pub fn pair_ranges(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|term| term.text.contains(PAIR_JOINER))
            .map(|term| {
                let end = if term.prefix { '\u{10FFFF}' } else { '\u{1}' };
                (term.text.clone(), format!("{}{end}", term.text))
            })
            .collect()
    }

    /// The words of [`SearchTier::Written`] in no pair ("jose garcia 612" has `612`), as
    /// `tsquery` text; `None` when every word is in a pair.
    pub fn unpaired_tsquery(&self) -> Option<String> {
        let unpaired: Vec<QueryWord> = self
            .pairs
            .iter()
            .filter(|term| !term.text.contains(PAIR_JOINER))
            .cloned()
            .collect();
        (!unpaired.is_empty()).then(|| tsquery_of(&unpaired))
    }

    /// One part of the query as PostgreSQL's `tsquery` text: `'jose' & 'garc~'`. A
    /// prefix is read as the prefix lexeme [`to_tsvector`] stores, an exact entry of
    /// the index; past [`MAX_PREFIX_LEXEME`] characters, the longest stored prefix and
    /// the word as a `:*` prefix, which then matches few entries.
    pub fn to_tsquery(&self, tier: SearchTier) -> String {
        let all = tsquery_of;
        match tier {
            SearchTier::Written => all(&self.pairs),
            SearchTier::Anywhere if self.pairs.is_empty() => all(&self.words),
            SearchTier::Anywhere => format!("{} & !({})", all(&self.words), all(&self.pairs)),
        }
    }
}

/// Words all required, as `tsquery` text (see [`SearchQuery::to_tsquery`]).
fn tsquery_of(words: &[QueryWord]) -> String {
    words
        .iter()
        .map(|word| {
            if !word.prefix {
                return format!("'{}'", word.text);
            }
            let head: String = word.text.chars().take(MAX_PREFIX_LEXEME).collect();
            if head.len() == word.text.len() {
                format!("'{head}~'")
            } else {
                format!("'{head}~' & '{}':*", word.text)
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Where a search's next page starts: the part of the results and the last document
/// listed. Written as the document's number, with `r` before it in the second part of a
/// query that has two (`r0` is that part's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    pub tier: SearchTier,
    pub after: i64,
}

impl SearchCursor {
    /// The first page of `query`.
    pub fn start(query: &SearchQuery) -> Self {
        Self {
            tier: query.tiers()[0],
            after: 0,
        }
    }

    /// The start of `tier`.
    pub fn start_of(tier: SearchTier) -> Self {
        Self { tier, after: 0 }
    }

    /// A cursor of `query` as [`SearchCursor::to_text`] wrote it.
    pub fn parse(text: &str, query: &SearchQuery) -> Option<Self> {
        let (tier, number) = match text.strip_prefix('r') {
            Some(number) => (SearchTier::Anywhere, number),
            None => (query.tiers()[0], text),
        };
        let after = number.parse::<i64>().ok().filter(|after| *after >= 0)?;
        Some(Self { tier, after })
    }

    pub fn to_text(self, query: &SearchQuery) -> String {
        if self.tier == query.tiers()[0] {
            self.after.to_string()
        } else {
            format!("r{}", self.after)
        }
    }
}

/// What a query asks for where its words are written together: the pairs of its
/// neighbouring words, for a query of 2 to [`MAX_PAIRED_WORDS`] words written with
/// spaces (as [`written_pairs`] indexes values), and the words in no pair; the last
/// one by prefix, even a single character ("jose g" is `jose_g*`). Empty when no two
/// neighbours pair.
fn query_pairs(text: &str) -> Vec<QueryWord> {
    let Some(words) = pairable_words(text) else {
        return Vec::new();
    };
    let last = words.len() - 1;
    let mut paired = vec![false; words.len()];
    let mut terms: Vec<QueryWord> = Vec::new();
    for n in 0..last {
        if has_letter(&words[n]) && has_letter(&words[n + 1]) {
            paired[n] = true;
            paired[n + 1] = true;
            // Whole, even past the longest indexed prefix: cut shorter, the pair would
            // no longer hold the whole word being typed ("garcia_lop" matches Lopera
            // for "garcía lópez"), and a profile lacking a word could be listed.
            terms.push(QueryWord {
                text: pair_word(&words[n], &words[n + 1]),
                prefix: n + 1 == last,
            });
        }
    }
    if terms.is_empty() {
        return Vec::new();
    }
    for (n, word) in words.iter().enumerate() {
        if !paired[n] {
            terms.push(QueryWord {
                text: word.clone(),
                prefix: n == last && word.chars().count() > 1,
            });
        }
    }
    let mut seen = BTreeSet::new();
    terms.retain(|term| seen.insert(term.text.clone()));
    terms
}

/// Longest prefix stored as a lexeme of its own on PostgreSQL (SQLite's prefix
/// indexes, migration 0014, go as far).
pub const MAX_PREFIX_LEXEME: usize = 10;

/// A profile's words as PostgreSQL's `tsvector` text: each word quoted, and each of its
/// prefixes of 2 to [`MAX_PREFIX_LEXEME`] characters (itself included) as a lexeme
/// ending in `~` (words hold only letters and digits, so none can be mistaken for one).
/// A GIN index finds an exact lexeme by skipping through its list; a `:*` prefix
/// instead gathers every entry it starts, which for the start of "example" or "com" is
/// most of the index.
pub fn to_tsvector(words: &[String]) -> String {
    let mut lexemes: BTreeSet<String> = BTreeSet::new();
    for word in words {
        lexemes.insert(format!("'{word}'"));
        let mut prefix = String::new();
        for (n, c) in word.chars().take(MAX_PREFIX_LEXEME).enumerate() {
            prefix.push(c);
            if n >= 1 {
                lexemes.insert(format!("'{prefix}~'"));
            }
        }
    }
    lexemes.into_iter().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accents_and_case_fold_in_both_spellings() {
        assert_eq!(fold("José ÁLVAREZ Ñúñez"), "jose alvarez nunez");
        assert_eq!(fold("Straße Œuvre Łódź"), "strasse oeuvre lodz");
        // "e" followed by a combining acute accent.
        assert_eq!(fold("Jose\u{301}"), "jose");
        assert_eq!(fold("Дмитрий"), "дмитрий");
    }

    #[test]
    fn a_profile_is_found_by_its_identifiers_and_trait_values_only() {
        let words = document_words(
            [
                ("email", "jose.garcia@example.com"),
                ("phone", "+34666123456"),
                ("user_id", "U-77"),
            ],
            [
                &json!("José García"),
                &json!(42),
                &json!({"city": "Cádiz"}),
                &json!(["Oro"]),
                &json!(true),
            ],
        );
        for expected in [
            "jose",
            "garcia",
            "example",
            "com",
            "34666123456",
            "666123456",
            "u",
            "77",
            "42",
            "cadiz",
            "oro",
        ] {
            assert!(
                words.contains(&expected.to_owned()),
                "{expected} in {words:?}"
            );
        }
        // Object keys and booleans are not what a profile shows as text.
        assert!(!words.contains(&"city".to_owned()));
        assert!(!words.contains(&"true".to_owned()));
        // Each word once.
        assert_eq!(
            words.len(),
            words.iter().collect::<BTreeSet<_>>().len(),
            "{words:?}"
        );
    }

    #[test]
    fn documents_and_words_are_bounded() {
        let long = "x".repeat(500);
        let words = document_words([("user_id", long.as_str())], []);
        assert_eq!(words[0].chars().count(), MAX_WORD_CHARS);
        let many: Vec<serde_json::Value> = (0..2000).map(|n| json!(format!("w{n}"))).collect();
        assert_eq!(document_words([], &many).len(), MAX_DOCUMENT_WORDS);
    }

    #[test]
    fn queries_split_like_documents_and_match_by_prefix() {
        let query = SearchQuery::parse("  José  GARC ").unwrap_or_else(|| panic!("a query"));
        assert_eq!(
            query.to_fts5(SearchTier::Anywhere),
            r#"("jose" AND "garc"*) NOT ("jose_garc"*)"#
        );
        assert_eq!(
            query.to_tsquery(SearchTier::Anywhere),
            "'jose' & 'garc~' & !('jose_garc~')"
        );
        let initial = SearchQuery::parse("garcía j").unwrap_or_else(|| panic!("a query"));
        assert_eq!(
            initial.to_tsquery(SearchTier::Anywhere),
            "'garcia' & 'j' & !('garcia_j~')"
        );
        let email = SearchQuery::parse("jose.garcia@exa").unwrap_or_else(|| panic!("a query"));
        assert_eq!(
            email
                .words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>(),
            ["jose", "garcia", "exa"]
        );
        assert_eq!(SearchQuery::parse("  {\"  "), None);
        assert_eq!(SearchQuery::parse(""), None);
    }

    #[test]
    fn single_words_without_digits_are_broad() {
        let broad = |q: &str| SearchQuery::parse(q).is_some_and(|q| q.is_broad());
        assert!(broad("jos"));
        assert!(!broad("jose garc"));
        assert!(!broad("612 345"));
        assert!(!broad("c-123"));
        assert!(!broad("ana@example.com"));
    }

    #[test]
    fn phone_numbers_are_one_word_of_digits() {
        let query = SearchQuery::parse("+34 666-12 34").unwrap_or_else(|| panic!("a query"));
        assert_eq!(query.tiers(), [SearchTier::Anywhere]);
        assert_eq!(query.to_tsquery(SearchTier::Anywhere), "'346661234~'");
        let long = SearchQuery::parse("34666123456").unwrap_or_else(|| panic!("a query"));
        assert_eq!(
            long.to_tsquery(SearchTier::Anywhere),
            "'3466612345~' & '34666123456':*"
        );
        let national = SearchQuery::parse("666 123 456").unwrap_or_else(|| panic!("a query"));
        assert_eq!(national.to_fts5(SearchTier::Anywhere), r#""666123456"*"#);
        // Two digits are not a phone number: they are a word.
        let short = SearchQuery::parse("12").unwrap_or_else(|| panic!("a query"));
        assert_eq!(short.to_fts5(SearchTier::Anywhere), r#""12"*"#);
    }

    #[test]
    fn postgres_documents_hold_each_words_prefixes() {
        let text = to_tsvector(&["jose".to_owned(), "josefa".to_owned(), "a".to_owned()]);
        assert_eq!(
            text,
            "'a' 'jose' 'josefa' 'josefa~' 'josef~' 'jose~' 'jos~' 'jo~'"
        );
        let long = to_tsvector(&["abcdefghijklmn".to_owned()]);
        assert!(long.contains("'abcdefghij~'") && !long.contains("'abcdefghijk~'"));
    }

    #[test]
    fn queries_hold_a_bounded_number_of_distinct_words() {
        let query = SearchQuery::parse("a b c d e f g h i j a").unwrap_or_else(|| panic!("q"));
        assert_eq!(query.words.len(), MAX_QUERY_WORDS);
        let repeated = SearchQuery::parse("ana ana ANA").unwrap_or_else(|| panic!("q"));
        assert_eq!(repeated.words.len(), 1);
    }

    #[test]
    fn indexed_words_are_found_by_their_own_query() {
        let words = document_words([("email", "Ana.Núñez@Correo.es")], []);
        let query = SearchQuery::parse("ana.nunez@correo.es").unwrap_or_else(|| panic!("q"));
        for word in &query.words {
            assert!(words.iter().any(|w| w.starts_with(&word.text)), "{word:?}");
        }
    }

    #[test]
    fn cursors_name_the_part_of_the_results_they_continue() {
        let name = SearchQuery::parse("ana ruiz").unwrap_or_else(|| panic!("q"));
        let single = SearchQuery::parse("ana").unwrap_or_else(|| panic!("q"));
        let rest = SearchCursor {
            tier: SearchTier::Anywhere,
            after: 7,
        };
        assert_eq!(rest.to_text(&name), "r7");
        assert_eq!(SearchCursor::parse("r7", &name), Some(rest));
        assert_eq!(SearchCursor::parse("7", &single), Some(rest));
        assert_eq!(rest.to_text(&single), "7");
        assert_eq!(
            SearchCursor::parse("7", &name).map(|c| c.tier),
            Some(SearchTier::Written)
        );
        for bad in ["", "r", "x7", "-1", "r-2", "7.5"] {
            assert_eq!(SearchCursor::parse(bad, &name), None, "{bad}");
        }
    }

    fn texts(words: &[QueryWord]) -> Vec<String> {
        words
            .iter()
            .map(|w| format!("{}{}", w.text, if w.prefix { "*" } else { "" }))
            .collect()
    }

    #[test]
    fn written_values_of_a_few_words_are_also_found_by_their_pairs() {
        assert_eq!(
            written_pairs("José García López"),
            ["jose_garcia", "garcia_lopez", "lopez_jose"]
        );
        assert_eq!(written_pairs("Ana Ruiz"), ["ana_ruiz", "ruiz_ana"]);
        // Emails and ids are written without spaces; numbers pair with nothing.
        assert!(written_pairs("jose.garcia@example.com").is_empty());
        assert!(written_pairs("Cliente 123").is_empty());
        assert!(written_pairs("uno dos tres cuatro cinco seis siete").is_empty());
        let words = document_words([("email", "ana@example.com")], [&json!("Ana Ruiz")]);
        assert!(words.contains(&"ana_ruiz".to_owned()), "{words:?}");
        // Identifiers are not written text.
        let ids = document_words([("user_id", "ana ruiz")], []);
        assert!(!ids.iter().any(|w| w.contains(PAIR_JOINER)), "{ids:?}");
    }

    #[test]
    fn a_query_of_several_words_asks_first_for_them_written_together() {
        let query = |q: &str| SearchQuery::parse(q).unwrap_or_else(|| panic!("{q}"));
        let name = query("José García López");
        assert_eq!(name.tiers(), [SearchTier::Written, SearchTier::Anywhere]);
        assert_eq!(texts(&name.pairs), ["jose_garcia", "garcia_lopez*"]);
        assert_eq!(
            name.to_fts5(SearchTier::Written),
            r#""jose_garcia" AND "garcia_lopez"*"#
        );
        // The first letter of a surname finds it written after the name.
        assert_eq!(texts(&query("jose g").pairs), ["jose_g*"]);
        assert_eq!(texts(&query("ana ruiz 12").pairs), ["ana_ruiz", "12*"]);
        for single in ["jos", "ana.ruiz@example.com", "cliente 123", "612 345 678"] {
            assert_eq!(query(single).tiers(), [SearchTier::Anywhere], "{single}");
        }
        // Surname first, as a list of people is often written, finds the same pairs:
        // a value's last word pairs with its first.
        let words = document_words([], [&json!("José García López")]);
        for typed in [
            "José García López",
            "García López, José",
            "lopez jose",
            "garcia lop",
        ] {
            for term in &query(typed).pairs {
                assert!(
                    words.iter().any(|w| if term.prefix {
                        w.starts_with(&term.text)
                    } else {
                        *w == term.text
                    }),
                    "{typed}: {term:?} in {words:?}"
                );
            }
        }
        let pg = name.to_tsquery(SearchTier::Written);
        assert_eq!(pg, "'jose_garcia' & 'garcia_lop~' & 'garcia_lopez':*");
        // Every word is held whole by the pairs: a profile lacking one is not listed.
        let lopera = document_words([], [&json!("José García Lopera")]);
        assert!(
            !name
                .pairs
                .iter()
                .all(|term| lopera.iter().any(|w| if term.prefix {
                    w.starts_with(&term.text)
                } else {
                    *w == term.text
                })),
            "{lopera:?}"
        );
    }

    #[test]
    fn pair_ranges_hold_the_finished_pairs_alone_and_every_pair_the_last_starts() {
        let query = |text: &str| SearchQuery::parse(text).expect("query");
        let held = |ranges: &[(String, String)], word: &str| {
            ranges.iter().all(|(from, to)| {
                from.as_bytes() <= word.as_bytes() && word.as_bytes() < to.as_bytes()
            })
        };
        let name = query("José García Lóp").pair_ranges();
        assert_eq!(name.len(), 2, "{name:?}");
        let first = std::slice::from_ref(&name[0]);
        let last = std::slice::from_ref(&name[1]);
        assert!(held(first, "jose_garcia"));
        assert!(!held(first, "jose_garcias") && !held(first, "jose_garci"));
        for word in ["garcia_lop", "garcia_lopez", "garcia_lopezñ", "garcia_lop9"] {
            assert!(held(last, word), "{word}");
        }
        for word in ["garcia_lo", "garcia_loq", "garcia_lpez", "garcia"] {
            assert!(!held(last, word), "{word}");
        }
        assert!(query("jos").pair_ranges().is_empty());
        assert_eq!(query("jose garcia").unpaired_tsquery(), None);
        assert_eq!(
            query("ana ruiz 12").unpaired_tsquery().as_deref(),
            Some("'12~'")
        );
    }
}
