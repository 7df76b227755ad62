//! Promotions and coupons redeemable once on every channel (S3, S23): a redemption is
//! written in the order's transaction, its limits kept by conditional updates, and
//! reverted once when the order is cancelled.

use hilo_domain::commerce::codes;
use hilo_domain::commerce::money::{Currency, Money};
use hilo_domain::commerce::promotion::{Discount, Limits, Line, Rules};
use hilo_domain::{CustomerId, Invalid, OrderId, Timestamp};
use hilo_store::StoreError;
use hilo_store::commerce::{CouponRecord, OrderTx, PromotionRecord};
use tracing::info;

use super::{Commerce, CustomerRef};
use crate::{AppError, AppResult};

/// Most coupons generated at once.
pub const MAX_BULK: usize = 10_000;

/// A promotion as given.
#[derive(Debug, Clone)]
pub struct PromotionInput {
    pub name: String,
    pub code: Option<String>,
    pub discount: Discount,
    pub min_spend: Option<Money>,
    pub skus: Vec<String>,
    pub categories: Vec<String>,
    pub new_customers_only: bool,
    pub max_redemptions: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
}

/// A code as typed: trimmed and upper-cased; 3 to 40 letters, digits, `-` or `_`.
pub fn normalize_code(field: &str, code: &str) -> Result<String, Invalid> {
    let code = code.trim().to_uppercase();
    if !(3..=40).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Invalid::new(
            field,
            "is 3 to 40 letters, digits, '-' or '_'",
        ));
    }
    Ok(code)
}

pub(crate) fn rules_of(p: &PromotionRecord) -> AppResult<Rules> {
    let currency = |c: &Option<String>| -> AppResult<Currency> {
        c.as_deref()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| AppError::Internal(format!("promotion {} has no currency", p.id)))
    };
    let discount = match p.kind.as_str() {
        "percent" => Discount::Percent(u32::try_from(p.value).unwrap_or(0)),
        _ => Discount::Fixed(Money::new(p.value, currency(&p.currency)?)),
    };
    let min_spend = match p.min_spend {
        Some(amount) => Some(Money::new(amount, currency(&p.currency)?)),
        None => None,
    };
    Ok(Rules {
        discount,
        min_spend,
        skus: p.skus.clone(),
        categories: p.categories.clone(),
        new_customers_only: p.new_customers_only,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
    })
}

