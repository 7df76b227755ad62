//! Customers: search by name, email, phone or any identifier, and the customer 360 —
//! identities, traits, consent, conversations and the timeline across every channel,
//! with filters.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::customers::{CustomerView, TimelineItem};
use hilo_domain::{CustomerId, PageRequest, Permission};
use hilo_store::conversations::ConversationFilter;
use serde::Deserialize;

use super::conversations::{best_label, short_time, status_label};
use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(search))
        .route("/customers/{id}", get(customer))
        .route("/customers/{id}/unmerge", post(unmerge))
        .route("/customers/{id}/erase", post(erase))
}

const RESULTS: u32 = 25;
/// Timeline items read for one page of the 360, before its filters.
const TIMELINE_READ: u32 = 200;

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    after: Option<String>,
    /// Set after an erasure, to say it was done.
    erased: Option<String>,
}

#[derive(Template)]
#[template(path = "customers/search.html")]
struct SearchPage {
    t: &'static Texts,
    shell: Shell,
    q: String,
    searched: bool,
    rows: Vec<CustomerRow>,
    next: Option<String>,
    notice: Option<&'static str>,
}

struct CustomerRow {
    id: String,
    name: String,
    identities: String,
    last_seen: String,
}

async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<SearchQuery>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadCustomers) {
        return refused;
    }
    let t = staff.t;
    let q = query.q.unwrap_or_default();
    let searched = !q.trim().is_empty();
    let (found, next) = if searched {
        match state
            .hilo
            .customers()
            .search(
                &q,
                query.after.as_deref().filter(|a| !a.is_empty()),
                RESULTS,
            )
            .await
        {
            Ok(found) => found,
            Err(error) => return failure(error, t),
        }
    } else {
        (Vec::new(), None)
    };
    let rows = found
        .iter()
        .map(|c| CustomerRow {
            id: c.id.to_string(),
            name: best_label(c),
            identities: c
                .identities
                .iter()
                .take(4)
                .map(|i| format!("{}: {}", i.kind, i.value))
                .collect::<Vec<_>>()
                .join(" · "),
            last_seen: c.last_seen.map(short_time).unwrap_or_default(),
        })
        .collect();
    let page = SearchPage {
        t,
        shell: staff.shell(Area::Customers),
        next: next.map(|cursor| {
            format!(
                "/console/customers?q={}&after={}",
                super::shell::encode(&q),
                super::shell::encode(&cursor)
            )
        }),
        q,
        searched,
        rows,
        notice: query.erased.is_some().then_some(t.people.erased),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct TimelineQuery {
    /// `unmerged`: say the last unmerge was done.
    done: Option<String>,
    /// Only items of this channel (web, sms, whatsapp, email, voice, …).
    channel: Option<String>,
    /// Only items of this type (event, message, call, …).
    r#type: Option<String>,
    /// Older items: the cursor the previous page ended with.
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "customers/customer.html")]
struct CustomerPage {
    t: &'static Texts,
    shell: Shell,
    id: String,
    name: String,
    identities: Vec<IdentityRow>,
    traits: Vec<(String, String)>,
    consent: Vec<ConsentRow>,
    /// Every consent decision, newest first.
    consent_history: Vec<ConsentRow>,
    conversations: Vec<ConversationRow>,
    /// Their orders on every channel, newest first: `(number, status, total, items)`.
    orders: Vec<(String, String, String, String)>,
    /// Their cart and wish list: `(quantity, name, sku)`.
    cart: Vec<(i64, String, String)>,
    wishlist: Vec<(i64, String, String)>,
    timeline: Vec<TimelineRow>,
    /// The next, older page of the timeline, with the same filters.
    older: Option<String>,
    /// The newest page again, when this one is older.
    newest: Option<String>,
    channels: Vec<FilterLink>,
    types: Vec<FilterLink>,
    merged: usize,
    merges: Vec<MergeLine>,
    conflicts: Vec<ConflictLine>,
    may_unmerge: bool,
    may_export: bool,
    may_erase: bool,
    export: String,
    notice: Option<&'static str>,
}

