//! `/api/v1/conversations`: the inbox for admins and agents — the list with its
//! filters, a conversation with its messages across channels, and replies.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hilo_app::conversations::{ConversationView, Reply};
use hilo_domain::conversations::template::Template;
use hilo_domain::{ChannelId, ConversationId, CustomerId, Invalid, Permission, UserId};
use hilo_store::conversations::{ConversationFilter, ConversationRecord, MessageRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::{IdPath, List, Paging};
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{id}", get(show).patch(change))
        .route("/conversations/{id}/events", get(events))
        .route("/conversations/{id}/messages", post(reply))
        .route("/conversations/{id}/typing", post(typing))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, change, events, reply, typing),
    components(schemas(
        Csat,
        Conversation,
        ConversationWithMessages,
        Message,
        MessageError,
        NewReply,
        TemplateBody,
        ConversationChange,
        AuditEvent
    ))
)]
pub struct ThreadsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    /// The live customer it belongs to.
    pub customer_id: String,
    /// open, pending, snoozed, resolved or bot.
    pub status: String,
    pub assignee_id: Option<String>,
    pub team: Option<String>,
    pub subject: Option<String>,
    pub labels: Vec<String>,
    /// The channel the customer wrote on last: where a reply goes by default.
    pub last_channel_id: Option<String>,
    pub snoozed_until: Option<String>,
    pub last_message_at: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationWithMessages {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Every channel in one thread, oldest first (the first 1,000).
    pub messages: Vec<Message>,
    /// The satisfaction survey, once the customer was asked: `requested_at`, and their
    /// `rating` (1 to 5) with `rated_at` once they answered.
    pub csat: Option<Csat>,
    /// Its service levels, when targets were set as it opened: when the first response
    /// and the resolution are due, when they happened, and whether each was missed.
    pub sla: Option<Sla>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sla {
    pub first_response_due_at: Option<String>,
    pub first_replied_at: Option<String>,
    pub first_response_breached: bool,
    pub resolution_due_at: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_breached: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Csat {
    pub requested_at: String,
    pub rating: Option<u8>,
    pub rated_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: String,
    /// inbound (from the customer), outbound (to the customer) or note (staff only).
    pub direction: String,
    /// `null` for a note.
    pub channel_id: Option<String>,
    pub channel_type: Option<String>,
    pub content: String,
    /// Attachments: `[{"url", "content_type"}]`.
    #[schema(value_type = Vec<Object>)]
    pub media: Value,
    /// received, queued, sent, delivered, read or failed.
    pub status: String,
    /// Why it failed, in the provider's words.
    pub error: Option<MessageError>,
    /// customer, or the staff member or key that wrote it (`user:…`, `api_key:…`).
    pub author: String,
    /// For a call (`channel_type` voice): `status`, `from`, `to`, `agent_id`,
    /// `started_at`, `answered_at`, `ended_at`, `duration_seconds`, `recording_url`,
    /// `notes`.
    #[schema(value_type = Option<Object>)]
    pub call: Option<Value>,
    /// For an email (`channel_type` email): `subject`, `message_id`, `in_reply_to`,
    /// `references`, `from`, `to`, `cc`, `html` (sanitised), `quoted` (the history and
    /// signature folded out of `content`) and `attachments` (`id` — `null` when too
    /// large to keep — `filename`, `content_type`, `size`; download from
    /// `/api/v1/attachments/{id}`).
    #[schema(value_type = Option<Object>)]
    pub email: Option<Value>,
    /// For a note: the ids of the agents it mentions (`@lucia`, `@lucia@shop.example`),
    /// each told by a `mention.created` live event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageError {
    /// The provider's error code, such as Twilio's 21211.
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// The text; may be left out when a `template` is sent.
    #[schema(min_length = 1, max_length = 4096, pattern = "[^\\s\u{85}]")]
    pub content: Option<String>,
    /// The channel to send on: any the customer can be reached on. When absent, the
    /// one the customer wrote on last.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub channel_id: Option<String>,
    /// A note for staff, never sent to the customer.
    pub private: Option<bool>,
    /// An approved WhatsApp template, the one thing that may be sent outside the
    /// 24-hour window: `name` (the template's name on WhatsApp Cloud, the Content SID
    /// `HX…` on Twilio), `language` (WhatsApp Cloud: `es`, `en_US`), `parameters`.
    pub template: Option<TemplateBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    #[schema(min_length = 1, max_length = 512)]
    pub name: String,
    #[schema(pattern = "^[a-z]{2,3}(_[A-Z]{2})?$")]
    pub language: Option<String>,
    #[schema(max_items = 20)]
    pub parameters: Option<Vec<String>>,
}

/// What an agent changes; a field left out stays, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationChange {
    /// open, pending, snoozed (with `snoozed_until`), resolved or bot.
    #[schema(pattern = "^(open|pending|snoozed|resolved|bot)$")]
    pub status: Option<String>,
    /// When a snoozed conversation opens again (RFC 3339, in the future); snoozes it.
    #[schema(format = DateTime)]
    pub snoozed_until: Option<String>,
    /// A console user, or `null` to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub assignee_id: Option<Option<String>>,
    /// A team name, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f\u{85}][^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub team: Option<Option<String>>,
    /// Every label the conversation has from now on (up to 20; letters, digits, `-`,
    /// `_`; folded to lower case).
    #[schema(max_items = 20)]
    pub labels: Option<Vec<String>>,
}

/// A field that may be given as `null`: `Some(None)`, where a missing one is `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// One line of a conversation's audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    /// Who: `user:…`, `api_key:…`, or `system` (a snooze that ended).
    pub actor: String,
    /// status, assignee, team or labels.
    pub kind: String,
    /// What changed: `from` and `to`.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// The inbox list's filters.
#[derive(Debug, IntoParams)]
#[expect(
    dead_code,
    reason = "the handler reads the query itself; this states it"
)]
#[into_params(parameter_in = Query)]
pub struct InboxFilters {
    /// Only conversations in this status.
    #[param(required = false, value_type = String, pattern = "^(open|pending|snoozed|resolved|bot)$")]
    pub status: Option<String>,
    /// Only those assigned to this user.
    #[param(required = false, value_type = String, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub assignee: Option<String>,
    /// `true`: only those assigned to nobody.
    #[param(required = false, value_type = bool)]
    pub unassigned: Option<String>,
    /// Only those of this team.
    #[param(required = false, value_type = String, min_length = 1, max_length = 100)]
    pub team: Option<String>,
    /// Only those on this channel.
    #[param(required = false, value_type = String, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub channel_id: Option<String>,
    /// Only this customer's (any of its ids, merged-away ones too).
    #[param(required = false, value_type = String, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub customer_id: Option<String>,
    /// Only those with this label (compared in lower case).
    #[param(required = false, value_type = String, min_length = 1, max_length = 50)]
    pub label: Option<String>,
    /// `true`: only those that missed their first response or resolution target.
    #[param(required = false, value_type = bool)]
    pub sla_breached: Option<String>,
    /// Only those with a message (notes too) holding every word of this text, each
    /// word as a prefix: up to 200 characters and 8 words; one with no letter or digit
    /// filters nothing.
    #[param(required = false, value_type = String, min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

fn id_param<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|text| super::id_field(name, text))
        .transpose()
}

