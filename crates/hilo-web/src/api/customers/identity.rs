//! `/api/v1/identity`: the rules that decide merges, and the conflicts they caught.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use hilo_app::customers::identity_rules::RulesDocument;
use hilo_domain::{PageRequest, Permission, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct Conflict {
    pub id: String,
    pub at: String,
    /// limit_exceeded, separated or unparseable.
    pub reason: String,
    pub detail: String,
    pub identifier_type: String,
    pub identifier_value: String,
    /// The customer the message went to.
    pub customer_id: Option<String>,
    /// The customer that keeps the identifier.
    pub other_customer_id: Option<String>,
    pub message_id: Option<String>,
    pub source_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictList {
    pub data: Vec<Conflict>,
    pub next_cursor: Option<String>,
}

/// The identity rules
#[utoipa::path(get, path = "/api/v1/identity/rules", tag = "customers",
    responses(
        (status = 200, body = RulesBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn get_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RulesDocument>, ApiError> {
    caller.require(Permission::ReadIdentityRules)?;
    let rules = state.hilo.customers().identity_rules().await?;
    Ok(Json(RulesDocument::from(&rules)))
}

/// The identity rules as the API reads and writes them (parsed by the application's
/// `RulesDocument`; this states its shape and limits).
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RulesBody {
    /// Per identifier type (1 to 40 letters, digits, `_`, `.`, `-`): at most `max` per
    /// profile, counting only those first seen in the last `window_days` when set.
    #[schema(schema_with = limits_by_type)]
    limits: std::collections::BTreeMap<String, LimitBody>,
    /// The limit for types not listed.
    default_limit: LimitBody,
    /// Types from most to least trusted, each once.
    #[schema(schema_with = identifier_types)]
    priority: Vec<String>,
    /// Values that never link anything (compared case-insensitively).
    #[schema(max_items = 10000)]
    blocked_values: Vec<String>,
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LimitBody {
    #[schema(minimum = 1, maximum = 1000)]
    max: u32,
    #[schema(minimum = 1, maximum = 3650)]
    window_days: Option<u32>,
}

/// Identifier types, each once.
fn identifier_types() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9_.-]{1,40}$")),
        )
        .unique_items(true)
        .build()
}

fn limits_by_type() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Ref, RefOr, Schema};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9_.-]{1,40}$")),
        ))
        .additional_properties(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(
            "LimitBody",
        ))))
        .build()
}

/// Replace the identity rules
///
/// Admins only. They apply to messages from now on.
#[utoipa::path(put, path = "/api/v1/identity/rules", tag = "customers",
    request_body = RulesBody,
    responses(
        (status = 200, body = RulesBody),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    document: JsonBody,
) -> Result<Json<RulesDocument>, ApiError> {
    caller.require(Permission::ManageIdentityRules)?;
    let document: RulesDocument = document.parse()?;
    let rules = state.hilo.customers().set_identity_rules(&document).await?;
    Ok(Json(RulesDocument::from(&rules)))
}

/// Identity conflicts
///
/// Identifiers the rules kept from linking, newest first. Admins only: they name
/// identifier values.
#[utoipa::path(get, path = "/api/v1/identity/conflicts", tag = "customers",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200; 50 when absent"),
        ("cursor" = Option<String>, Query, max_length = 176, pattern = "^[A-Za-z0-9_-]*$", description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, body = ConflictList),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<ConflictList>, ApiError> {
    caller.require(Permission::ReadIdentityConflicts)?;
    let page = PageRequest::parse(
        params.get("limit").map(String::as_str),
        params.get("cursor").map(String::as_str),
    )?;
    let before = page.after.as_ref().map_or("~", |c| c.as_str());
    let mut rows = state
        .hilo
        .store()
        .identity_conflicts(before, page.limit)
        .await
        .map_err(hilo_app::AppError::from)?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(Json(ConflictList {
        data: rows
            .into_iter()
            .map(|r| Conflict {
                id: r.id,
                at: Timestamp::from_millis(r.at).to_rfc3339(),
                reason: r.reason,
                detail: r.detail,
                identifier_type: r.identifier_kind,
                identifier_value: r.identifier_value,
                customer_id: r.profile_id,
                other_customer_id: r.other_profile_id,
                message_id: r.message_id,
                source_id: r.source_id,
            })
            .collect(),
        next_cursor: next.map(|key| hilo_domain::page::Cursor::new(key).encode()),
    }))
}