struct MergeLine {
    id: String,
    identifier: String,
    at: String,
    undone: Option<String>,
}

struct ConflictLine {
    reason: String,
    identifier: String,
    at: String,
}

struct IdentityRow {
    kind: String,
    value: String,
    first_seen: String,
    last_seen: String,
    sources: String,
}

struct ConsentRow {
    channel: String,
    purpose: String,
    granted: bool,
    at: String,
    via: String,
}

struct ConversationRow {
    id: String,
    status_label: &'static str,
    at: String,
}

struct TimelineRow {
    channel: String,
    item_type: String,
    title: String,
    detail: String,
    at: String,
    datetime: String,
}

/// A filter of the timeline, as a link: its label, its address, whether it is on.
struct FilterLink {
    label: String,
    href: String,
    current: bool,
}

async fn customer(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(filters): Query<TimelineQuery>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadCustomers) {
        return refused;
    }
    let t = staff.t;
    let Ok(id) = id.parse::<CustomerId>() else {
        return failure(hilo_app::AppError::NotFound, t);
    };
    let customers = state.hilo.customers();
    let view = match customers.get(id).await {
        Ok(view) => view,
        Err(error) => return failure(error, t),
    };
    let (merges, conflicts) = if staff.principal.allows(Permission::ReadIdentityConflicts) {
        match customers.identity_history(view.id).await {
            Ok(history) => history,
            Err(error) => return failure(error, t),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let before = filters.before.as_deref().filter(|b| !b.is_empty());
    let (items, next) = match customers.timeline(view.id, before, TIMELINE_READ).await {
        Ok(read) => read,
        Err(error) => return failure(error, t),
    };
    let consent_history = match customers.consent_history(view.id).await {
        Ok(history) => history
            .into_iter()
            .rev()
            .map(|c| ConsentRow {
                granted: c.granted != 0,
                at: short_time(hilo_domain::Timestamp::from_millis(c.at)),
                via: match c.actor {
                    Some(actor) => format!("{} · {actor}", c.via),
                    None => c.via,
                },
                channel: c.channel,
                purpose: c.purpose,
            })
            .collect(),
        Err(error) => return failure(error, t),
    };
    let conversations = if staff.principal.allows(Permission::ReadConversations) {
        let filter = ConversationFilter {
            customer: Some(view.id),
            ..ConversationFilter::default()
        };
        let page = PageRequest {
            limit: 20,
            after: None,
        };
        match state.hilo.conversations().list(filter, &page).await {
            Ok(found) => found
                .items
                .into_iter()
                .map(|c| ConversationRow {
                    id: c.id.to_string(),
                    status_label: status_label(t, c.status.as_str()),
                    at: short_time(c.last_message_at),
                })
                .collect(),
            Err(error) => return failure(error, t),
        }
    } else {
        Vec::new()
    };
    let base = format!("/console/customers/{}", view.id);
    let channel = filters.channel.as_deref().unwrap_or("");
    let kind = filters.r#type.as_deref().unwrap_or("");
    let channels = filter_links(
        t,
        &base,
        "channel",
        channel,
        items.iter().map(|i| i.channel.as_str()),
    );
    let types = filter_links(
        t,
        &base,
        "type",
        kind,
        items.iter().map(|i| i.item_type.as_str()),
    );
    let timeline = items
        .iter()
        .filter(|i| channel.is_empty() || i.channel == channel)
        .filter(|i| kind.is_empty() || i.item_type == kind)
        .map(timeline_row)
        .collect();
    let with_filters = |before: Option<&str>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("channel", channel), ("type", kind)] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        if let Some(before) = before {
            query.append_pair("before", before);
        }
        let query = query.finish();
        if query.is_empty() {
            base.clone()
        } else {
            format!("{base}?{query}")
        }
    };
    let older = next.as_deref().map(|next| with_filters(Some(next)));
    let newest = before.map(|_| with_filters(None));
    // What they buy and keep, as every channel sees it (for those who may read it).
    let (orders, cart, wishlist) = if staff.principal.allows(Permission::ReadOrders) {
        let commerce = state.hilo.commerce();
        let who = hilo_app::commerce::CustomerRef::Id(view.id);
        let lines = |cart: hilo_app::commerce::CartView| -> Vec<(i64, String, String)> {
            cart.lines
                .iter()
                .map(|(line, variant)| {
                    let name = variant
                        .as_ref()
                        .map(|v| {
                            if t.lang == "es" {
                                v.name_es.clone()
                            } else {
                                v.name_en.clone()
                            }
                        })
                        .unwrap_or_default();
                    (line.quantity, name, line.sku.clone())
                })
                .collect()
        };
        match (
            commerce.orders_of(&who, None, 10).await,
            commerce
                .list(&who, hilo_app::commerce::ListKind::Cart)
                .await,
            commerce
                .list(&who, hilo_app::commerce::ListKind::Wishlist)
                .await,
        ) {
            (Ok(orders), Ok(cart), Ok(wishlist)) => (
                orders
                    .iter()
                    .map(|o| {
                        let r = &o.record;
                        (
                            r.number.to_string(),
                            r.status.clone(),
                            super::amount_text(r.total, &r.currency),
                            r.lines
                                .iter()
                                .map(|l| format!("{} × {}", l.quantity, l.name))
                                .collect::<Vec<_>>()
                                .join(", "),
                        )
                    })
                    .collect(),
                lines(cart),
                lines(wishlist),
            ),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                return failure(error, t);
            }
        }
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let page = CustomerPage {
        t,
        shell: staff.shell(Area::Customers),
        id: view.id.to_string(),
        name: best_label(&view),
        identities: identity_rows(&view),
        traits: view
            .traits
            .iter()
            .map(|(k, v)| (k.clone(), super::conversations::trait_text(v)))
            .collect(),
        consent: view
            .consent
            .iter()
            .map(|((channel, purpose), state)| ConsentRow {
                channel: channel.clone(),
                purpose: purpose.clone(),
                granted: state.granted,
                at: short_time(state.at),
                via: state.via.clone(),
            })
            .collect(),
        consent_history,
        conversations,
        orders,
        cart,
        wishlist,
        timeline,
        older,
        newest,
        channels,
        types,
        merged: view.merged_ids.len(),
        merges: merges
            .into_iter()
            .map(|m| MergeLine {
                identifier: format!("{}: {}", m.identifier_kind, m.identifier_value),
                at: short_time(hilo_domain::Timestamp::from_millis(m.at)),
                undone: m
                    .undone_at
                    .map(|at| short_time(hilo_domain::Timestamp::from_millis(at))),
                id: m.id,
            })
            .collect(),
        conflicts: conflicts
            .into_iter()
            .map(|c| ConflictLine {
                reason: c.reason,
                identifier: format!("{}: {}", c.identifier_kind, c.identifier_value),
                at: short_time(hilo_domain::Timestamp::from_millis(c.at)),
            })
            .collect(),
        may_unmerge: staff.principal.allows(Permission::UnmergeCustomers),
        may_export: staff.principal.allows(Permission::ExportCustomers),
        may_erase: staff.principal.allows(Permission::EraseCustomers),
        export: format!("/api/v1/customers/{}/export", view.id),
        notice: match filters.done.as_deref() {
            Some("unmerged") => Some(t.people.unmerged),
            _ => None,
        },
    };
    render(StatusCode::OK, &page)
}