fn filters(
    params: &HashMap<String, String>,
    now: hilo_domain::Timestamp,
) -> Result<ConversationFilter, ApiError> {
    let status = params
        .get("status")
        .map(|s| s.parse().map_err(|e: Invalid| ApiError::from(e)))
        .transpose()?;
    let unassigned = match params.get("unassigned").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Invalid::new("unassigned", "must be true or false").into()),
    };
    let team = match params.get("team") {
        Some(team) if team.is_empty() || team.chars().count() > 100 => {
            return Err(Invalid::new("team", "must be 1 to 100 characters").into());
        }
        other => other.cloned(),
    };
    let label = match params.get("label") {
        Some(label) if label.is_empty() || label.chars().count() > 50 => {
            return Err(Invalid::new("label", "must be 1 to 50 characters").into());
        }
        // A label no conversation can have finds none.
        other => other.map(|label| label.trim().to_lowercase()),
    };
    let breached = match params.get("sla_breached").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Invalid::new("sla_breached", "must be true or false").into()),
    };
    let words = params
        .get("q")
        .map(|text| {
            if text.is_empty() {
                return Err(Invalid::new(
                    "q",
                    "must not be empty: leave it out to list all",
                ));
            }
            hilo_domain::conversations::search::words(text)
        })
        .transpose()?
        // A text with no letter or digit searches for nothing: the plain list.
        .filter(|words| !words.is_empty());
    Ok(ConversationFilter {
        words,
        breached_at: breached.then_some(now),
        label,
        status,
        assignee: id_param::<UserId>(params, "assignee")?,
        unassigned,
        team,
        channel: id_param::<ChannelId>(params, "channel_id")?,
        customer: id_param::<CustomerId>(params, "customer_id")?,
    })
}

