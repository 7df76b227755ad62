//! Returns anywhere (S5): started online with a return code, or at any store's desk
//! with the order's number and the customer's email or phone; items of the order only,
//! up to what the customer took, within the return window. The receiving store restocks
//! each item there or writes it off; a refund is recorded apart; an exchange is a new
//! order for the replacement.

use hilo_domain::commerce::codes;
use hilo_domain::commerce::inventory::{self, Reason};
use hilo_domain::commerce::location::Offer;
use hilo_domain::commerce::returns::{self, Disposition};
use hilo_domain::customers::changes::ChangeKind;
use hilo_domain::customers::identity::Identifier;
use hilo_domain::customers::timeline::ItemType;
use hilo_domain::{Invalid, LocationId, OrderId, Principal, Timestamp};
use hilo_store::commerce::{NewMovement, OrderRecord, ReturnLine, ReturnRecord};
use hilo_store::customers::NewTimelineItem;
use serde_json::{Value, json};
use tracing::info;

use hilo_domain::commerce::order::OrderChannel;

use super::orders::{FulfillmentRequest, LineRequest, OrderRequest, OrderView};
use super::{Commerce, CustomerRef};
use crate::{AppError, AppResult};

/// The purpose a return code is derived and digested for.
const RETURN: &str = "hilo return code";

/// A return as started by the customer's shop or an agent.
#[derive(Debug, Clone)]
pub struct ReturnRequest {
    pub lines: Vec<(String, i64)>,
    pub reason: String,
    pub channel: String,
    /// A courier collection asked for, as given.
    pub courier_pickup: Option<Value>,
}

/// How the desk finds what comes back.
#[derive(Debug, Clone)]
pub enum ReturnedBy {
    /// The code the customer got when they started the return online.
    Code(String),
    /// The order's number and an email or phone of the customer's.
    Order { number: i64, contact: Identifier },
}

/// A return as the receiving desk records it.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub location: LocationId,
    pub by: ReturnedBy,
    /// What came back and what becomes of it.
    pub items: Vec<(String, i64, Disposition)>,
    pub reason: String,
    /// The refund as the payment provider reported it.
    pub refund: Option<Value>,
    /// The replacement, placed as a new order for the same customer.
    pub exchange: Option<Exchange>,
}

/// The replacement of returned items: a new order at the desk's counter channel.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub lines: Vec<LineRequest>,
    pub fulfillment: FulfillmentRequest,
}

/// A return with its code when the caller may see it.
#[derive(Debug, Clone)]
pub struct ReturnView {
    pub record: ReturnRecord,
    /// `ABCDE-FGHJK`, while it waits to be received.
    pub code: Option<String>,
}