fn identity_rows(view: &CustomerView) -> Vec<IdentityRow> {
    view.identities
        .iter()
        .map(|i| IdentityRow {
            kind: i.kind.clone(),
            value: i.value.clone(),
            first_seen: short_time(i.first_seen),
            last_seen: short_time(i.last_seen),
            sources: i.sources.join(", "),
        })
        .collect()
}

/// "All" and each value seen, as links that keep the other filter out.
fn filter_links<'a>(
    t: &'static Texts,
    base: &str,
    key: &str,
    current: &str,
    values: impl Iterator<Item = &'a str>,
) -> Vec<FilterLink> {
    let mut seen: Vec<&str> = values.filter(|v| !v.is_empty()).collect();
    seen.sort_unstable();
    seen.dedup();
    if !current.is_empty() && !seen.contains(&current) {
        seen.push(current);
    }
    std::iter::once(FilterLink {
        label: t.conversations.all.to_owned(),
        href: base.to_owned(),
        current: current.is_empty(),
    })
    .chain(seen.into_iter().map(|value| FilterLink {
        label: value.to_owned(),
        href: format!("{base}?{key}={}", super::shell::encode(value)),
        current: value == current,
    }))
    .collect()
}

fn timeline_row(item: &TimelineItem) -> TimelineRow {
    let text = |key: &str| {
        item.body
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let title = match item.item_type.as_str() {
        "event" | "commerce" => item.name.clone().unwrap_or_else(|| item.kind.clone()),
        _ => format!("{} · {}", item.item_type, item.kind),
    };
    let detail = match item.item_type.as_str() {
        "message" => text("content"),
        "event" => item
            .body
            .get("properties")
            .map(|p| p.to_string())
            .filter(|p| p != "{}" && p != "null")
            .unwrap_or_default(),
        // An order by its number and total; a cart line by its SKU and units.
        "commerce" => {
            let number = text("number");
            let amount = item.body.get("total").and_then(serde_json::Value::as_i64);
            match (number.is_empty(), amount) {
                (false, Some(total)) => format!(
                    "#{number} · {}",
                    super::amount_text(total, &text("currency"))
                ),
                (false, None) => format!("#{number}"),
                _ => {
                    let units = item
                        .body
                        .get("quantity")
                        .and_then(serde_json::Value::as_i64);
                    format!("{} × {}", units.unwrap_or(1), text("sku"))
                }
            }
        }
        _ => String::new(),
    };
    TimelineRow {
        channel: item.channel.clone(),
        item_type: item.item_type.clone(),
        title,
        detail: detail.chars().take(300).collect(),
        at: short_time(item.at),
        datetime: item.at.to_rfc3339(),
    }
}

#[derive(Deserialize)]
struct UnmergeForm {
    #[serde(default)]
    csrf: String,
    merge_id: Option<String>,
}

/// Undoes one merge (an admin's action); back to the customer who remains.
async fn unmerge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<UnmergeForm>,
) -> Response {
    let id: CustomerId = match staff.form_target(Permission::UnmergeCustomers, &form.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match state
        .hilo
        .customers()
        .unmerge(id, form.merge_id.as_deref(), &staff.principal)
        .await
    {
        Ok(unmerged) => Redirect::to(&format!(
            "/console/customers/{}?done=unmerged",
            unmerged.survivor.id
        ))
        .into_response(),
        Err(error) => failure(error, staff.t),
    }
}

#[derive(Deserialize)]
struct EraseForm {
    #[serde(default)]
    csrf: String,
    /// The box that says the admin means it.
    confirm: Option<String>,
}

/// Erases the customer for good (an admin's action, confirmed); back to the search.
async fn erase(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<EraseForm>,
) -> Response {
    let id: CustomerId = match staff.form_target(Permission::EraseCustomers, &form.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let t = staff.t;
    if form.confirm.is_none() {
        return super::shell::with_headers(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::response::Html(t.people.erase_unconfirmed),
            )
                .into_response(),
        );
    }
    match state
        .hilo
        .customers()
        .erase(id, true, &staff.principal)
        .await
    {
        Ok(_) => Redirect::to("/console/customers?erased=1").into_response(),
        Err(error) => failure(error, t),
    }
}
