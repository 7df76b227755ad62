//! `/api/v1/customers`: one profile per customer across every channel.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hilo_app::customers::{CustomerView, TimelineItem, Unmerged};
use hilo_domain::{CustomerId, PageRequest, Permission};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::IdPath;
use crate::auth::Caller;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub identities: Vec<CustomerIdentity>,
    /// The newest value of each trait across every channel.
    #[schema(value_type = Object)]
    pub traits: Map<String, Value>,
    pub computed: Computed,
    /// Consent per channel and purpose.
    #[schema(value_type = Object)]
    pub consent: Map<String, Value>,
    /// Ids of profiles merged into this one; any of them finds this profile.
    pub merged_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerIdentity {
    /// user_id, anonymous_id, email, phone, or a custom type such as loyalty_card.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub first_seen: String,
    pub last_seen: String,
    /// Ids of the sources that sent it.
    pub sources: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Computed {
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: i64,
    /// Channels the customer was seen on.
    pub channels: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    pub data: Vec<Customer>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: String,
    /// event, staff, message, survey or commerce (carts, wish lists, orders).
    #[serde(rename = "type")]
    pub item_type: String,
    /// For events: identify, track, page, screen, group or alias.
    pub kind: String,
    /// The event or page name.
    pub name: Option<String>,
    pub channel: String,
    pub source_id: Option<String>,
    pub at: String,
    pub received_at: String,
    /// The item as stored (for events, the Segment message).
    #[schema(value_type = Object)]
    pub body: Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// Traits to set; `null` removes one. Names have 1 to 100 characters; at most 200
    /// at once, each value at most 8 KiB as JSON.
    #[schema(schema_with = trait_map)]
    pub traits: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// At least one: the identifiers staff know (email, phone, loyalty card…).
    #[schema(min_items = 1, max_items = 50)]
    pub identifiers: Vec<NewIdentifier>,
    #[serde(default)]
    #[schema(schema_with = trait_map)]
    pub traits: Map<String, Value>,
    /// Where the customer was met: pos, call_center, kiosk… or console (the default).
    #[serde(default = "console")]
    #[schema(pattern = "^(console|web|app|pos|kiosk|call_center|voice_assistant|server)$")]
    pub channel: String,
}

fn console() -> String {
    "console".to_owned()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdentifier {
    /// user_id, anonymous_id, email, phone or a custom type (a loyalty card…).
    #[serde(rename = "type")]
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,40}$")]
    pub kind: String,
    /// Emails and phones must parse as such.
    #[schema(min_length = 1, max_length = 255, pattern = "[^\\s\\u0085]")]
    pub value: String,
}

/// Traits as staff set them: names of 1 to 100 characters, at most 200 at once.
fn trait_map() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(100)),
        ))
        .max_properties(Some(200))
        .build()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    #[schema(min_items = 1)]
    pub changes: Vec<ConsentDecision>,
    /// Where the customer gave or withdrew it: pos, call_center, web… (default `api`).
    #[serde(default = "api")]
    #[schema(min_length = 1, max_length = 40)]
    pub via: String,
}

