//! The catalogue's rules: what a SKU may look like, and what a product with its
//! variants must hold before it is stored.

use std::collections::{BTreeMap, HashSet};

use super::money::Money;
use crate::Invalid;

/// Longest SKU.
pub const MAX_SKU: usize = 64;
/// Most variants one product holds.
pub const MAX_VARIANTS: usize = 100;

/// A SKU: 1 to 64 letters, digits, `.`, `_` or `-` (they are read out and typed at
/// desks, and appear in paths).
pub fn check_sku(field: &str, sku: &str) -> Result<String, Invalid> {
    let sku = sku.trim();
    if sku.is_empty()
        || sku.len() > MAX_SKU
        || !sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(Invalid::new(
            field,
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(sku.to_owned())
}

/// A text a person reads, trimmed, within `max` characters and without control
/// characters; `required` refuses it empty.
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<String, Invalid> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(Invalid::new(field, "is required"));
    }
    if text.chars().count() > max {
        return Err(Invalid::new(field, format!("at most {max} characters")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new(field, "must not hold control characters"));
    }
    Ok(text.to_owned())
}

/// A variant as given.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantInput {
    pub sku: String,
    /// One price per currency, the first the main one.
    pub prices: Vec<Money>,
    pub attributes: BTreeMap<String, String>,
    pub images: Vec<String>,
}

/// Checks a product's variants: 1 to 100, SKUs unique, each with at least one price
/// and at most one per currency, short attributes and http(s) image addresses.
pub fn check_variants(variants: &[VariantInput]) -> Result<(), Invalid> {
    if variants.is_empty() || variants.len() > MAX_VARIANTS {
        return Err(Invalid::new(
            "variants",
            format!("must hold 1 to {MAX_VARIANTS} variants"),
        ));
    }
    let mut skus = HashSet::new();
    for (i, variant) in variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        check_sku(&format!("{field}.sku"), &variant.sku)?;
        if !skus.insert(variant.sku.as_str()) {
            return Err(Invalid::new(format!("{field}.sku"), "appears twice"));
        }
        let mut currencies = HashSet::new();
        for price in &variant.prices {
            price.check_price(&format!("{field}.price"))?;
            if !currencies.insert(price.currency) {
                return Err(Invalid::new(
                    format!("{field}.prices"),
                    format!("two prices in {}", price.currency),
                ));
            }
        }
        if variant.prices.is_empty() {
            return Err(Invalid::new(format!("{field}.price"), "is required"));
        }
        if variant.attributes.len() > 50 {
            return Err(Invalid::new(
                format!("{field}.attributes"),
                "at most 50 attributes",
            ));
        }
        for (name, value) in &variant.attributes {
            check_text(&format!("{field}.attributes"), name, 100, true)?;
            check_text(&format!("{field}.attributes.{name}"), value, 200, false)?;
        }
        if variant.images.len() > 20 {
            return Err(Invalid::new(format!("{field}.images"), "at most 20 images"));
        }
        for image in &variant.images {
            let lower = image.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || image.len() > 2_000
                || image.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Invalid::new(
                    format!("{field}.images"),
                    "each must be an http(s) address of at most 2,000 characters",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str) -> VariantInput {
        VariantInput {
            sku: sku.into(),
            prices: vec![Money::new(1999, "EUR".parse().unwrap())],
            attributes: BTreeMap::new(),
            images: vec![],
        }
    }

    #[test]
    fn skus_are_short_and_plain() {
        assert_eq!(check_sku("sku", " ZAP-42.r_1 ").unwrap(), "ZAP-42.r_1");
        assert!(check_sku("sku", "").is_err());
        assert!(check_sku("sku", "a/b").is_err());
        assert!(check_sku("sku", &"x".repeat(65)).is_err());
    }

    #[test]
    fn variants_are_checked() {
        assert!(check_variants(&[variant("A"), variant("B")]).is_ok());
        assert_eq!(check_variants(&[]).unwrap_err().field, "variants");
        assert_eq!(
            check_variants(&[variant("A"), variant("A")])
                .unwrap_err()
                .field,
            "variants[1].sku"
        );
        let mut priceless = variant("A");
        priceless.prices.clear();
        assert_eq!(
            check_variants(&[priceless]).unwrap_err().field,
            "variants[0].price"
        );
        let mut twice = variant("A");
        twice.prices.push(twice.prices[0]);
        assert_eq!(
            check_variants(&[twice]).unwrap_err().field,
            "variants[0].prices"
        );
        let mut image = variant("A");
        image.images.push("javascript:alert(1)".into());
        assert_eq!(
            check_variants(&[image]).unwrap_err().field,
            "variants[0].images"
        );
    }

    #[test]
    fn texts_are_checked() {
        assert_eq!(check_text("name", " Zapato ", 10, true).unwrap(), "Zapato");
        assert!(check_text("name", " ", 10, true).is_err());
        assert!(check_text("name", "a\u{0}b", 10, true).is_err());
        assert!(check_text("name", "abcdefghijk", 10, true).is_err());
    }
}
