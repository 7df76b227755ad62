//! Money: an amount in the currency's minor units (cents) with its ISO 4217 code, never
//! a float. Sums of different currencies are refused rather than guessed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn as_str(&self) -> &str {
        // Built only from three ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl FromStr for Currency {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        match text.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(Invalid::new(
                "currency",
                "must be an ISO 4217 code: three upper-case letters such as EUR",
            )),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Largest amount accepted, in minor units: far beyond any order, far below overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// An amount of one currency in its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

/// Amounts that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0} and {1} cannot be added: one order is in one currency")]
    Currencies(Currency, Currency),
    #[error("the amount is beyond what an order may hold")]
    TooLarge,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// A price as given: not negative, not absurd.
    pub fn check_price(self, field: &str) -> Result<Self, Invalid> {
        if (0..=MAX_AMOUNT).contains(&self.amount) {
            Ok(self)
        } else {
            Err(Invalid::new(
                field,
                format!("must be from 0 to {MAX_AMOUNT} minor units"),
            ))
        }
    }

    pub fn plus(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Currencies(self.currency, other.currency));
        }
        let amount = self
            .amount
            .checked_add(other.amount)
            .filter(|a| a.abs() <= MAX_AMOUNT)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::new(amount, self.currency))
    }

    pub fn times(self, quantity: u32) -> Result<Self, MoneyError> {
        let amount = self
            .amount
            .checked_mul(i64::from(quantity))
            .filter(|a| a.abs() <= MAX_AMOUNT)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::new(amount, self.currency))
    }

    /// `basis_points` hundredths of a percent of this amount (2,500 = 25%), rounded half
    /// away from zero to the minor unit.
    pub fn share(self, basis_points: u32) -> Self {
        let exact = i128::from(self.amount) * i128::from(basis_points);
        let rounded = (exact + exact.signum() * 5_000) / 10_000;
        Self::new(i64::try_from(rounded).unwrap_or(i64::MAX), self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, "EUR".parse().unwrap())
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!("EUR".parse::<Currency>().unwrap().as_str(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", "", "€"] {
            assert_eq!(
                bad.parse::<Currency>().unwrap_err().field,
                "currency",
                "{bad}"
            );
        }
        let money: Money = serde_json::from_str(r#"{"amount": 1999, "currency": "EUR"}"#).unwrap();
        assert_eq!(money, eur(1999));
        assert!(serde_json::from_str::<Money>(r#"{"amount": 1, "currency": "eur"}"#).is_err());
    }

    #[test]
    fn sums_stay_in_one_currency_and_in_range() {
        assert_eq!(eur(1999).times(3).unwrap().plus(eur(1)).unwrap(), eur(5998));
        let usd = Money::new(100, "USD".parse().unwrap());
        assert!(matches!(eur(1).plus(usd), Err(MoneyError::Currencies(..))));
        assert_eq!(eur(MAX_AMOUNT).plus(eur(1)), Err(MoneyError::TooLarge));
        assert_eq!(eur(i64::MAX).times(2), Err(MoneyError::TooLarge));
        assert!(eur(-1).check_price("price").is_err());
    }

    #[test]
    fn shares_round_half_away_from_zero() {
        assert_eq!(eur(1999).share(2_500), eur(500)); // 499.75
        assert_eq!(eur(10).share(1_500), eur(2)); // 1.5
        assert_eq!(eur(10).share(1_400), eur(1)); // 1.4
        assert_eq!(eur(1999).share(10_000), eur(1999));
    }

    proptest! {
        /// A share is never more than the whole, and shares that add to 100% add to
        /// within a cent of the whole per part.
        #[test]
        fn shares_stay_within_the_whole(amount in 0i64..MAX_AMOUNT, bp in 0u32..=10_000) {
            let part = eur(amount).share(bp).amount;
            prop_assert!((0..=amount).contains(&part));
            let rest = eur(amount).share(10_000 - bp).amount;
            prop_assert!((part + rest - amount).abs() <= 1);
        }
    }
}
