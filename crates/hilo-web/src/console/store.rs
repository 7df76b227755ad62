//! The store's pages: the pickup desk (check the code the customer shows, see the
//! order, hand it over; the orders waiting) and stock lookup across every location with
//! the nearest stores that have an item. Staff check codes; no page ever shows one.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::commerce::{Commerce, OrderView};
use hilo_app::{AppError, PickupRefusal};
use hilo_domain::commerce::location::Offer;
use hilo_domain::{LocationId, Permission};
use hilo_store::commerce::LocationRecord;

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/store",
            get(|| async { Redirect::to("/console/store/pickups") }),
        )
        .route("/store/pickups", get(desk))
        .route("/store/pickups/check", post(check))
        .route("/store/pickups/collect", post(collect))
        .route("/store/stock", get(stock))
        .route("/store/returns", get(returns_desk))
        .route("/store/returns/find", post(find_return))
        .route("/store/returns/receive", post(receive_return))
}

/// An order as the desk shows it.
struct OrderCard {
    number: String,
    customer_id: String,
    lines: Vec<(String, String, i64)>,
    total: String,
    pay_at_pickup: bool,
    expires: String,
}

fn card(order: &OrderView) -> OrderCard {
    let o = &order.record;
    let pay_at_pickup = o
        .payment
        .as_deref()
        .is_some_and(|p| p.contains("pay_at_pickup"));
    OrderCard {
        number: o.number.to_string(),
        customer_id: order.customer_id.to_string(),
        lines: o
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.name.clone(), l.quantity))
            .collect(),
        total: money(o.total, &o.currency),
        pay_at_pickup,
        expires: o
            .fulfillments
            .iter()
            .find_map(|f| f.code_expires_at.filter(|_| f.status == "ready_for_pickup"))
            .map(|t| t.to_rfc3339()[..16].replace('T', " "))
            .unwrap_or_default(),
    }
}

use super::amount_text as money;

#[derive(Template)]
#[template(path = "store/pickups.html")]
struct DeskPage {
    t: &'static Texts,
    shell: Shell,
    stores: Vec<(String, String, bool)>,
    location: String,
    /// The order a code was checked for, with the code to hand it over.
    found: Option<(OrderCard, String)>,
    handed_over: Option<OrderCard>,
    notice: Option<String>,
    waiting: Vec<OrderCard>,
}

/// The locations offering `offer` whose desk this member may work (only its own when
/// it is bound to one), and the one chosen (the first when none is).
pub(super) fn stores(
    all: Vec<LocationRecord>,
    offer: Offer,
    own: Option<LocationId>,
    chosen: Option<&str>,
) -> (Vec<(String, String, bool)>, Option<LocationId>) {
    let stores: Vec<&LocationRecord> = all
        .iter()
        .filter(|l| l.offers(offer) && own.is_none_or(|own| own == l.id))
        .collect();
    let pick = chosen
        .and_then(|c| c.parse::<LocationId>().ok())
        .filter(|c| stores.iter().any(|s| s.id == *c))
        .or_else(|| stores.first().map(|s| s.id));
    (
        stores
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone(), Some(s.id) == pick))
            .collect(),
        pick,
    )
}

/// Every location, and the store this member works at when it is bound to one.
pub(super) async fn desk_locations(
    state: &AppState,
    staff: &Staff,
) -> Result<(Vec<LocationRecord>, Option<LocationId>), AppError> {
    let commerce = state.hilo.commerce();
    Ok((
        commerce.locations().await?,
        commerce.desk_of(&staff.principal).await?,
    ))
}

/// What the desk says when it refuses a code, in the staff's language.
pub(super) fn refusal_text(t: &'static Texts, error: &AppError) -> Option<String> {
    let s = &t.store;
    Some(match error {
        AppError::PickupRefused(PickupRefusal::UnknownCode) => {
            format!("{} {}", s.refused, s.unknown_code)
        }
        AppError::PickupRefused(PickupRefusal::OtherStore(name)) => {
            format!("{} {} {name}", s.refused, s.other_store)
        }
        AppError::PickupRefused(PickupRefusal::NotWaiting(status)) => {
            format!("{} {} ({status})", s.refused, s.not_waiting)
        }
        AppError::PickupRefused(PickupRefusal::Expired) => format!("{} {}", s.refused, s.expired),
        AppError::OtherDesk(own) => format!("{} {} {own}", s.refused, s.works_at),
        AppError::Invalid(_) => format!("{} {}", s.refused, s.not_a_code),
        AppError::RateLimited { .. } => s.too_many.to_owned(),
        _ => return None,
    })
}

