//! The endless aisle (S20) and the customer's lists at the store (S19): staff find a
//! customer by email or phone, see their wish list and cart with the stock here and
//! elsewhere, and order for them what this store lacks, shipped home from wherever has
//! it, or kept at this store. The order is the customer's, placed on the store tablet
//! channel and signed by the staff member.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_app::commerce::{
    CartView, CustomerRef, FulfillmentRequest, LineRequest, ListKind, OrderRequest, ShipAddress,
};
use hilo_domain::commerce::location::Offer;
use hilo_domain::commerce::order::OrderChannel;
use hilo_domain::{LocationId, OrderId, Permission};
use hilo_store::commerce::LocationRecord;

use super::amount_text as money;
use super::shell::{Area, Shell, Staff, encode, failure, render};
use super::store::{contact_of, desk_locations, field, stores};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/store/aisle", get(aisle))
        .route("/store/aisle/order", post(order))
}

/// A line of the customer's wish list or cart, with where it can be had.
struct ListLine {
    sku: String,
    name: String,
    quantity: i64,
    /// Units available at this store.
    here: i64,
    /// Units available at every other location.
    elsewhere: i64,
    /// This page with the line's SKU in the order form.
    link: String,
}

/// The order just placed.
struct PlacedCard {
    number: String,
    customer_id: String,
    total: String,
    /// (how, from where, status)
    fulfilments: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "store/aisle.html")]
struct AislePage {
    t: &'static Texts,
    shell: Shell,
    stores: Vec<(String, String, bool)>,
    location: String,
    contact: String,
    /// The customer's id, when the contact is someone's.
    customer: Option<String>,
    /// Whether a contact was looked up (and found no one when `customer` is none).
    looked_up: bool,
    wishlist: Vec<ListLine>,
    cart: Vec<ListLine>,
    sku: String,
    /// Sent back with the order form, so a form sent twice places one order.
    token: String,
    notice: Option<String>,
    placed: Option<PlacedCard>,
}

/// What the page shows besides its frame.
#[derive(Default)]
struct AisleView {
    contact: String,
    sku: String,
    notice: Option<String>,
    placed: Option<PlacedCard>,
}

async fn aisle(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::WorkStoreDesk) {
        return refused;
    }
    let view = AisleView {
        contact: field(&params, "contact").trim().to_owned(),
        sku: field(&params, "sku").trim().to_owned(),
        ..AisleView::default()
    };
    aisle_page(
        &state,
        &staff,
        params.get("location").map(String::as_str),
        StatusCode::OK,
        view,
    )
    .await
}

async fn aisle_page(
    state: &AppState,
    staff: &Staff,
    chosen: Option<&str>,
    status: StatusCode,
    view: AisleView,
) -> Response {
    let (all, own) = match desk_locations(state, staff).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let (stores, pick) = stores(all, Offer::Pickup, own, chosen);
    let commerce = state.hilo.commerce();
    let mut customer = None;
    let (mut wishlist, mut cart) = (Vec::new(), Vec::new());
    let who = contact_of(state, &view.contact).map(CustomerRef::Identifier);
    if let Some(who) = &who {
        match commerce.find_customer(who).await {
            Ok(Some(id)) => {
                customer = Some(id.to_string());
                for (kind, into) in [
                    (ListKind::Wishlist, &mut wishlist),
                    (ListKind::Cart, &mut cart),
                ] {
                    let list = match commerce.list(who, kind).await {
                        Ok(list) => list,
                        Err(error) => return failure(error, staff.t),
                    };
                    match lines_of(state, staff.t, &list, pick).await {
                        Ok(lines) => *into = lines,
                        Err(error) => return failure(error, staff.t),
                    }
                }
            }
            Ok(None) | Err(AppError::NotFound) => {}
            Err(error) => return failure(error, staff.t),
        }
    }
    let location = pick.map(|p| p.to_string()).unwrap_or_default();
    for line in wishlist.iter_mut().chain(cart.iter_mut()) {
        line.link = format!(
            "/console/store/aisle?location={location}&contact={}&sku={}",
            encode(&view.contact),
            encode(&line.sku)
        );
    }
    let page = AislePage {
        t: staff.t,
        shell: staff.shell(Area::Store),
        stores,
        location,
        looked_up: who.is_some(),
        contact: view.contact,
        customer,
        wishlist,
        cart,
        sku: view.sku,
        token: OrderId::generate().to_string(),
        notice: view.notice,
        placed: view.placed,
    };
    render(status, &page)
}

/// A list's lines with the stock at this store and everywhere else.
async fn lines_of(
    state: &AppState,
    t: &'static Texts,
    list: &CartView,
    here: Option<LocationId>,
) -> Result<Vec<ListLine>, AppError> {
    let commerce = state.hilo.commerce();
    let mut lines = Vec::new();
    for (line, variant) in &list.lines {
        let levels = commerce.stock(&line.sku).await?;
        let (at_here, elsewhere) = levels.iter().fold((0, 0), |(h, e), l| {
            if Some(l.location_id) == here {
                (h + l.level.available(), e)
            } else {
                (h, e + l.level.available())
            }
        });
        let name = variant.as_ref().map_or_else(String::new, |v| {
            if t.lang == "es" {
                v.name_es.clone()
            } else {
                v.name_en.clone()
            }
        });
        lines.push(ListLine {
            sku: line.sku.clone(),
            name,
            quantity: line.quantity,
            here: at_here,
            elsewhere,
            link: String::new(),
        });
    }
    Ok(lines)
}

