//! Returns: only items of the order, up to what left with the customer and was not
//! returned already, within the return window; each received item restocked where it
//! is received or written off.

use std::collections::BTreeMap;

use crate::Invalid;

/// What becomes of a returned item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Back on sale at the store that received it.
    Restock,
    /// Broken or unsellable: it never goes back into stock.
    WriteOff,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restock => "restock",
            Self::WriteOff => "write_off",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, Invalid> {
        match text {
            "restock" => Ok(Self::Restock),
            "write_off" => Ok(Self::WriteOff),
            _ => Err(Invalid::new(field, "must be restock or write_off")),
        }
    }
}

/// Units of each SKU that may still come back: what the customer took, less what was
/// returned already.
pub fn returnable(taken: &[(String, i64)], returned: &[(String, i64)]) -> BTreeMap<String, i64> {
    let mut left: BTreeMap<String, i64> = BTreeMap::new();
    for (sku, quantity) in taken {
        *left.entry(sku.clone()).or_default() += quantity;
    }
    for (sku, quantity) in returned {
        if let Some(units) = left.get_mut(sku) {
            *units -= quantity;
        }
    }
    left.retain(|_, units| *units > 0);
    left
}

/// Checks asked lines against what may come back, naming the first line that asks too
/// much (`field[i]`); the same SKU on two lines counts together.
pub fn check_lines(
    field: &str,
    lines: &[(String, i64)],
    left: &BTreeMap<String, i64>,
) -> Result<(), Invalid> {
    if lines.is_empty() {
        return Err(Invalid::new(field, "name at least one item"));
    }
    let mut asked: BTreeMap<&str, i64> = BTreeMap::new();
    for (i, (sku, quantity)) in lines.iter().enumerate() {
        if *quantity < 1 {
            return Err(Invalid::new(
                format!("{field}[{i}].quantity"),
                "must be 1 or more",
            ));
        }
        let total = asked.entry(sku).or_default();
        *total += quantity;
        let may = left.get(sku).copied().unwrap_or(0);
        if *total > may {
            return Err(Invalid::new(
                format!("{field}[{i}]"),
                if may == 0 {
                    format!("{sku} is not an item of this order that can be returned")
                } else {
                    format!("only {may} of {sku} can be returned")
                },
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn items(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect()
    }

    #[test]
    fn only_what_was_taken_and_not_returned_comes_back() {
        let left = returnable(&items(&[("A", 2), ("B", 1)]), &items(&[("A", 1)]));
        assert_eq!(left, BTreeMap::from([("A".into(), 1), ("B".into(), 1)]));
        assert!(check_lines("lines", &items(&[("A", 1), ("B", 1)]), &left).is_ok());
        assert_eq!(
            check_lines("lines", &items(&[("A", 2)]), &left)
                .unwrap_err()
                .field,
            "lines[0]"
        );
        assert_eq!(
            check_lines("lines", &items(&[("B", 1), ("C", 1)]), &left)
                .unwrap_err()
                .field,
            "lines[1]"
        );
        assert_eq!(
            check_lines("lines", &items(&[("A", 1), ("A", 1)]), &left)
                .unwrap_err()
                .field,
            "lines[1]"
        );
        assert!(check_lines("lines", &[], &left).is_err());
    }

    proptest! {
        #[test]
        fn never_more_back_than_went_out(
            taken in proptest::collection::vec((0usize..3, 1i64..5), 0..5),
            returns in proptest::collection::vec(proptest::collection::vec((0usize..3, 1i64..4), 1..3), 0..6),
        ) {
            let skus = ["A", "B", "C"];
            let taken: Vec<(String, i64)> = taken.iter().map(|(s, q)| (skus[*s].to_owned(), *q)).collect();
            let mut returned: Vec<(String, i64)> = Vec::new();
            for attempt in returns {
                let lines: Vec<(String, i64)> = attempt.iter().map(|(s, q)| (skus[*s].to_owned(), *q)).collect();
                let left = returnable(&taken, &returned);
                if check_lines("lines", &lines, &left).is_ok() {
                    returned.extend(lines);
                }
            }
            for sku in skus {
                let out: i64 = taken.iter().filter(|(s, _)| s == sku).map(|(_, q)| q).sum();
                let back: i64 = returned.iter().filter(|(s, _)| s == sku).map(|(_, q)| q).sum();
                prop_assert!(back <= out);
            }
        }
    }
}