struct DeskView {
    found: Option<(OrderCard, String)>,
    handed_over: Option<OrderCard>,
    notice: Option<String>,
}

async fn desk_page(
    state: &AppState,
    staff: &Staff,
    chosen: Option<&str>,
    status: StatusCode,
    view: DeskView,
) -> Response {
    let commerce = state.hilo.commerce();
    let (all, own) = match desk_locations(state, staff).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let (stores, pick) = stores(all, Offer::Pickup, own, chosen);
    let waiting = match pick {
        Some(location) => match commerce.waiting_pickups(location).await {
            Ok(orders) => orders.iter().map(card).collect(),
            Err(error) => return failure(error, staff.t),
        },
        None => Vec::new(),
    };
    let page = DeskPage {
        t: staff.t,
        shell: staff.shell(Area::Store),
        stores,
        location: pick.map(|p| p.to_string()).unwrap_or_default(),
        found: view.found,
        handed_over: view.handed_over,
        notice: view.notice,
        waiting,
    };
    render(status, &page)
}

async fn desk(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::WorkStoreDesk) {
        return refused;
    }
    let view = DeskView {
        found: None,
        handed_over: None,
        notice: None,
    };
    desk_page(
        &state,
        &staff,
        params.get("location").map(String::as_str),
        StatusCode::OK,
        view,
    )
    .await
}

/// The desk form's fields.
pub(super) fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

async fn desk_answer(
    state: &AppState,
    staff: &Staff,
    form: &HashMap<String, String>,
    result: Result<OrderView, AppError>,
    handing_over: bool,
) -> Response {
    let location = Some(field(form, "location"));
    match result {
        Ok(order) => {
            let view = if handing_over {
                DeskView {
                    found: None,
                    handed_over: Some(card(&order)),
                    notice: None,
                }
            } else {
                DeskView {
                    found: Some((card(&order), field(form, "code").to_owned())),
                    handed_over: None,
                    notice: None,
                }
            };
            desk_page(state, staff, location, StatusCode::OK, view).await
        }
        Err(error) => match refusal_text(staff.t, &error) {
            Some(notice) => {
                let view = DeskView {
                    found: None,
                    handed_over: None,
                    notice: Some(notice),
                };
                desk_page(
                    state,
                    staff,
                    location,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    view,
                )
                .await
            }
            None => failure(error, staff.t),
        },
    }
}

fn location_of(form: &HashMap<String, String>) -> Option<LocationId> {
    field(form, "location").parse().ok()
}

async fn check(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::WorkStoreDesk, field(&form, "csrf")) {
        return refused;
    }
    let Some(location) = location_of(&form) else {
        return failure(AppError::NotFound, staff.t);
    };
    let commerce: Commerce<'_> = state.hilo.commerce();
    let result = commerce
        .check_pickup(location, field(&form, "code"), &staff.principal)
        .await;
    desk_answer(&state, &staff, &form, result, false).await
}

async fn collect(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::WorkStoreDesk, field(&form, "csrf")) {
        return refused;
    }
    let Some(location) = location_of(&form) else {
        return failure(AppError::NotFound, staff.t);
    };
    let by = field(&form, "collected_by").trim();
    let result = state
        .hilo
        .commerce()
        .collect(
            location,
            field(&form, "code"),
            (!by.is_empty()).then_some(by),
            &staff.principal,
        )
        .await;
    desk_answer(&state, &staff, &form, result, true).await
}

#[derive(Template)]
#[template(path = "store/stock.html")]
struct StockPage {
    t: &'static Texts,
    shell: Shell,
    stores: Vec<(String, String, bool)>,
    location: String,
    query: String,
    products: Vec<ProductStock>,
}

struct ProductStock {
    name: String,
    sku: String,
    price: String,
    /// (location, on hand, reserved, available)
    levels: Vec<(String, i64, i64, i64)>,
    /// (store, km, available, ready at)
    nearest: Vec<(String, f64, i64, String)>,
}

