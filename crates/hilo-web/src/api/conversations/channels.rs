//! `/api/v1/channels`: admins configure channels under each provider's own setting
//! names; credentials are sealed at rest and shown masked.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hilo_app::conversations::channels::{ChannelView, CreatedChannel};
use hilo_domain::conversations::ChannelType;
use hilo_domain::conversations::channel::Kind;
use hilo_domain::{ChannelId, Permission};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::api::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list).post(create))
        .route("/channels/{id}", get(show).patch(update).delete(delete))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, list, show, update, delete),
    components(schemas(Channel, MailboxBody, CreatedChannelBody, NewChannel, ChannelChangeBody)),
    tags((name = "conversations", description = "Channels, conversations and messages"))
)]
pub struct ChannelsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Channel {
    pub id: String,
    /// web_chat, email, twilio_sms, twilio_whatsapp, whatsapp_cloud, messenger,
    /// instagram, voice or api.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// The settings, each credential masked to its last four characters.
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Where the provider must post its webhooks; `null` for channels that receive
    /// otherwise (web chat over WebSocket, email over SMTP or IMAP).
    pub webhook_url: Option<String>,
    /// For a web chat, the tag to paste into a site's pages (before `</body>`) to show
    /// the chat; `null` for other channels.
    pub widget_snippet: Option<String>,
    /// For an email channel that reads an IMAP mailbox: `checked_at`, when it was last
    /// read (`null` before the first reading), and `error`, why it could not be read
    /// then (`null` when it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxBody>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxBody {
    pub checked_at: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedChannelBody {
    #[serde(flatten)]
    pub channel: Channel,
    /// Credentials Hilo made for the channel (a web chat's `identity_secret`, an API
    /// channel's `signing_secret`), shown in this response only.
    #[schema(value_type = Object)]
    pub generated_secrets: Map<String, Value>,
}

/// A new channel. The settings each type takes are stated per type in this schema.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub settings: Map<String, Value>,
}

/// A change: a new name, and settings to replace (`null` removes an optional one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChangeBody {
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub settings: Option<Map<String, Value>>,
}

fn view(channel: ChannelView) -> Channel {
    Channel {
        id: channel.id.to_string(),
        kind: channel.kind.as_str().to_owned(),
        name: channel.name,
        settings: channel.settings,
        webhook_url: channel.webhook_url,
        widget_snippet: channel.widget_snippet,
        mailbox: channel.mailbox.map(|m| MailboxBody {
            checked_at: m.checked_at.map(|t| t.to_rfc3339()),
            error: m.error,
        }),
        created_at: channel.created_at.to_rfc3339(),
        updated_at: channel.updated_at.to_rfc3339(),
    }
}

fn created(created: CreatedChannel) -> CreatedChannelBody {
    CreatedChannelBody {
        channel: view(created.channel),
        generated_secrets: created
            .generated
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect(),
    }
}

/// Create a channel
///
/// Admins only. Give the provider's credentials here; they are sealed at rest and
/// never shown in full again. The response's `webhook_url` is what the provider must
/// be given.
#[utoipa::path(post, path = "/api/v1/channels", tag = "conversations", request_body = NewChannel,
    responses(
        (status = 201, body = CreatedChannelBody),
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
) -> Result<(StatusCode, Json<CreatedChannelBody>), ApiError> {
    caller.require(Permission::ManageChannels)?;
    let body: NewChannel = body.parse()?;
    let channel = state
        .hilo
        .channels()
        .create(&body.kind, &body.name, &body.settings)
        .await?;
    Ok((StatusCode::CREATED, Json(created(channel))))
}

/// List channels
#[utoipa::path(get, path = "/api/v1/channels", tag = "conversations", params(Paging),
    responses(
        (status = 200, body = List<Channel>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<List<Channel>>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let page = state.hilo.channels().list(&paging.request).await?;
    Ok(Json(List::from_page(page, view)))
}

/// Get a channel
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 200, body = Channel),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ChannelId>,
) -> Result<Json<Channel>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let id = id.id()?;
    Ok(Json(view(state.hilo.channels().get(id).await?)))
}

