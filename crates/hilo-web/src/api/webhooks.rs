//! `/api/v1/webhooks`: endpoints that receive signed events, for admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_app::webhooks::{EndpointEdit, NewEndpoint};
use hilo_domain::webhooks::EventType;
use hilo_domain::{Permission, WebhookId};
use hilo_store::webhooks::{AttemptRecord, EndpointRecord};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(update).delete(delete))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/test", post(test))
        .route("/webhooks/{id}/secret/rotate", post(rotate_secret))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, list, show, update, delete, deliveries, test, rotate_secret),
    components(schemas(Webhook, CreatedWebhook, NewWebhook, WebhookChange, Delivery, TestSent)),
    tags((name = "webhooks", description = "Signed outbound webhooks (Standard Webhooks)"))
)]
pub struct WebhooksApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub description: String,
    /// The events it receives.
    pub events: Vec<String>,
    /// `enabled`; `failing` while every attempt since `failing_since` has failed;
    /// `disabled` by an admin, or after failing for five days.
    pub status: String,
    pub failing_since: Option<String>,
    pub disabled_at: Option<String>,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_` + base64), shown only in this response and when
    /// rotated. Verify every delivery with it.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST events: http(s), a public address unless the server allows
    /// private ones.
    #[schema(
        max_length = 2000,
        pattern = "^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?[.])*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?([/?#][!-~]*)?$",
        example = "https://hooks.example.com/hilo"
    )]
    pub url: String,
    /// Events to receive; see docs/API.md for the list.
    #[schema(schema_with = event_names, min_items = 1, example = json!(["customer.created", "customer.merged"]))]
    pub events: Vec<String>,
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    #[schema(
        max_length = 2000,
        pattern = "^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?[.])*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?([/?#][!-~]*)?$"
    )]
    pub url: Option<String>,
    #[schema(schema_with = event_names_or_null)]
    pub events: Option<Vec<String>>,
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub description: Option<String>,
    /// `true` enables the endpoint again and forgets its failures; `false` disables it.
    pub enabled: Option<bool>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The `webhook-id` header: the same on every attempt of one message.
    pub message_id: String,
    pub event_type: String,
    pub at: String,
    /// The receiver's HTTP status; `null` when no answer came.
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    /// The first bytes of the answer, or what went wrong.
    pub response: String,
    pub succeeded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    /// The test message's `webhook-id`; its attempts appear under deliveries.
    pub message_id: String,
}

/// At least one event name among those an endpoint may subscribe to.
fn event_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(EventType::subscribable().map(EventType::as_str))),
        )
        .min_items(Some(1))
        .build()
}

/// The same, or `null` (which keeps the endpoint's events).
fn event_names_or_null() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut array = event_names();
    array.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    array
}

fn view(endpoint: EndpointRecord) -> Webhook {
    let status = if endpoint.disabled_at.is_some() {
        "disabled"
    } else if endpoint.failing_since.is_some() {
        "failing"
    } else {
        "enabled"
    };
    Webhook {
        id: endpoint.id.to_string(),
        url: endpoint.url,
        description: endpoint.description,
        events: endpoint.events.iter().map(|e| e.to_string()).collect(),
        status: status.to_owned(),
        failing_since: endpoint.failing_since.map(|t| t.to_rfc3339()),
        disabled_at: endpoint.disabled_at.map(|t| t.to_rfc3339()),
        disabled_reason: endpoint.disabled_reason,
        created_at: endpoint.created_at.to_rfc3339(),
        updated_at: endpoint.updated_at.to_rfc3339(),
    }
}

fn with_secret(endpoint: EndpointRecord) -> CreatedWebhook {
    let secret = endpoint.secret.expose().to_owned();
    CreatedWebhook {
        webhook: view(endpoint),
        secret,
    }
}

fn delivery_view(attempt: AttemptRecord) -> Delivery {
    Delivery {
        id: attempt.id,
        message_id: attempt.message_id,
        event_type: attempt.event_type.to_string(),
        at: attempt.at.to_rfc3339(),
        status_code: attempt.status_code,
        duration_ms: attempt.duration_ms,
        response: attempt.response,
        succeeded: attempt.succeeded,
    }
}

/// Create a webhook endpoint
///
/// Admins only. The response holds the signing secret; it is never shown again.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses(
        (status = 201, body = CreatedWebhook),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let body: NewWebhook = body.parse()?;
    let endpoint = state
        .hilo
        .webhooks()
        .create(&NewEndpoint {
            url: &body.url,
            events: &body.events,
            description: body.description.as_deref(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(with_secret(endpoint))))
}

/// List webhook endpoints
///
/// Admins only. Each says whether it is enabled, failing or disabled, and why.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(Paging),
    responses(
        (status = 200, body = List<Webhook>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<List<Webhook>>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let page = state.hilo.webhooks().list(&paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

/// Get a webhook endpoint
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, body = Webhook),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
) -> Result<Json<Webhook>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.webhooks().get(id).await?)))
}

/// Change a webhook endpoint
///
/// Admins only. Fields left out keep their value; `"enabled": true` turns a disabled
/// endpoint back on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id")),
    request_body = WebhookChange,
    responses(
        (status = 200, body = Webhook),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
    body: JsonBody,
) -> Result<Json<Webhook>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let body: WebhookChange = body.parse()?;
    let id = id.id()?;
    let endpoint = state
        .hilo
        .webhooks()
        .update(
            id,
            &EndpointEdit {
                url: body.url.as_deref(),
                events: body.events.as_deref(),
                description: body.description.as_deref(),
                enabled: body.enabled,
            },
        )
        .await?;
    Ok(Json(view(endpoint)))
}

/// Delete a webhook endpoint
///
/// Admins only. Its messages and attempts go with it; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let id = id.id()?;
    state.hilo.webhooks().delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List an endpoint's delivery attempts
///
/// Admins only. Newest first: each attempt's status code, duration and the first
/// bytes of the answer.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id"), Paging),
    responses(
        (status = 200, body = List<Delivery>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
    paging: Paging,
) -> Result<Json<List<Delivery>>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let id = id.id()?;
    let page = state.hilo.webhooks().attempts(id, &paging.request).await?;
    Ok(Json(List::from_page(page, delivery_view)))
}

/// Send a test event
///
/// Admins only. Queues a `webhook.test` message for this endpoint alone, delivered
/// like any other (signed, retried).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id")),
    responses(
        (status = 202, body = TestSent),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
) -> Result<(StatusCode, Json<TestSent>), ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let id = id.id()?;
    let message_id = state.hilo.webhooks().send_test(id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestSent { message_id })))
}

/// Rotate the signing secret
///
/// Admins only. The new secret signs every delivery from now on, retries of earlier
/// messages included; it is shown only in this response.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/secret/rotate", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, body = CreatedWebhook),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<WebhookId>,
) -> Result<Json<CreatedWebhook>, ApiError> {
    caller.require(Permission::ManageWebhooks)?;
    let id = id.id()?;
    Ok(Json(with_secret(
        state.hilo.webhooks().rotate_secret(id).await?,
    )))
}