async fn stock(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::WorkStoreDesk) {
        return refused;
    }
    let commerce = state.hilo.commerce();
    let (all, own) = match desk_locations(&state, &staff).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let names: HashMap<LocationId, String> = all.iter().map(|l| (l.id, l.name.clone())).collect();
    let here = params
        .get("location")
        .and_then(|l| l.parse::<LocationId>().ok())
        .or(own)
        .and_then(|id| all.iter().find(|l| l.id == id))
        .or_else(|| all.iter().find(|l| l.offers(Offer::Pickup)))
        .map(|l| (l.id, l.point));
    // Stock is looked up from any store: the chooser only says where "near" is.
    let (stores, _) = stores(
        all.clone(),
        Offer::Pickup,
        None,
        here.map(|h| h.0.to_string()).as_deref(),
    );
    let query = params
        .get("q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let mut products = Vec::new();
    if !query.is_empty() {
        let found = match commerce.products(Some(&query), None, 20).await {
            Ok(found) => found,
            Err(AppError::Invalid(_)) => Vec::new(),
            Err(error) => return failure(error, staff.t),
        };
        let spanish = staff.t.lang == "es";
        for product in found {
            for variant in &product.variants {
                let levels = match commerce.stock(&variant.sku).await {
                    Ok(levels) => levels,
                    Err(error) => return failure(error, staff.t),
                };
                let nearest = match here {
                    Some((_, point)) => match commerce.availability(&variant.sku, point, 5).await {
                        Ok(found) => found
                            .into_iter()
                            .map(|a| {
                                (
                                    a.name,
                                    a.distance_km,
                                    a.available,
                                    a.ready_at.to_rfc3339()[..16].replace('T', " "),
                                )
                            })
                            .collect(),
                        Err(error) => return failure(error, staff.t),
                    },
                    None => Vec::new(),
                };
                products.push(ProductStock {
                    name: if spanish {
                        product.name_es.clone()
                    } else {
                        product.name_en.clone()
                    },
                    sku: variant.sku.clone(),
                    price: variant
                        .prices
                        .first()
                        .map(|p| money(p.amount, p.currency.as_str()))
                        .unwrap_or_default(),
                    levels: levels
                        .iter()
                        .map(|l| {
                            (
                                names.get(&l.location_id).cloned().unwrap_or_default(),
                                l.level.on_hand,
                                l.level.reserved,
                                l.level.available(),
                            )
                        })
                        .collect(),
                    nearest,
                });
            }
        }
    }
    let page = StockPage {
        t: staff.t,
        shell: staff.shell(Area::Store),
        stores,
        location: here.map(|h| h.0.to_string()).unwrap_or_default(),
        query,
        products,
    };
    render(StatusCode::OK, &page).into_response()
}

#[derive(Template)]
#[template(path = "store/returns.html")]
struct ReturnsPage {
    t: &'static Texts,
    shell: Shell,
    stores: Vec<(String, String, bool)>,
    location: String,
    notice: Option<String>,
    received: bool,
    /// What may come back: `(sku, name, quantity, fixed)`; fixed for a return started
    /// online (its items), at most `quantity` otherwise (what the order left with).
    items: Vec<(String, String, i64, bool)>,
    number: String,
    return_code: String,
    contact: String,
    /// The order's currency, which a refund is in.
    currency: String,
    /// The number of the order an exchange was handed over with.
    exchange: Option<String>,
}

struct ReturnsView {
    notice: Option<String>,
    received: bool,
    exchange: Option<String>,
    currency: String,
    items: Vec<(String, String, i64, bool)>,
    number: String,
    return_code: String,
    contact: String,
}

impl ReturnsView {
    fn empty() -> Self {
        Self {
            notice: None,
            received: false,
            exchange: None,
            currency: String::new(),
            items: Vec::new(),
            number: String::new(),
            return_code: String::new(),
            contact: String::new(),
        }
    }
}