fn api() -> String {
    "api".to_owned()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDecision {
    /// email, sms, whatsapp, push or phone.
    #[schema(pattern = "^(email|sms|whatsapp|push|phone)$")]
    pub channel: String,
    /// marketing or service.
    #[schema(pattern = "^(marketing|service)$")]
    pub purpose: String,
    pub granted: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// Remember the identifiers (as keyed digests only) so later events carrying them
    /// are dropped instead of recreating the person. Default true.
    pub suppress: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EraseResult {
    pub erased: bool,
    pub profiles: u64,
    pub identities: u64,
    pub timeline_items: u64,
    pub consents: u64,
    /// Other customers' items that quoted this person's identifiers, now redacted.
    pub redacted_items: u64,
    pub suppressed: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeRequest {
    /// The merge to undo; the most recent one when absent.
    pub merge_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnmergeResult {
    pub merge_id: String,
    /// The customer that had absorbed the other.
    pub survivor: Customer,
    /// The customer restored as it was.
    pub restored: Customer,
}

/// `{"email": {"marketing": {"granted": true, "at": "…", "via": "web"}}}`
fn consent_view(consent: &hilo_app::customers::privacy::ConsentMap) -> Map<String, Value> {
    let mut out = Map::new();
    for ((channel, purpose), state) in consent {
        let entry = out
            .entry(channel.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(purposes) = entry {
            purposes.insert(
                purpose.clone(),
                serde_json::json!({"granted": state.granted, "at": state.at.to_rfc3339(), "via": state.via}),
            );
        }
    }
    out
}

pub fn view(customer: CustomerView) -> Customer {
    Customer {
        id: customer.id.to_string(),
        identities: customer
            .identities
            .into_iter()
            .map(|i| CustomerIdentity {
                kind: i.kind,
                value: i.value,
                first_seen: i.first_seen.to_rfc3339(),
                last_seen: i.last_seen.to_rfc3339(),
                sources: i.sources,
            })
            .collect(),
        traits: customer.traits,
        computed: Computed {
            first_seen: customer.first_seen.map(|t| t.to_rfc3339()),
            last_seen: customer.last_seen.map(|t| t.to_rfc3339()),
            event_count: customer.event_count,
            channels: customer.channels,
        },
        consent: consent_view(&customer.consent),
        merged_ids: customer
            .merged_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        created_at: customer.created_at.to_rfc3339(),
        updated_at: customer.updated_at.to_rfc3339(),
    }
}

fn entry(item: TimelineItem) -> TimelineEntry {
    TimelineEntry {
        id: item.id,
        item_type: item.item_type,
        kind: item.kind,
        name: item.name,
        channel: item.channel,
        source_id: item.source_id,
        at: item.at.to_rfc3339(),
        received_at: item.received_at.to_rfc3339(),
        body: item.body,
    }
}

fn page_request(params: &HashMap<String, String>) -> Result<PageRequest, ApiError> {
    Ok(PageRequest::parse(
        params.get("limit").map(String::as_str),
        params.get("cursor").map(String::as_str),
    )?)
}

/// Get a customer
///
/// By id; an id merged into another customer finds the survivor.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "Customer id, live or merged away")),
    responses(
        (status = 200, body = Customer),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Permission::ReadCustomers)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.customers().get(id).await?)))
}

/// Look a customer up by any identifier
#[utoipa::path(get, path = "/api/v1/customers/lookup", tag = "customers",
    params(
        ("type" = String, Query, pattern = "^[A-Za-z0-9_.-]{1,40}$", description = "user_id, anonymous_id, email, phone or a custom type"),
        ("value" = String, Query, min_length = 1, max_length = 255, pattern = "[^\\s\\u0085]", description = "The identifier; emails and phones are normalised first"),
    ),
    responses(
        (status = 200, body = Customer),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Permission::ReadCustomers)?;
    let kind = params
        .get("type")
        .ok_or_else(|| ApiError::invalid("type", "is required"))?;
    let value = params
        .get("value")
        .ok_or_else(|| ApiError::invalid("value", "is required"))?;
    Ok(Json(view(
        state.hilo.customers().lookup(kind, value).await?,
    )))
}

/// Search customers
///
/// By name, email, phone or any identifier or trait value. `q` is split into words at
/// every character that is not a letter or a digit; a customer is found when they hold
/// each of them, the last one by prefix as it is being typed (unless it is a single
/// character), with case and Latin accents aside: `jose garc` finds José García. Digits written as a phone
/// number (`+34 666 12 34 56`, `666123456`) are one word, found with or without the
/// country code. At most 8 words count. Customers with the words written together as
/// typed come first (`jose garc`: the name José García; `garcía lópez, josé` too, a
/// value's last word being followed by its first), then those holding them apart (in
/// an email, in two traits); the first part's last page may hold fewer than `limit`,
/// its `next_cursor` always leading to the others, whose first page is empty when
/// nobody holds the words apart (finding out would cost the first page the work of
/// the second). The index follows writes by a moment.
/// Without `q` (or with no letter or digit in it), every customer in id order.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(
        ("q" = Option<String>, Query, max_length = 200, description = "Words to find in identifiers and trait values, by prefix"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200; 50 when absent"),
        ("cursor" = Option<String>, Query, max_length = 176, pattern = "^[A-Za-z0-9_-]*$", description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, body = CustomerList),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CustomerList>, ApiError> {
    caller.require(Permission::ReadCustomers)?;
    let page = page_request(&params)?;
    let query = params.get("q").map_or("", String::as_str);
    if query.chars().count() > 200 {
        return Err(ApiError::invalid("q", "must have at most 200 characters"));
    }
    let (customers, next) = state
        .hilo
        .customers()
        .search(query, page.after.as_ref().map(|c| c.as_str()), page.limit)
        .await?;
    Ok(Json(CustomerList {
        data: customers.into_iter().map(view).collect(),
        next_cursor: next.map(|key| hilo_domain::page::Cursor::new(key).encode()),
    }))
}

/// A customer's timeline
///
/// Everything about the customer across channels, newest first, each item with its
/// channel and source.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers",
    params(
        ("id" = String, Path, description = "Customer id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200; 50 when absent"),
        ("cursor" = Option<String>, Query, max_length = 176, pattern = "^[A-Za-z0-9_-]*$", description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, body = Timeline),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Timeline>, ApiError> {
    caller.require(Permission::ReadCustomers)?;
    let id = id.id()?;
    let page = page_request(&params)?;
    let (items, next) = state
        .hilo
        .customers()
        .timeline(id, page.after.as_ref().map(|c| c.as_str()), page.limit)
        .await?;
    Ok(Json(Timeline {
        data: items.into_iter().map(entry).collect(),
        next_cursor: next.map(|key| hilo_domain::page::Cursor::new(key).encode()),
    }))
}

/// Edit a customer's traits
///
/// Staff edits win over older values from any channel; recorded with who made them.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerPatch,
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = Customer),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
    body: JsonBody,
) -> Result<Json<Customer>, ApiError> {
    let principal = caller.require(Permission::EditCustomers)?;
    let body: CustomerPatch = body.parse()?;
    let id = id.id()?;
    Ok(Json(view(
        state
            .hilo
            .customers()
            .patch(id, &body.traits, principal)
            .await?,
    )))
}