/// Change a channel
///
/// Admins only. The settings given replace the stored ones, `null` removes an
/// optional one, and the others stay: a credential can be rotated alone.
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Channel id")),
    request_body = ChannelChangeBody,
    responses(
        (status = 200, body = Channel),
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
    id: IdPath<ChannelId>,
    body: JsonBody,
) -> Result<Json<Channel>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let body: ChannelChangeBody = body.parse()?;
    let id = id.id()?;
    let channel = state
        .hilo
        .channels()
        .update(id, body.name.as_deref(), body.settings.as_ref())
        .await?;
    Ok(Json(view(channel)))
}

/// Delete a channel
///
/// Admins only. Its webhooks are refused from now on and its credentials forgotten;
/// its messages stay in their conversations.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Channel id")),
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
    id: IdPath<ChannelId>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let id = id.id()?;
    state.hilo.channels().delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Text a person writes: no control characters, something besides spaces.
fn text_schema(max: usize) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": max,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f\u{85}][^\\x00-\\x1f\\x7f-\\x9f]*$"
    })
}

/// A setting's value as the server checks it. Where no pattern can say it all (a
/// phone number the numbering plan allows, an email address), the schema is looser
/// than the check, which answers 400 naming the setting.
fn value_schema(kind: Kind) -> Value {
    match kind {
        Kind::Text => text_schema(1_000),
        Kind::Secret => {
            let mut schema = text_schema(1_000);
            schema["writeOnly"] = json!(true);
            schema["description"] = json!("A credential: sealed at rest, shown masked");
            schema
        }
        Kind::Sid(prefix) => {
            json!({"type": "string", "pattern": format!("^{prefix}[0-9A-Fa-f]{{32}}$")})
        }
        Kind::Phone => json!({"type": "string", "minLength": 1, "maxLength": 1000,
            "description": "A phone number in E.164, such as +34600000000"}),
        Kind::Digits => json!({"type": "string", "pattern": "^[0-9]{1,40}$"}),
        Kind::Url => json!({"type": "string", "minLength": 1, "maxLength": 1000,
            "description": "An http(s) URL, such as https://api.twilio.com"}),
        Kind::Email => json!({"type": "string", "minLength": 1, "maxLength": 1000,
            "description": "An email address"}),
        Kind::Host => json!({"type": "string", "pattern": "^[A-Za-z0-9.:\\[\\]-]{1,253}$"}),
        Kind::Port => json!({"type": "integer", "minimum": 1, "maximum": 65535}),
        Kind::Security => json!({"type": "string", "enum": ["starttls", "tls", "none"]}),
        Kind::Flag => json!({"type": "boolean"}),
        Kind::Origins => json!({"type": "array", "maxItems": 50,
            "items": {"type": "string", "description": "scheme://host[:port]"}}),
    }
}

/// States the settings each channel type takes, from the same list the server checks.
pub fn describe_settings(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Schema};
    let variants: Vec<Value> = ChannelType::ALL
        .into_iter()
        .map(|kind| {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in kind.fields() {
                properties.insert(field.name.to_owned(), value_schema(field.kind));
                if field.required {
                    required.push(field.name);
                }
            }
            let settings = json!({
                "type": "object", "properties": properties, "required": required,
                "additionalProperties": false,
            });
            let mut variant = json!({
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": [kind.as_str()]},
                    "name": text_schema(200),
                    "settings": settings,
                },
                "required": ["type", "name"],
                "additionalProperties": false,
            });
            if !required.is_empty() {
                variant["required"] = json!(["type", "name", "settings"]);
            }
            variant
        })
        .collect();
    let new_channel = json!({
        "description": "A new channel: its type, a name, and the settings of that type \
                        under the provider's own names.",
        "oneOf": variants,
    });
    let change = json!({
        "type": "object",
        "properties": {
            "name": {"anyOf": [text_schema(200), {"type": "null"}]},
            "settings": {"type": ["object", "null"], "description": "Settings of the channel's type to replace; a setting set to null is removed"},
        },
        "additionalProperties": false,
    });
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in [("NewChannel", new_channel), ("ChannelChangeBody", change)] {
        if let Ok(schema) = serde_json::from_value::<RefOr<Schema>>(schema) {
            components.schemas.insert(name.to_owned(), schema);
        }
    }
}