async fn returns_page(
    state: &AppState,
    staff: &Staff,
    chosen: Option<&str>,
    status: StatusCode,
    view: ReturnsView,
) -> Response {
    let (all, own) = match desk_locations(state, staff).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let (stores, pick) = stores(all, Offer::Returns, own, chosen);
    let page = ReturnsPage {
        t: staff.t,
        shell: staff.shell(Area::Store),
        stores,
        location: pick.map(|p| p.to_string()).unwrap_or_default(),
        notice: view.notice,
        received: view.received,
        items: view.items,
        number: view.number,
        return_code: view.return_code,
        contact: view.contact,
        currency: view.currency,
        exchange: view.exchange,
    };
    render(status, &page)
}

async fn returns_desk(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::WorkStoreDesk) {
        return refused;
    }
    returns_page(
        &state,
        &staff,
        params.get("location").map(String::as_str),
        StatusCode::OK,
        ReturnsView::empty(),
    )
    .await
}

/// An email or a phone as typed at the desk.
pub(super) fn contact_of(
    state: &AppState,
    text: &str,
) -> Option<hilo_domain::customers::identity::Identifier> {
    use hilo_domain::customers::identity::{Identifier, IdentifierType};
    let kind = if text.contains('@') {
        IdentifierType::email()
    } else {
        IdentifierType::phone()
    };
    Identifier::normalize(kind, text.trim(), &state.hilo.settings().default_region).ok()
}

async fn find_return(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::WorkStoreDesk, field(&form, "csrf")) {
        return refused;
    }
    let location = Some(field(&form, "location"));
    let commerce = state.hilo.commerce();
    let code = field(&form, "return_code").trim();
    let number = field(&form, "order_number").trim();
    let contact = field(&form, "contact").trim();
    let mut view = ReturnsView::empty();
    let found = if !code.is_empty() {
        match commerce.return_for_code(code).await {
            Ok(found) if found.record.status == "requested" => {
                match commerce.order(found.record.order_id).await {
                    Ok(order) => {
                        view.number = order.record.number.to_string();
                        view.currency = order.record.currency.clone();
                        view.return_code = code.to_owned();
                        view.items = found
                            .record
                            .lines
                            .iter()
                            .map(|l| {
                                let name = order
                                    .record
                                    .lines
                                    .iter()
                                    .find(|o| o.sku == l.sku)
                                    .map(|o| o.name.clone())
                                    .unwrap_or_default();
                                (l.sku.clone(), name, l.quantity, true)
                            })
                            .collect();
                        true
                    }
                    Err(error) => return failure(error, staff.t),
                }
            }
            Ok(_) | Err(AppError::NotFound | AppError::Invalid(_)) => false,
            Err(error) => return failure(error, staff.t),
        }
    } else {
        match (number.parse::<i64>().ok(), contact_of(&state, contact)) {
            (Some(number), Some(who)) => match commerce.order_for_contact(number, &who).await {
                Ok(order) => {
                    view.number = number.to_string();
                    view.currency = order.record.currency.clone();
                    view.contact = contact.to_owned();
                    view.items = order
                        .record
                        .reservations
                        .iter()
                        .filter(|r| r.state == "sold")
                        .map(|r| {
                            let name = order
                                .record
                                .lines
                                .iter()
                                .find(|o| o.sku == r.sku)
                                .map(|o| o.name.clone())
                                .unwrap_or_default();
                            (r.sku.clone(), name, r.quantity, false)
                        })
                        .collect();
                    !view.items.is_empty()
                }
                Err(AppError::NotFound) => false,
                Err(error) => return failure(error, staff.t),
            },
            _ => false,
        }
    };
    if !found {
        view = ReturnsView::empty();
        view.notice = Some(staff.t.store.no_return.to_owned());
        return returns_page(
            &state,
            &staff,
            location,
            StatusCode::UNPROCESSABLE_ENTITY,
            view,
        )
        .await;
    }
    returns_page(&state, &staff, location, StatusCode::OK, view).await
}