/// Register a customer
///
/// From staff input, e.g. a store or call-center agent. The identifiers are resolved
/// like those of any event: when they belong to a customer already, that customer is
/// updated and returned with 200; otherwise a new one is returned with 201.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer,
    responses(
        (status = 201, body = Customer, description = "A new customer"),
        (status = 200, body = Customer, description = "An existing customer, updated"),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let principal = caller.require(Permission::EditCustomers)?;
    let body: NewCustomer = body.parse()?;
    let identifiers: Vec<(String, String)> = body
        .identifiers
        .into_iter()
        .map(|i| (i.kind, i.value))
        .collect();
    let (customer, created) = state
        .hilo
        .customers()
        .register(&identifiers, &body.traits, &body.channel, principal)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(customer))))
}

/// Record consent
///
/// Consent per channel and purpose, with its history; the newest decision counts.
#[utoipa::path(post, path = "/api/v1/customers/{id}/consent", tag = "customers", request_body = ConsentRequest,
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = Customer),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
    body: JsonBody,
) -> Result<Json<Customer>, ApiError> {
    let principal = caller.require(Permission::EditCustomers)?;
    let body: ConsentRequest = body.parse()?;
    let id = id.id()?;
    let changes: Vec<(String, String, bool)> = body
        .changes
        .into_iter()
        .map(|c| (c.channel, c.purpose, c.granted))
        .collect();
    Ok(Json(view(
        state
            .hilo
            .customers()
            .set_consent(id, &changes, &body.via, principal)
            .await?,
    )))
}

/// Export everything about a customer
///
/// Identities, traits, consent history, the whole timeline, merges and conflicts, as one
/// JSON document. Admins only.
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = Object),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExportCustomers)?;
    let id = id.id()?;
    Ok(Json(state.hilo.customers().export(id).await?))
}

/// Erase a customer
///
/// Deletes everything about the person everywhere; by default their identifiers are
/// suppressed so later events do not recreate them. An audit record without personal
/// data remains. Admins only.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", request_body(content = Option<EraseRequest>, description = "Optional; without a body, identifiers are suppressed"),
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = EraseResult),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
    body: JsonBody,
) -> Result<Json<EraseResult>, ApiError> {
    let principal = caller.require(Permission::EraseCustomers)?;
    let request: EraseRequest = body.parse_optional()?.unwrap_or_default();
    let id = id.id()?;
    let suppress = request.suppress.unwrap_or(true);
    let erased = state
        .hilo
        .customers()
        .erase(id, suppress, principal)
        .await?;
    Ok(Json(EraseResult {
        erased: true,
        profiles: erased.profiles,
        identities: erased.identities,
        timeline_items: erased.timeline_items,
        consents: erased.consents,
        redacted_items: erased.redacted_items,
        suppressed: suppress,
    }))
}

/// Undo a merge
///
/// Both profiles come back as they were, with their identities, traits and timelines,
/// and will not merge again on their own.
#[utoipa::path(post, path = "/api/v1/customers/{id}/unmerge", tag = "customers", request_body(content = Option<UnmergeRequest>, description = "Optional; without a body, the most recent merge is undone"),
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = UnmergeResult),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn unmerge(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<CustomerId>,
    body: JsonBody,
) -> Result<Json<UnmergeResult>, ApiError> {
    let principal = caller.require(Permission::UnmergeCustomers)?;
    // The body is optional: without one, the most recent merge is undone.
    let request: UnmergeRequest = body.parse_optional()?.unwrap_or_default();
    let id = id.id()?;
    let Unmerged {
        merge_id,
        survivor,
        restored,
    } = state
        .hilo
        .customers()
        .unmerge(id, request.merge_id.as_deref(), principal)
        .await?;
    Ok(Json(UnmergeResult {
        merge_id,
        survivor: view(survivor),
        restored: view(restored),
    }))
}