fn conversation_view(c: ConversationRecord, customer: String, labels: Vec<String>) -> Conversation {
    Conversation {
        labels,
        id: c.id.to_string(),
        customer_id: customer,
        status: c.status.as_str().to_owned(),
        assignee_id: c.assignee.map(|u| u.to_string()),
        team: c.team,
        subject: c.subject,
        last_channel_id: c.last_channel.map(|x| x.to_string()),
        snoozed_until: c.snoozed_until.map(|t| t.to_rfc3339()),
        last_message_at: c.last_message_at.to_rfc3339(),
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

fn message_view(m: MessageRecord) -> Message {
    let error = if m.error_code.is_some() || m.error_message.is_some() {
        Some(MessageError {
            code: m.error_code,
            message: m.error_message,
        })
    } else {
        None
    };
    Message {
        id: m.id.to_string(),
        direction: m.direction.as_str().to_owned(),
        channel_id: m.channel_id.map(|c| c.to_string()),
        channel_type: m.channel_type.map(|t| t.as_str().to_owned()),
        content: m.content,
        media: m.media,
        status: m.status.as_str().to_owned(),
        error,
        author: m.author,
        call: None,
        email: m.email.and_then(|e| serde_json::to_value(e).ok()),
        mentions: Vec::new(),
        created_at: m.created_at.to_rfc3339(),
        updated_at: m.updated_at.to_rfc3339(),
    }
}

pub(super) fn full_view(view: ConversationView) -> ConversationWithMessages {
    let csat = view.csat.requested_at.map(|requested| Csat {
        requested_at: requested.to_rfc3339(),
        rating: view.csat.rating,
        rated_at: view.csat.rated_at.map(|t| t.to_rfc3339()),
    });
    let record = view.sla.record;
    let sla =
        (record.first_response_due_at.is_some() || record.resolution_due_at.is_some()).then(|| {
            let at = |t: Option<hilo_domain::Timestamp>| t.map(|t| t.to_rfc3339());
            Sla {
                first_response_due_at: at(record.first_response_due_at),
                first_replied_at: at(record.first_replied_at),
                first_response_breached: view.sla.first_response_breached,
                resolution_due_at: at(record.resolution_due_at),
                resolved_at: at(record.resolved_at),
                resolution_breached: view.sla.resolution_breached,
            }
        });
    ConversationWithMessages {
        sla,
        csat,
        conversation: conversation_view(view.conversation, view.customer.to_string(), view.labels),
        messages: view
            .messages
            .into_iter()
            .map(|m| {
                let call = view
                    .calls
                    .iter()
                    .find(|c| c.message_id == m.id)
                    .map(hilo_app::conversations::calls::call_json);
                let mentions = view
                    .mentions
                    .iter()
                    .filter(|(note, _)| *note == m.id)
                    .map(|(_, user)| user.to_string())
                    .collect();
                Message {
                    call,
                    mentions,
                    ..message_view(m)
                }
            })
            .collect(),
    }
}

/// List conversations
///
/// Admins and agents. Most recent activity first, with the filters given.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(InboxFilters, Paging),
    responses(
        (status = 200, body = List<Conversation>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
    paging: Paging,
) -> Result<Json<List<Conversation>>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let filter = filters(&params, state.hilo.now())?;
    let conversations = state.hilo.conversations();
    let page = conversations.list(filter, &paging.request).await?;
    // The live customer of each (a merge since the conversation began moves it) and
    // the labels, for the whole page at once.
    let (roots, mut labels) = state
        .hilo
        .store()
        .page_extras(&page.items)
        .await
        .map_err(hilo_app::AppError::from)?;
    let mut data = Vec::with_capacity(page.items.len());
    for conversation in page.items {
        let customer = roots
            .get(&conversation.profile_id)
            .copied()
            .unwrap_or(conversation.profile_id);
        let labels = labels.remove(&conversation.id).unwrap_or_default();
        data.push(conversation_view(
            conversation,
            customer.to_string(),
            labels,
        ));
    }
    Ok(Json(List {
        data,
        next_cursor: page.next.as_ref().map(hilo_domain::Cursor::encode),
    }))
}

/// Get a conversation with its messages
///
/// Admins and agents. Every channel in one thread, each message marked with its
/// channel and delivery status.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, body = ConversationWithMessages),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let id = id.id()?;
    Ok(Json(full_view(state.hilo.conversations().get(id).await?)))
}

/// Change a conversation
///
/// Admins and agents: status (a snooze needs `snoozed_until`, and ends by itself at
/// that time), assignee, team and labels. Each change is recorded in the audit trail
/// with who made it.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = ConversationChange,
    responses(
        (status = 200, body = ConversationWithMessages),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    body: JsonBody,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let body: ConversationChange = body.parse()?;
    let id = id.id()?;
    let status = body
        .status
        .as_deref()
        .map(|s| s.parse().map_err(ApiError::from))
        .transpose()?;
    let snoozed_until = body
        .snoozed_until
        .as_deref()
        .map(|t| {
            hilo_domain::Timestamp::parse_rfc3339(t)
                .map_err(|e| ApiError::from(e.in_field("snoozed_until")))
        })
        .transpose()?;
    let assignee = match body.assignee_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(super::id_field::<UserId>("assignee_id", &text)?)),
    };
    let change = hilo_domain::conversations::work::WorkChange {
        status,
        snoozed_until,
        assignee,
        team: body.team,
        labels: body.labels,
    };
    let view = state
        .hilo
        .conversations()
        .change(id, &change, principal)
        .await?;
    Ok(Json(full_view(view)))
}