async fn receive_return(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let single = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let many = |name: &str| {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    if let Some(refused) = staff.refused_form(Permission::WorkStoreDesk, single("csrf")) {
        return refused;
    }
    let Ok(location) = single("location").parse::<LocationId>() else {
        return failure(AppError::NotFound, staff.t);
    };
    let mut items = Vec::new();
    for ((sku, quantity), disposition) in many("sku")
        .into_iter()
        .zip(many("quantity"))
        .zip(many("disposition"))
    {
        let quantity: i64 = quantity.trim().parse().unwrap_or(0);
        let disposition =
            match hilo_domain::commerce::returns::Disposition::parse("disposition", disposition) {
                Ok(d) => d,
                Err(_) => return failure(AppError::NotFound, staff.t),
            };
        if quantity > 0 {
            items.push((sku.to_owned(), quantity, disposition));
        }
    }
    let chosen = Some(single("location"));
    if items.is_empty() {
        let mut view = ReturnsView::empty();
        view.notice = Some(staff.t.store.nothing_chosen.to_owned());
        return returns_page(
            &state,
            &staff,
            chosen,
            StatusCode::UNPROCESSABLE_ENTITY,
            view,
        )
        .await;
    }
    let by = if single("return_code").trim().is_empty() {
        match (
            single("order_number").trim().parse::<i64>().ok(),
            contact_of(&state, single("contact")),
        ) {
            (Some(number), Some(contact)) => {
                hilo_app::commerce::ReturnedBy::Order { number, contact }
            }
            _ => return failure(AppError::NotFound, staff.t),
        }
    } else {
        hilo_app::commerce::ReturnedBy::Code(single("return_code").to_owned())
    };
    let refund = match refund_of(single("refund"), single("currency"), single("reference")) {
        Ok(refund) => refund,
        Err(()) => {
            let mut view = ReturnsView::empty();
            view.notice = Some(format!(
                "{} {}",
                staff.t.store.refused, staff.t.store.not_an_amount
            ));
            return returns_page(
                &state,
                &staff,
                chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await;
        }
    };
    let exchange_sku = single("exchange_sku").trim();
    let exchange = (!exchange_sku.is_empty()).then(|| hilo_app::commerce::Exchange {
        lines: vec![hilo_app::commerce::LineRequest {
            sku: exchange_sku.to_owned(),
            quantity: single("exchange_quantity").trim().parse().unwrap_or(0),
        }],
        fulfillment: hilo_app::commerce::FulfillmentRequest::Counter(location),
    });
    let result = state
        .hilo
        .commerce()
        .receive_return(
            hilo_app::commerce::Receipt {
                location,
                by,
                items,
                reason: single("reason").to_owned(),
                refund,
                exchange,
            },
            &staff.principal,
        )
        .await;
    let mut view = ReturnsView::empty();
    match result {
        Ok((_, exchanged)) => {
            view.received = true;
            view.exchange = exchanged.map(|o| o.record.number.to_string());
        }
        Err(AppError::OutOfStock { available, .. }) => {
            view.notice = Some(format!(
                "{} {} {} {available}",
                staff.t.store.refused, staff.t.store.exchange, staff.t.store.only_available
            ));
            return returns_page(&state, &staff, chosen, StatusCode::CONFLICT, view).await;
        }
        Err(
            error @ (AppError::Invalid(_)
            | AppError::Conflict(_)
            | AppError::NotFound
            | AppError::OtherDesk(_)),
        ) => {
            view.notice = Some(refusal_text(staff.t, &error).unwrap_or_else(|| {
                format!(
                    "{} {}",
                    staff.t.store.refused,
                    crate::ApiError::from(error).message
                )
            }));
            return returns_page(
                &state,
                &staff,
                chosen,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await;
        }
        Err(error) => return failure(error, staff.t),
    }
    returns_page(&state, &staff, chosen, StatusCode::OK, view).await
}

/// A refund as typed at the desk: an amount such as `12.50` or `12,50` in the order's
/// currency, and the terminal's reference. Nothing typed is no refund; anything else
/// that is not an amount is refused.
fn refund_of(
    amount: &str,
    currency: &str,
    reference: &str,
) -> Result<Option<serde_json::Value>, ()> {
    let amount = amount.trim();
    if amount.is_empty() {
        return Ok(None);
    }
    let minor = super::amount_from_text(amount).ok_or(())?;
    let currency: hilo_domain::commerce::money::Currency = currency.parse().map_err(|_| ())?;
    let reference = reference.trim();
    Ok(Some(serde_json::json!({
        "amount": {"amount": minor, "currency": currency.as_str()},
        "reference": if reference.is_empty() { "desk" } else { reference },
        "status": "refunded",
    })))
}