impl Commerce<'_> {
    pub async fn create_promotion(&self, input: PromotionInput) -> AppResult<PromotionRecord> {
        let name = hilo_domain::commerce::catalogue::check_text("name", &input.name, 200, false)?;
        let code = input
            .code
            .as_deref()
            .map(|c| normalize_code("code", c))
            .transpose()?;
        for (field, limit) in [
            ("max_redemptions", input.max_redemptions),
            ("per_customer_limit", input.per_customer_limit),
        ] {
            if limit.is_some_and(|l| !(1..=100_000_000).contains(&l)) {
                return Err(Invalid::new(field, "must be from 1 to 100000000").into());
            }
        }
        for category in &input.categories {
            hilo_domain::commerce::catalogue::check_text("categories", category, 100, true)?;
        }
        let rules = Rules {
            discount: input.discount,
            min_spend: input.min_spend,
            skus: input.skus.clone(),
            categories: input.categories.clone(),
            new_customers_only: input.new_customers_only,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
        };
        rules.check()?;
        let (kind, value, fixed_currency) = match input.discount {
            Discount::Percent(p) => ("percent", i64::from(p), None),
            Discount::Fixed(m) => ("fixed", m.amount, Some(m.currency)),
        };
        let spend_currency = input.min_spend.map(|m| m.currency);
        if let (Some(a), Some(b)) = (fixed_currency, spend_currency)
            && a != b
        {
            return Err(
                Invalid::new("min_spend.currency", "must be the discount's currency").into(),
            );
        }
        let now = self.hilo.now();
        let record = PromotionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            code,
            kind: kind.into(),
            value,
            currency: fixed_currency.or(spend_currency).map(|c| c.to_string()),
            min_spend: input.min_spend.map(|m| m.amount),
            skus: input.skus,
            categories: input.categories,
            new_customers_only: input.new_customers_only,
            max_redemptions: input.max_redemptions,
            per_customer_limit: input.per_customer_limit,
            redemptions: 0,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            created_at: now,
        };
        match self.hilo.store.insert_promotion(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(AppError::Conflict(
                    "code: another promotion has this code".into(),
                ));
            }
            Err(other) => return Err(other.into()),
        }
        info!(promotion = %record.id, kind, "promotion created");
        Ok(record)
    }

    pub async fn promotion(&self, id: &str) -> AppResult<PromotionRecord> {
        self.hilo
            .store
            .promotion(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn promotions(&self) -> AppResult<Vec<PromotionRecord>> {
        Ok(self.hilo.store.promotions().await?)
    }

    /// Issues a coupon of a promotion bound to one customer: only they may redeem it.
    pub async fn issue_coupon(
        &self,
        who: &CustomerRef,
        promotion: &str,
    ) -> AppResult<CouponRecord> {
        let promotion = self.promotion(promotion).await?;
        let root = self.find_customer(who).await?.ok_or(AppError::NotFound)?;
        let codes = self.fresh_codes(&promotion.id, 1, Some(root)).await?;
        let code = codes
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("no code".into()))?;
        info!(promotion = %promotion.id, customer = %root, "coupon issued");
        Ok(CouponRecord {
            code,
            promotion_id: promotion.id,
            profile_id: Some(root.to_string()),
            redeemed_at: None,
            order_id: None,
            created_at: self.hilo.now(),
        })
    }

    /// Generates `count` single-use codes of a promotion, bound to nobody (for flyers,
    /// partners, a campaign's list).
    pub async fn bulk_coupons(&self, promotion: &str, count: usize) -> AppResult<Vec<String>> {
        if !(1..=MAX_BULK).contains(&count) {
            return Err(Invalid::new("count", format!("must be from 1 to {MAX_BULK}")).into());
        }
        let promotion = self.promotion(promotion).await?;
        self.fresh_codes(&promotion.id, count, None).await
    }

    async fn fresh_codes(
        &self,
        promotion: &str,
        count: usize,
        profile: Option<CustomerId>,
    ) -> AppResult<Vec<String>> {
        // 31^10 codes: a collision is all but impossible; one is drawn again whole.
        for _ in 0..3 {
            let mut fresh = Vec::with_capacity(count);
            for _ in 0..count {
                let code = codes::generate().map_err(|e| AppError::Internal(e.to_string()))?;
                fresh.push(code.expose().to_owned());
            }
            match self
                .hilo
                .store
                .insert_coupons(promotion, &fresh, profile, self.hilo.now())
                .await
            {
                Ok(()) => return Ok(fresh),
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::Internal(
            "could not draw unique coupon codes".into(),
        ))
    }

    /// The coupons issued to a customer.
    pub async fn coupons_of(&self, who: &CustomerRef) -> AppResult<Vec<CouponRecord>> {
        let Some(root) = self.find_customer(who).await? else {
            return Ok(Vec::new());
        };
        Ok(self.hilo.store.coupons_of(root).await?)
    }
}

/// A code redeemed with an order: what it takes off, and what to record.
pub(crate) struct Redeemed {
    pub promotion: String,
    pub coupon: Option<String>,
    pub code: String,
    pub discount: Money,
}

/// Redeems `typed` for an order of `lines` by `root`, in the order's transaction: the
/// promotion's rules, then its limits by conditional updates (total, the customer's,
/// a coupon used once, a coupon bound to another customer refused).
pub(crate) async fn redeem<T: OrderTx>(
    tx: &mut T,
    typed: &str,
    root: CustomerId,
    lines: &[Line],
    currency: Currency,
    order: OrderId,
    now: Timestamp,
) -> AppResult<Redeemed> {
    let code = normalize_code("coupon_code", typed)?;
    let refused = |why: String| AppError::Conflict(format!("coupon_code: {why}"));
    let Some((promotion, coupon)) = tx.promotion_for_code(&code).await? else {
        return Err(Invalid::new("coupon_code", "no promotion has this code").into());
    };
    if let Some(coupon) = &coupon {
        if let Some(owner) = coupon.profile_id.as_deref() {
            let owner: CustomerId = owner
                .parse()
                .map_err(|_| AppError::Internal("a coupon's profile id".into()))?;
            if tx.root_of(owner).await? != root {
                return Err(refused("this coupon was issued to another customer".into()));
            }
        }
        if coupon.redeemed_at.is_some() {
            return Err(refused("this coupon has been used".into()));
        }
    }
    let rules = rules_of(&promotion)?;
    let ordered_before = promotion.new_customers_only && tx.has_ordered(root, order).await?;
    let discount = rules
        .discount(lines, currency, now, ordered_before)
        .map_err(|r| refused(r.to_string()))?;
    // The total first: its row lock makes the customer's count below exact.
    if !tx.take_redemption(&promotion.id, now).await? {
        return Err(refused("this promotion has been fully redeemed".into()));
    }
    let limits = Limits {
        max_redemptions: None,
        per_customer: promotion.per_customer_limit,
    };
    let mine = tx.customer_redemptions(&promotion.id, root).await?;
    if !limits.admits(0, mine) {
        return Err(refused(
            "this customer has used this promotion as often as it allows".into(),
        ));
    }
    if let Some(coupon) = &coupon
        && !tx.use_coupon(&coupon.code, order, now).await?
    {
        return Err(refused("this coupon has been used".into()));
    }
    Ok(Redeemed {
        promotion: promotion.id,
        coupon: coupon.map(|c| c.code),
        code,
        discount,
    })
}
