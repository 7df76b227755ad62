//! Cursor pagination: a page size and where the previous page stopped.

use crate::Invalid;

/// A request for one page of a list ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// Where the previous page stopped: the last id it held. Clients treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn new(last_id: impl Into<String>) -> Self {
        Self(last_id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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
            Some(text) if text.len() <= 128 && text.chars().all(|c| c.is_ascii_graphic()) => {
                Some(Cursor(text.to_owned()))
            }
            Some(_) => return Err(Invalid::new("cursor", "is not a cursor this API returned")),
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
    fn extra_row_means_next_page() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(Cursor::new("2")));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next, None);
    }
}