/// A conversation's audit trail
///
/// Admins and agents. Who did what to the conversation, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/events", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id"), Paging),
    responses(
        (status = 200, body = List<AuditEvent>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    paging: Paging,
) -> Result<Json<List<AuditEvent>>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let id = id.id()?;
    let page = state
        .hilo
        .conversations()
        .events(id, &paging.request)
        .await?;
    Ok(Json(List::from_page(page, |e| AuditEvent {
        id: e.id,
        at: e.at.to_rfc3339(),
        actor: e.actor,
        kind: e.kind,
        data: e.data,
    })))
}

/// Reply, or write a private note
///
/// Admins and agents. The reply is stored at once (`queued`) and sent by a job with
/// retries; its status follows the provider's reports. It goes on `channel_id`, or on
/// the channel the customer wrote on last. 409 when the customer has no address on
/// that channel, or on WhatsApp outside the 24-hour customer service window.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = NewReply,
    responses(
        (status = 201, body = Message),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let body: NewReply = body.parse()?;
    let id = id.id()?;
    let channel = body
        .channel_id
        .as_deref()
        .map(|text| super::id_field::<ChannelId>("channel_id", text))
        .transpose()?;
    let message = state
        .hilo
        .conversations()
        .reply(
            id,
            &Reply {
                content: body.content.as_deref().unwrap_or_default(),
                channel,
                private: body.private.unwrap_or(false),
                template: body.template.map(|t| Template {
                    name: t.name,
                    language: t.language,
                    parameters: t.parameters.unwrap_or_default(),
                }),
            },
            principal,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(message_view(message))))
}

/// Say an agent is typing
///
/// Admins and agents, while writing a reply: the conversation's web chat visitor sees
/// that someone is typing, and other agents get `conversation.typing` on
/// `/api/v1/live`. Send it every few seconds while typing; nothing is stored.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/typing", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Told"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    id: IdPath<ConversationId>,
) -> Result<axum::http::StatusCode, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let id = id.id()?;
    state
        .hilo
        .conversations()
        .agent_typing(id, principal)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
