//! Cursor pagination: a page size and where the previous page stopped.

use crate::Invalid;

/// A request for one page of a list ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// Where the previous page stopped: the last key it held (an id, or a list's own
/// position). Callers see it only encoded ([`Cursor::encode`]): opaque, and checked
/// when it comes back, so a cursor this API did not make is refused rather than read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

/// Longest key a cursor carries.
const MAX_KEY: usize = 128;
/// Bytes of the check appended to the key before encoding.
const CHECK: usize = 4;

impl Cursor {
    pub fn new(last_key: impl Into<String>) -> Self {
        Self(last_key.into())
    }

    /// The key inside.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text handed to callers: base64url of the key and a short check of it.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let mut bytes = self.0.as_bytes().to_vec();
        bytes.extend_from_slice(&check(self.0.as_bytes()));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor this API encoded; anything else is refused, naming `cursor`.
    pub fn decode(text: &str) -> Result<Self, Invalid> {
        use base64::Engine;
        let refused = || Invalid::new("cursor", "is not a cursor this API returned");
        if text.len() > encoded_len(MAX_KEY + CHECK) {
            return Err(refused());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| refused())?;
        if bytes.len() <= CHECK {
            return Err(refused());
        }
        let (key, given) = bytes.split_at(bytes.len() - CHECK);
        if given != check(key) {
            return Err(refused());
        }
        let key = std::str::from_utf8(key).map_err(|_| refused())?;
        Ok(Self(key.to_owned()))
    }
}

fn check(key: &[u8]) -> [u8; CHECK] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"hilo page cursor\0")
        .chain_update(key)
        .finalize();
    let mut out = [0; CHECK];
    out.copy_from_slice(&digest[..CHECK]);
    out
}

const fn encoded_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

/// The longest cursor text the API hands out, for the documents that describe it.
pub const MAX_CURSOR_LEN: usize = encoded_len(MAX_KEY + CHECK);

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    /// Parses the `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Invalid> {
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    Invalid::new(
                        "limit",
                        format!("must be a whole number from 1 to {}", Self::MAX_LIMIT),
                    )
                })?,
        };
        let after = match cursor {
            None | Some("") => None,
            Some(text) => Some(Cursor::decode(text)?),
        };
        Ok(Self { limit, after })
    }
}

/// One page of results and the cursor for the next, if there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|row| Cursor(id_of(row)))
        } else {
            None
        };
        Self { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::parse(Some("200"), None).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten"] {
            assert_eq!(
                PageRequest::parse(Some(bad), None).unwrap_err().field,
                "limit"
            );
        }
        assert_eq!(
            PageRequest::parse(None, Some("a b")).unwrap_err().field,
            "cursor"
        );
    }

    #[test]
    fn cursors_are_opaque_and_only_ours_are_read() {
        for key in [
            "01a20000-0000-7000-8000-000000000000",
            "1795435200000.42",
            "~",
        ] {
            let text = Cursor::new(key).encode();
            assert!(text.len() <= MAX_CURSOR_LEN);
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert!(!text.contains(key));
            assert_eq!(Cursor::decode(&text).unwrap().as_str(), key);
            let parsed = PageRequest::parse(None, Some(&text)).unwrap();
            assert_eq!(parsed.after.unwrap().as_str(), key);
        }
        let good = Cursor::new("abc").encode();
        let mut tampered = good.clone().into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let long = "A".repeat(MAX_CURSOR_LEN + 1);
        for bad in [
            "-1",
            "garbage",
            "01a20000-0000-7000-8000-000000000000",
            "~",
            "a b",
            &tampered,
            &long,
        ] {
            assert_eq!(
                PageRequest::parse(None, Some(bad)).unwrap_err().field,
                "cursor",
                "{bad}"
            );
        }
    }

    #[test]
    fn extra_row_means_next_page() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(Cursor::new("2")));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next, None);
    }
}