async fn order(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::WorkStoreDesk, field(&form, "csrf")) {
        return refused;
    }
    if let Some(refused) = staff.refused_unless(Permission::ShopForCustomers) {
        return refused;
    }
    let chosen = Some(field(&form, "location"));
    let contact = field(&form, "contact").trim();
    let sku = field(&form, "sku").trim();
    let view = |notice: String| AisleView {
        contact: contact.to_owned(),
        sku: sku.to_owned(),
        notice: Some(notice),
        placed: None,
    };
    let s = &staff.t.store;
    let Some(who) = contact_of(&state, contact) else {
        let notice = format!("{} {}", s.refused, s.no_contact);
        return aisle_page(
            &state,
            &staff,
            chosen,
            StatusCode::UNPROCESSABLE_ENTITY,
            view(notice),
        )
        .await;
    };
    let Ok(location) = field(&form, "location").parse::<LocationId>() else {
        return failure(AppError::NotFound, staff.t);
    };
    let quantity = field(&form, "quantity").trim().parse::<i64>().unwrap_or(0);
    let fulfillment = match field(&form, "delivery") {
        "pickup" => FulfillmentRequest::Pickup(location),
        "reserve" => FulfillmentRequest::Reserve(location),
        _ => FulfillmentRequest::Ship {
            address: Box::new(ShipAddress {
                name: field(&form, "name").to_owned(),
                line1: field(&form, "line1").to_owned(),
                line2: String::new(),
                city: field(&form, "city").to_owned(),
                postal_code: field(&form, "postal_code").to_owned(),
                region: String::new(),
                country: field(&form, "country").to_owned(),
                lat: None,
                lng: None,
            }),
            from: None,
        },
    };
    // The form's fields as sent: the same form sent twice is one order.
    let mut fields: Vec<(&String, &String)> =
        form.iter().filter(|(k, _)| k.as_str() != "csrf").collect();
    fields.sort();
    let digest = state
        .hilo
        .settings()
        .sealing_key
        .keyed_digest("hilo console order", &format!("{fields:?}"));
    let commerce = state.hilo.commerce();
    let result = commerce
        .place_order(
            OrderRequest {
                customer: CustomerRef::Identifier(who),
                channel: OrderChannel::StoreTablet,
                lines: Some(vec![LineRequest {
                    sku: sku.to_owned(),
                    quantity,
                }]),
                fulfillment,
                currency: None,
                payment: None,
                staff: Some(staff.email.clone()),
                coupon_code: None,
                idempotency_key: form_key(field(&form, "token")),
                request_digest: digest,
            },
            &staff.principal,
        )
        .await;
    match result {
        Ok(placed) => {
            let names: HashMap<LocationId, String> = match commerce.locations().await {
                Ok(all) => all
                    .into_iter()
                    .map(|l: LocationRecord| (l.id, l.name))
                    .collect(),
                Err(error) => return failure(error, staff.t),
            };
            let o = &placed.order.record;
            let card = PlacedCard {
                number: o.number.to_string(),
                customer_id: placed.order.customer_id.to_string(),
                total: money(o.total, &o.currency),
                fulfilments: o
                    .fulfillments
                    .iter()
                    .map(|f| {
                        let how = match f.kind.as_str() {
                            "ship" => s.ship_home,
                            "pickup" => s.pickup_here,
                            _ => s.reserve_here,
                        };
                        let from = f
                            .location_id
                            .and_then(|l| names.get(&l).cloned())
                            .unwrap_or_default();
                        (how.to_owned(), from, f.status.clone())
                    })
                    .collect(),
            };
            let view = AisleView {
                contact: contact.to_owned(),
                sku: String::new(),
                notice: None,
                placed: Some(card),
            };
            aisle_page(&state, &staff, chosen, StatusCode::OK, view).await
        }
        Err(AppError::OutOfStock { available, .. }) => {
            let notice = format!("{} {} {available}", s.refused, s.only_available);
            aisle_page(&state, &staff, chosen, StatusCode::CONFLICT, view(notice)).await
        }
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::OtherDesk(_))) => {
            let notice = format!("{} {}", s.refused, crate::ApiError::from(error).message);
            aisle_page(
                &state,
                &staff,
                chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
                view(notice),
            )
            .await
        }
        Err(error) => failure(error, staff.t),
    }
}

/// The form's idempotency key: its token as the page issued it (an order id's text),
/// `None` for anything else, so a form without one never shares a key with another.
fn form_key(token: &str) -> Option<String> {
    let issued = (1..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    issued.then(|| format!("console:{token}"))
}

#[cfg(test)]
mod tests {
    use super::form_key;

    #[test]
    fn only_a_token_as_issued_keys_the_order() {
        assert_eq!(
            form_key("0190f0a1-2b3c-7d4e-8f90-a1b2c3d4e5f6").as_deref(),
            Some("console:0190f0a1-2b3c-7d4e-8f90-a1b2c3d4e5f6")
        );
        assert_eq!(form_key(""), None);
        assert_eq!(form_key("a b"), None);
        assert_eq!(form_key(&"x".repeat(65)), None);
    }
}
