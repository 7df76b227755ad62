//! Short codes a person reads out or types at a desk — pickup codes, return codes:
//! from an alphabet without look-alikes (no 0/O, 1/I/L), shown in two groups. The
//! database keeps a keyed digest of the code (to find it when it is typed) and a random
//! seed; the code itself is derived from the seed under the node's secret key, so the
//! shop's backend can be shown it again while a copy of the database shows nothing and
//! lets nothing be guessed offline.

use crate::Secret;
use crate::sealing::SealingKey;

/// The symbols a code is made of: digits and capitals, without 0, 1, I, L and O.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Symbols in a code: 31^10, about 2^49.5 codes.
pub const LENGTH: usize = 10;

/// A fresh code from the operating system's random source.
pub fn generate() -> Result<Secret, getrandom::Error> {
    let mut code = String::with_capacity(LENGTH);
    // Rejection sampling keeps every symbol equally likely: bytes beyond the largest
    // multiple of the alphabet's size are drawn again.
    let limit = 256 - 256 % ALPHABET.len();
    while code.len() < LENGTH {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        for byte in bytes {
            if usize::from(byte) < limit && code.len() < LENGTH {
                code.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(Secret::new(code))
}

/// A code as typed or scanned, made canonical: spaces and dashes dropped, letters
/// upper-cased; `None` when it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// A code as people read it: two groups of five.
pub fn display(code: &str) -> String {
    match code.get(..LENGTH / 2) {
        Some(head) if code.len() == LENGTH => format!("{head}-{}", &code[LENGTH / 2..]),
        _ => code.to_owned(),
    }
}

/// The code a seed stands for under `key`, for `purpose`: ten symbols taken from a
/// keyed digest (128 bits read as a number in base 31: every symbol as likely as any
/// other, to within 2^-80).
pub fn derive(key: &SealingKey, purpose: &str, seed: &str) -> String {
    let hex = key.keyed_digest(purpose, seed);
    let mut number = u128::from_str_radix(&hex[..32], 16).unwrap_or_default();
    let base = ALPHABET.len() as u128;
    (0..LENGTH)
        .map(|_| {
            let symbol = ALPHABET[usize::try_from(number % base).unwrap_or(0)];
            number /= base;
            char::from(symbol)
        })
        .collect()
}

/// A fresh random seed for [`derive`].
pub fn seed() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What is stored for a code: its keyed digest, bound to what it is for.
pub fn digest(key: &SealingKey, bound_to: &str, code: &str) -> String {
    key.keyed_digest("hilo short code", &format!("{bound_to}\n{code}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_differ() {
        let codes: HashSet<String> = (0..200)
            .map(|_| generate().unwrap().expose().to_owned())
            .collect();
        assert_eq!(codes.len(), 200);
        for code in &codes {
            assert_eq!(normalize(code).as_deref(), Some(code.as_str()));
        }
        let every: HashSet<u8> = codes
            .iter()
            .flat_map(|c| c.bytes().collect::<Vec<_>>())
            .collect();
        assert_eq!(every.len(), ALPHABET.len(), "every symbol turns up");
    }

    #[test]
    fn typed_codes_are_read_leniently_but_look_alikes_are_not_codes() {
        assert_eq!(normalize(" abcde-fghjk ").as_deref(), Some("ABCDEFGHJK"));
        assert_eq!(display("ABCDEFGHJK"), "ABCDE-FGHJK");
        assert_eq!(normalize("ABCDE-FGHJ0"), None, "0 is never in a code");
        assert_eq!(normalize("ABCDEFGHJ"), None);
        assert_eq!(normalize("ABCDEFGHJKM"), None);
    }

    #[test]
    fn a_digest_is_bound_to_its_key_and_its_purpose() {
        let key = SealingKey::from_text(&SealingKey::generate_text().unwrap()).unwrap();
        let other = SealingKey::from_text(&SealingKey::generate_text().unwrap()).unwrap();
        let at_sol = digest(&key, "fulfilment-1@sol", "ABCDEFGHJK");
        assert_eq!(at_sol, digest(&key, "fulfilment-1@sol", "ABCDEFGHJK"));
        assert_ne!(at_sol, digest(&key, "fulfilment-1@gran-via", "ABCDEFGHJK"));
        assert_ne!(at_sol, digest(&other, "fulfilment-1@sol", "ABCDEFGHJK"));
        assert!(!at_sol.contains("ABCDEFGHJK"));
    }

    #[test]
    fn a_seed_gives_one_code_under_one_key() {
        let key = SealingKey::from_text(&SealingKey::generate_text().unwrap()).unwrap();
        let other = SealingKey::from_text(&SealingKey::generate_text().unwrap()).unwrap();
        let seed = seed().unwrap();
        let code = derive(&key, "pickup", &seed);
        assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        assert_eq!(code, derive(&key, "pickup", &seed));
        assert_ne!(code, derive(&other, "pickup", &seed));
        assert_ne!(code, derive(&key, "return", &seed));
        let codes: HashSet<String> = (0..500)
            .map(|i| derive(&key, "pickup", &i.to_string()))
            .collect();
        assert_eq!(codes.len(), 500);
    }

    proptest! {
        #[test]
        fn anything_typed_is_a_code_or_none(typed in "\\PC{0,24}") {
            if let Some(code) = normalize(&typed) {
                prop_assert_eq!(code.len(), LENGTH);
                prop_assert_eq!(normalize(&display(&code)), Some(code));
            }
        }
    }
}
