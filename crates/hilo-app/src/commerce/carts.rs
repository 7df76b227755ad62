//! Carts and wish lists: the customer's, not a device's. Every channel reads and changes
//! the same list through the API; each change is on the customer's timeline, named as
//! Segment's e-commerce events name it.

use hilo_domain::commerce::catalogue::check_sku;
use hilo_domain::commerce::money::Money;
use hilo_domain::commerce::order::MAX_QUANTITY;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{CustomerId, Invalid, Principal, Timestamp};
use hilo_store::commerce::{CartLine, VariantRecord};
use hilo_store::customers::NewTimelineItem;
use serde_json::json;

use super::{Commerce, CustomerRef};
use crate::{AppError, AppResult};

/// Most SKUs one list holds.
pub const MAX_LINES: usize = 200;

/// Which of the customer's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Cart,
    Wishlist,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cart => "cart",
            Self::Wishlist => "wishlist",
        }
    }

    /// Segment's names for a line added and removed.
    fn event_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Cart => ("Product Added", "Product Removed"),
            Self::Wishlist => ("Product Added to Wishlist", "Product Removed from Wishlist"),
        }
    }
}

/// A list as every channel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CartView {
    /// `None` while nobody holds the identifier it was asked for.
    pub customer_id: Option<CustomerId>,
    pub list: ListKind,
    pub lines: Vec<(CartLine, Option<VariantRecord>)>,
    /// The lines' prices in the first line's main currency, when every line has one.
    pub subtotal: Option<Money>,
}

impl Commerce<'_> {
    pub async fn list(&self, who: &CustomerRef, list: ListKind) -> AppResult<CartView> {
        let Some(root) = self.find_customer(who).await? else {
            return Ok(CartView {
                customer_id: None,
                list,
                lines: Vec::new(),
                subtotal: None,
            });
        };
        self.view(root, list).await
    }

    async fn view(&self, root: CustomerId, list: ListKind) -> AppResult<CartView> {
        let lines = self.hilo.store.cart_lines(root, list.as_str()).await?;
        let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
        let variants = self.hilo.store.variants(&skus).await?;
        let lines: Vec<(CartLine, Option<VariantRecord>)> = lines
            .into_iter()
            .map(|line| {
                let variant = variants.iter().find(|v| v.sku == line.sku).cloned();
                (line, variant)
            })
            .collect();
        let subtotal = subtotal(&lines);
        Ok(CartView {
            customer_id: Some(root),
            list,
            lines,
            subtotal,
        })
    }

    /// Changes how many of a SKU the list holds: `add` more, or set it to `set` (none
    /// removes it).
    #[allow(clippy::too_many_arguments)]
    pub async fn change_list(
        &self,
        who: &CustomerRef,
        list: ListKind,
        sku: &str,
        change: LineChange,
        channel: &str,
        by: &Principal,
    ) -> AppResult<CartView> {
        let sku = check_sku("sku", sku)?;
        let channel = super::orders::channel_or_server(channel)?;
        if self
            .hilo
            .store
            .variants(std::slice::from_ref(&sku))
            .await?
            .is_empty()
        {
            // Setting a line names it in the path: an unknown one is not found; adding
            // names it in the body.
            return Err(match change {
                LineChange::Set(_) => AppError::NotFound,
                LineChange::Add(_) => Invalid::new("sku", "no product has this SKU").into(),
            });
        }
        let root = match change {
            LineChange::Set(0) => match self.find_customer(who).await? {
                Some(root) => root,
                None => return Err(AppError::NotFound),
            },
            _ => self.customer_for_writing(who, channel, by).await?,
        };
        let now = self.hilo.now();
        let mut tx = self.hilo.store.begin().await?;
        let lines = tx.cart_lines(root, list.as_str()).await?;
        let current = lines.iter().find(|l| l.sku == sku);
        let before = current.map_or(0, |l| l.quantity);
        let after = match change {
            LineChange::Add(n) => before + n,
            LineChange::Set(n) => n,
        };
        if !(0..=MAX_QUANTITY).contains(&after) || matches!(change, LineChange::Add(n) if n < 1) {
            return Err(Invalid::new(
                "quantity",
                format!("a line holds 1 to {MAX_QUANTITY} units"),
            )
            .into());
        }
        if current.is_none() && after > 0 && lines.len() >= MAX_LINES {
            return Err(AppError::Conflict(format!(
                "the {} holds {MAX_LINES} SKUs already",
                list.as_str()
            )));
        }
        if current.is_none() && after == 0 {
            return Err(AppError::NotFound);
        }
        let added_at = current.map_or(now, |l| l.added_at);
        tx.set_cart_line(root, list.as_str(), &sku, after, added_at, now)
            .await?;
        if after != before {
            record(&mut tx, root, list, &sku, after - before, channel, now).await?;
        }
        tx.commit().await?;
        self.view(root, list).await
    }
}

/// How a line changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    Add(i64),
    Set(i64),
}

/// The list's change on the customer's timeline.
async fn record(
    tx: &mut hilo_store::Tx,
    root: CustomerId,
    list: ListKind,
    sku: &str,
    delta: i64,
    channel: &str,
    now: Timestamp,
) -> AppResult<()> {
    let (added, removed) = list.event_names();
    let name = if delta > 0 { added } else { removed };
    let body = json!({"sku": sku, "quantity": delta.abs()}).to_string();
    tx.append_timeline(&NewTimelineItem {
        profile_id: root,
        item_type: ItemType::Commerce,
        kind: list.as_str(),
        name: Some(name),
        channel,
        source_id: None,
        message_id: None,
        at: now,
        received_at: now,
        body: &body,
    })
    .await?;
    Ok(())
}

fn subtotal(lines: &[(CartLine, Option<VariantRecord>)]) -> Option<Money> {
    let currency = lines.first()?.1.as_ref()?.prices.first()?.currency;
    let mut total = Money::zero(currency);
    for (line, variant) in lines {
        let price = variant.as_ref()?.price_in(currency)?;
        total = total
            .plus(price.times(u32::try_from(line.quantity).ok()?).ok()?)
            .ok()?;
    }
    Some(total)
}