impl Commerce<'_> {
    /// The order with this number, when `contact` (an email or phone) is its customer's;
    /// not found otherwise, so someone who does not know whose order it is learns
    /// nothing about it.
    pub async fn order_for_contact(
        &self,
        number: i64,
        contact: &Identifier,
    ) -> AppResult<OrderView> {
        let order = self
            .hilo
            .store
            .order_by_number(number)
            .await?
            .ok_or(AppError::NotFound)?;
        let holder = self.hilo.store.customer_by_identifier(contact).await?;
        let owner = self.hilo.store.customer_root(order.profile_id).await?;
        if holder.is_none() || holder != owner {
            return Err(AppError::NotFound);
        }
        self.order(order.id).await
    }

    /// The return waiting for a code typed at a desk (the code is the customer's; staff
    /// see the items, never a code).
    pub async fn return_for_code(&self, typed: &str) -> AppResult<ReturnView> {
        let code = codes::normalize(typed).ok_or_else(|| {
            Invalid::new(
                "return_code",
                "is ten letters and digits, such as ABCDE-FGHJK",
            )
        })?;
        let key = &self.hilo.settings.sealing_key;
        let found = self
            .hilo
            .store
            .return_by_code(&codes::digest(key, RETURN, &code))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(ReturnView {
            record: found,
            code: None,
        })
    }

    pub async fn return_view(&self, id: &str) -> AppResult<ReturnView> {
        let record = self
            .hilo
            .store
            .return_record(id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(self.with_code(record))
    }

    fn with_code(&self, record: ReturnRecord) -> ReturnView {
        let code = (record.status == "requested")
            .then_some(record.code_seed.as_deref())
            .flatten()
            .map(|seed| {
                codes::display(&codes::derive(
                    &self.hilo.settings.sealing_key,
                    RETURN,
                    seed,
                ))
            });
        ReturnView { record, code }
    }

    /// Starts a return of some of an order's items: a return code for the customer to
    /// show at any store's desk (or hand to the courier).
    pub async fn start_return(
        &self,
        order_id: OrderId,
        request: ReturnRequest,
        by: &Principal,
    ) -> AppResult<ReturnView> {
        let channel = super::orders::channel_name(&request.channel)?;
        let reason =
            hilo_domain::commerce::catalogue::check_text("reason", &request.reason, 500, false)?;
        let settings = self.settings().await?;
        let now = self.hilo.now();
        let actor = by.actor();
        let seed = codes::seed().map_err(|e| AppError::Internal(e.to_string()))?;
        let key = &self.hilo.settings.sealing_key;
        let digest = codes::digest(key, RETURN, &codes::derive(key, RETURN, &seed));
        let mut tx = self.hilo.store.begin().await?;
        if !tx.lock_order(order_id).await? {
            return Err(AppError::NotFound);
        }
        let order = tx.order(order_id).await?.ok_or(AppError::NotFound)?;
        within_window(&order, settings.return_window_millis(), now)?;
        let left = returnable(&mut tx, &order).await?;
        returns::check_lines("lines", &request.lines, &left)?;
        let record = ReturnRecord {
            id: uuid::Uuid::now_v7().to_string(),
            order_id,
            status: "requested".into(),
            reason,
            channel: channel.to_owned(),
            actor: actor.clone(),
            code_seed: Some(seed),
            courier_pickup: request.courier_pickup.as_ref().map(Value::to_string),
            location_id: None,
            refund: None,
            exchange_order_id: None,
            created_at: now,
            received_at: None,
            updated_at: now,
            lines: numbered(&request.lines, None),
        };
        tx.insert_return(&record, Some(&digest)).await?;
        let detail = json!({"return_id": record.id});
        tx.record_order_history(
            order_id,
            None,
            "return_requested",
            &actor,
            channel,
            &detail.to_string(),
            now,
        )
        .await?;
        note(
            &mut tx,
            &order,
            "Return Requested",
            channel,
            &record,
            ChangeKind::OrderUpdated,
            now,
        )
        .await?;
        tx.commit().await?;
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order_id, return_id = %record.id, "return started");
        Ok(self.with_code(record))
    }

    /// Receives returned items at a store's desk: restocked there or written off, the
    /// refund recorded, the exchange placed.
    pub async fn receive_return(
        &self,
        receipt: Receipt,
        by: &Principal,
    ) -> AppResult<(ReturnView, Option<OrderView>)> {
        let here = self.location(receipt.location).await?;
        if !here.offers(Offer::Returns) {
            return Err(Invalid::new("location_id", "this location does not take returns").into());
        }
        self.check_desk(by, receipt.location).await?;
        let reason =
            hilo_domain::commerce::catalogue::check_text("reason", &receipt.reason, 500, false)?;
        let settings = self.settings().await?;
        let key = &self.hilo.settings.sealing_key;
        let actor = by.actor();
        // Found before anything is written, so an exchange is placed only for a return
        // that will be received.
        let (order_id, existing) = match &receipt.by {
            ReturnedBy::Code(typed) => {
                let code = codes::normalize(typed).ok_or_else(|| {
                    Invalid::new(
                        "return_code",
                        "is ten letters and digits, such as ABCDE-FGHJK",
                    )
                })?;
                // A read: no write transaction (on SQLite, no turn at the writer).
                let found = self
                    .hilo
                    .store
                    .return_by_code(&codes::digest(key, RETURN, &code))
                    .await?
                    .ok_or_else(|| {
                        AppError::Conflict("return_code: no return waits for this code".into())
                    })?;
                if found.status != "requested" {
                    return Err(AppError::Conflict(
                        "return_code: this return was received already".into(),
                    ));
                }
                (found.order_id, Some(found.id))
            }
            ReturnedBy::Order { number, contact } => {
                let order = self.order_for_contact(*number, contact).await?.record;
                (order.id, None)
            }
        };
        let items: Vec<(String, i64)> = receipt
            .items
            .iter()
            .map(|(s, q, _)| (s.clone(), *q))
            .collect();
        let exchange = match receipt.exchange.clone() {
            Some(exchange) => {
                let order = self
                    .hilo
                    .store
                    .order(order_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let request = OrderRequest {
                    customer: CustomerRef::Id(order.profile_id),
                    channel: OrderChannel::Pos,
                    lines: Some(exchange.lines),
                    fulfillment: exchange.fulfillment,
                    currency: order.currency.parse().ok(),
                    payment: None,
                    staff: None,
                    coupon_code: None,
                    idempotency_key: None,
                    request_digest: String::new(),
                };
                Some(self.place_order(request, by).await?.order)
            }
            None => None,
        };
        let now = self.hilo.now();
        let received = self
            .receive_in_tx(
                order_id,
                existing.as_deref(),
                &receipt,
                &items,
                &reason,
                settings.return_window_millis(),
                &actor,
                now,
            )
            .await;
        let record = match received {
            Ok(record) => record,
            Err(error) => {
                // The return was refused: the replacement goes back too.
                if let Some(placed) = &exchange {
                    let _ = self
                        .cancel_order(
                            placed.record.id,
                            "pos",
                            "the return it replaced was refused",
                            by,
                        )
                        .await;
                }
                return Err(error);
            }
        };
        if let Some(placed) = &exchange {
            let mut tx = self.hilo.store.begin().await?;
            tx.set_exchange(&record.id, placed.record.id).await?;
            tx.commit().await?;
        }
        self.hilo.feed_signal.notify_waiters();
        info!(order = %order_id, return_id = %record.id, location = %receipt.location, "return received");
        Ok((self.return_view(&record.id).await?, exchange))
    }

    #[allow(clippy::too_many_arguments)]
    async fn receive_in_tx(
        &self,
        order_id: OrderId,
        existing: Option<&str>,
        receipt: &Receipt,
        items: &[(String, i64)],
        reason: &str,
        window: i64,
        actor: &str,
        now: Timestamp,
    ) -> AppResult<ReturnRecord> {
        let mut tx = self.hilo.store.begin().await?;
        if !tx.lock_order(order_id).await? {
            return Err(AppError::NotFound);
        }
        let order = tx.order(order_id).await?.ok_or(AppError::NotFound)?;
        let dispositions: Vec<Disposition> = receipt.items.iter().map(|(_, _, d)| *d).collect();
        let record = match existing {
            Some(id) => {
                let requested = tx.return_record(id).await?.ok_or(AppError::NotFound)?;
                // What comes back is what was asked to come back.
                let asked: Vec<(String, i64)> = requested
                    .lines
                    .iter()
                    .map(|l| (l.sku.clone(), l.quantity))
                    .collect();
                let mut want = asked.clone();
                want.sort();
                let mut got = items.to_vec();
                got.sort();
                if want != got {
                    return Err(Invalid::new(
                        "items",
                        "must be the items of the return, each with its quantity",
                    )
                    .into());
                }
                let marks: Vec<(i64, &str)> = requested
                    .lines
                    .iter()
                    .map(|l| l.line_no)
                    .zip(match_dispositions(&requested.lines, items, &dispositions))
                    .collect();
                let refund = receipt.refund.as_ref().map(Value::to_string);
                if !tx
                    .receive_return(id, receipt.location, refund.as_deref(), &marks, now)
                    .await?
                {
                    return Err(AppError::Conflict(
                        "return_code: this return was received already".into(),
                    ));
                }
                tx.return_record(id).await?.ok_or(AppError::NotFound)?
            }
            None => {
                within_window(&order, window, now)?;
                let left = returnable(&mut tx, &order).await?;
                returns::check_lines("items", items, &left)?;
                let record = ReturnRecord {
                    id: uuid::Uuid::now_v7().to_string(),
                    order_id,
                    status: "received".into(),
                    reason: reason.to_owned(),
                    channel: "pos".into(),
                    actor: actor.to_owned(),
                    code_seed: None,
                    courier_pickup: None,
                    location_id: Some(receipt.location),
                    refund: receipt.refund.as_ref().map(Value::to_string),
                    exchange_order_id: None,
                    created_at: now,
                    received_at: Some(now),
                    updated_at: now,
                    lines: numbered(items, Some(&dispositions)),
                };
                tx.insert_return(&record, None).await?;
                record
            }
        };
        // Restocked where it was received, whichever store sold it.
        let mut restock: Vec<&(String, i64, Disposition)> = receipt
            .items
            .iter()
            .filter(|(_, _, d)| *d == Disposition::Restock)
            .collect();
        restock.sort_by(|a, b| a.0.cmp(&b.0));
        for (sku, quantity, _) in restock {
            let level = tx.lock_level(sku, receipt.location).await?;
            let movement = inventory::plan(&level, Reason::Returned, *quantity)
                .map_err(|e| Invalid::new("items", e.to_string()))?;
            tx.apply_movement(&NewMovement {
                sku,
                location_id: receipt.location,
                movement,
                actor,
                order_id: Some(order_id),
                note: "",
                at: now,
            })
            .await?;
        }
        let detail = json!({"return_id": record.id, "location_id": receipt.location.to_string()});
        tx.record_order_history(
            order_id,
            None,
            "return_received",
            actor,
            "pos",
            &detail.to_string(),
            now,
        )
        .await?;
        note(
            &mut tx,
            &order,
            "Return Received",
            "pos",
            &record,
            ChangeKind::OrderUpdated,
            now,
        )
        .await?;
        if receipt.refund.is_some() {
            tx.record_order_history(
                order_id,
                None,
                "refunded",
                actor,
                "pos",
                &detail.to_string(),
                now,
            )
            .await?;
            note(
                &mut tx,
                &order,
                "Order Refunded",
                "pos",
                &record,
                ChangeKind::OrderRefunded,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// An order's returns, oldest first.
    pub async fn returns_of(&self, order: OrderId) -> AppResult<Vec<ReturnView>> {
        let mut tx = self.hilo.store.begin().await?;
        let all = tx.returns_of_order(order).await?;
        drop(tx);
        Ok(all.into_iter().map(|r| self.with_code(r)).collect())
    }
}

/// Each return line's disposition: the first item of its SKU not yet matched.
fn match_dispositions<'a>(
    lines: &[ReturnLine],
    items: &[(String, i64)],
    dispositions: &'a [Disposition],
) -> Vec<&'a str> {
    let mut used = vec![false; items.len()];
    lines
        .iter()
        .map(|line| {
            let found = items.iter().enumerate().position(|(i, (sku, quantity))| {
                !used[i] && *sku == line.sku && *quantity == line.quantity
            });
            match found {
                Some(i) => {
                    used[i] = true;
                    dispositions[i].as_str()
                }
                None => Disposition::Restock.as_str(),
            }
        })
        .collect()
}

fn numbered(lines: &[(String, i64)], dispositions: Option<&[Disposition]>) -> Vec<ReturnLine> {
    lines
        .iter()
        .enumerate()
        .map(|(i, (sku, quantity))| ReturnLine {
            line_no: i as i64,
            sku: sku.clone(),
            quantity: *quantity,
            disposition: dispositions
                .and_then(|d| d.get(i))
                .map(|d| d.as_str().to_owned()),
        })
        .collect()
}

fn within_window(order: &OrderRecord, window: i64, now: Timestamp) -> AppResult<()> {
    let closes = order.created_at.plus_millis(window);
    if now > closes {
        return Err(AppError::Conflict(format!(
            "the return window of order {} closed on {}",
            order.number,
            closes.to_rfc3339()
        )));
    }
    Ok(())
}

/// What of the order may still come back: what left with the customer (sold), less
/// every return already started or received.
async fn returnable(
    tx: &mut hilo_store::Tx,
    order: &OrderRecord,
) -> AppResult<std::collections::BTreeMap<String, i64>> {
    let taken: Vec<(String, i64)> = order
        .reservations
        .iter()
        .filter(|r| r.state == "sold")
        .map(|r| (r.sku.clone(), r.quantity))
        .collect();
    let returned: Vec<(String, i64)> = tx
        .returns_of_order(order.id)
        .await?
        .iter()
        .flat_map(|r| r.lines.iter().map(|l| (l.sku.clone(), l.quantity)))
        .collect();
    Ok(returns::returnable(&taken, &returned))
}

/// A return on the customer's timeline and in the change feed.
async fn note(
    tx: &mut hilo_store::Tx,
    order: &OrderRecord,
    name: &str,
    channel: &str,
    record: &ReturnRecord,
    kind: ChangeKind,
    now: Timestamp,
) -> AppResult<()> {
    let root = tx.root_of(order.profile_id).await?;
    let items: Vec<Value> = record
        .lines
        .iter()
        .map(|l| json!({"sku": l.sku, "quantity": l.quantity, "disposition": l.disposition}))
        .collect();
    let body = json!({"order_id": order.id.to_string(), "number": order.number.to_string(),
        "return_id": record.id, "items": items});
    tx.append_timeline(&NewTimelineItem {
        profile_id: root,
        item_type: ItemType::Commerce,
        kind: "return",
        name: Some(name),
        channel,
        source_id: None,
        message_id: None,
        at: now,
        received_at: now,
        body: &body.to_string(),
    })
    .await?;
    let change = json!({"order_id": order.id.to_string(), "number": order.number.to_string(),
        "status": order.status, "channel": channel, "total": order.total,
        "currency": order.currency, "changed": ["returns"]});
    tx.record_change(kind, root, &change.to_string(), now)
        .await?;
    Ok(())
}
