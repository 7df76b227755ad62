//! Promotions and their coupons: what a code takes off an order, and whether it may be
//! redeemed now, by this customer, for these lines. The limits themselves are kept by
//! the store with conditional updates; [`Limits`] states the rule they follow.

use super::money::{Currency, Money};
use crate::{Invalid, Timestamp};

/// How a promotion takes money off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Whole percent of the eligible lines, 1 to 100.
    Percent(u32),
    /// A fixed amount, never more than the eligible lines.
    Fixed(Money),
}

/// A promotion's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub discount: Discount,
    /// The eligible lines must add up to this much.
    pub min_spend: Option<Money>,
    /// Only these SKUs count (empty: every SKU)…
    pub skus: Vec<String>,
    /// …or products of these categories.
    pub categories: Vec<String>,
    pub new_customers_only: bool,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// Why a code is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this code is not valid yet")]
    NotStarted,
    #[error("this code has ended")]
    Ended,
    #[error("this code is for new customers, and this customer has ordered before")]
    NotNewCustomer,
    #[error("this code needs {0} of eligible items")]
    MinSpend(Money),
    #[error("no item of this order is eligible")]
    NothingEligible,
    #[error("this code is in {0}, the order in {1}")]
    Currency(Currency, Currency),
}

/// A line as a promotion sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub sku: String,
    pub categories: Vec<String>,
    pub total: Money,
}

impl Rules {
    pub fn check(&self) -> Result<(), Invalid> {
        match self.discount {
            Discount::Percent(p) if !(1..=100).contains(&p) => {
                return Err(Invalid::new("value", "a percent is from 1 to 100"));
            }
            Discount::Fixed(m) if m.amount < 1 => {
                return Err(Invalid::new(
                    "value",
                    "a fixed discount is 1 minor unit or more",
                ));
            }
            _ => {}
        }
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at)
            && end <= start
        {
            return Err(Invalid::new("ends_at", "must be after starts_at"));
        }
        if self.skus.len() > 1_000 || self.categories.len() > 100 {
            return Err(Invalid::new(
                "skus",
                "at most 1,000 SKUs and 100 categories",
            ));
        }
        Ok(())
    }

    fn eligible(&self, line: &Line) -> bool {
        (self.skus.is_empty() && self.categories.is_empty())
            || self.skus.contains(&line.sku)
            || line.categories.iter().any(|c| self.categories.contains(c))
    }

    /// What the promotion takes off `lines` at `now` for a customer who has
    /// (`ordered_before`) or has not ordered before.
    pub fn discount(
        &self,
        lines: &[Line],
        currency: Currency,
        now: Timestamp,
        ordered_before: bool,
    ) -> Result<Money, Refusal> {
        if self.starts_at.is_some_and(|s| now < s) {
            return Err(Refusal::NotStarted);
        }
        if self.ends_at.is_some_and(|e| now >= e) {
            return Err(Refusal::Ended);
        }
        if self.new_customers_only && ordered_before {
            return Err(Refusal::NotNewCustomer);
        }
        let mut eligible = Money::zero(currency);
        let mut any = false;
        for line in lines.iter().filter(|l| self.eligible(l)) {
            any = true;
            eligible = eligible
                .plus(line.total)
                .map_err(|_| Refusal::Currency(line.total.currency, currency))?;
        }
        if !any {
            return Err(Refusal::NothingEligible);
        }
        if let Some(min) = self.min_spend {
            if min.currency != currency {
                return Err(Refusal::Currency(min.currency, currency));
            }
            if eligible.amount < min.amount {
                return Err(Refusal::MinSpend(min));
            }
        }
        Ok(match self.discount {
            Discount::Percent(p) => eligible.share(p * 100),
            Discount::Fixed(m) => {
                if m.currency != currency {
                    return Err(Refusal::Currency(m.currency, currency));
                }
                Money::new(m.amount.min(eligible.amount), currency)
            }
        })
    }
}

/// A promotion's redemption limits: in total and per customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_redemptions: Option<i64>,
    pub per_customer: Option<i64>,
}

impl Limits {
    /// Whether one more redemption is admitted with `total` in force overall and
    /// `by_customer` by this customer. The store admits by a conditional update of the
    /// total under the promotion's row lock, then counts the customer's.
    pub fn admits(self, total: i64, by_customer: i64) -> bool {
        self.max_redemptions.is_none_or(|m| total < m)
            && self.per_customer.is_none_or(|m| by_customer < m)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, "EUR".parse().unwrap())
    }

    fn line(sku: &str, category: &str, total: i64) -> Line {
        Line {
            sku: sku.into(),
            categories: vec![category.into()],
            total: eur(total),
        }
    }

    fn rules(discount: Discount) -> Rules {
        Rules {
            discount,
            min_spend: None,
            skus: vec![],
            categories: vec![],
            new_customers_only: false,
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn a_discount_counts_eligible_lines_only() {
        let now = Timestamp::from_millis(1_000);
        let eur_code = "EUR".parse().unwrap();
        let lines = [line("A", "shoes", 10_000), line("B", "hats", 2_000)];
        let mut ten = rules(Discount::Percent(10));
        assert_eq!(ten.discount(&lines, eur_code, now, false), Ok(eur(1_200)));
        ten.categories = vec!["hats".into()];
        assert_eq!(ten.discount(&lines, eur_code, now, false), Ok(eur(200)));
        ten.min_spend = Some(eur(5_000));
        assert_eq!(
            ten.discount(&lines, eur_code, now, false),
            Err(Refusal::MinSpend(eur(5_000)))
        );
        let big = rules(Discount::Fixed(eur(50_000)));
        assert_eq!(big.discount(&lines, eur_code, now, false), Ok(eur(12_000)));
        let mut welcome = rules(Discount::Fixed(eur(500)));
        welcome.new_customers_only = true;
        assert_eq!(
            welcome.discount(&lines, eur_code, now, true),
            Err(Refusal::NotNewCustomer)
        );
        welcome.ends_at = Some(now);
        assert_eq!(
            welcome.discount(&lines, eur_code, now, false),
            Err(Refusal::Ended)
        );
    }

    proptest! {
        #[test]
        fn never_redeemed_beyond_its_limits(
            max in proptest::option::of(0i64..5),
            per in proptest::option::of(0i64..3),
            steps in proptest::collection::vec((0usize..4, any::<bool>()), 0..60),
        ) {
            let limits = Limits { max_redemptions: max, per_customer: per };
            // (customer, in force) for every redemption ever admitted.
            let mut redeemed: Vec<(usize, bool)> = Vec::new();
            for (customer, revert) in steps {
                if revert {
                    if let Some(r) = redeemed.iter_mut().find(|r| r.0 == customer && r.1) {
                        r.1 = false;
                    }
                    continue;
                }
                let total = redeemed.iter().filter(|r| r.1).count() as i64;
                let mine = redeemed.iter().filter(|r| r.1 && r.0 == customer).count() as i64;
                if limits.admits(total, mine) {
                    redeemed.push((customer, true));
                }
                let total = redeemed.iter().filter(|r| r.1).count() as i64;
                prop_assert!(max.is_none_or(|m| total <= m));
                for c in 0..4 {
                    let mine = redeemed.iter().filter(|r| r.1 && r.0 == c).count() as i64;
                    prop_assert!(per.is_none_or(|m| mine <= m));
                }
            }
        }
    }
}
