//! `POST /api/v1/calls`: calls from any phone system — started, answered, ended — as
//! Twilio's voice webhooks report them for Twilio numbers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hilo_app::conversations::calls::call_json;
use hilo_app::conversations::providers::CallReport;
use hilo_domain::conversations::call::CallStatus;
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{ChannelId, Invalid, Permission, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/calls", post(report))
}

#[derive(OpenApi)]
#[openapi(paths(report), components(schemas(CallReportBody, RecordedCallBody)))]
pub struct CallsApi;

/// A report about a call: the first for an `external_id` makes the call, later ones
/// move it on (answered, ended, recorded).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallReportBody {
    /// A voice channel.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub channel_id: String,
    /// The phone system's id for the call.
    #[schema(min_length = 1, max_length = 200, pattern = "^[!-~]+$")]
    pub external_id: String,
    /// `inbound` (the customer called) or `outbound`.
    #[schema(pattern = "^(inbound|outbound)$")]
    pub direction: Option<String>,
    /// The calling number (the customer's, for an inbound call).
    #[schema(max_length = 100)]
    pub from: Option<String>,
    #[schema(max_length = 100)]
    pub to: Option<String>,
    /// ringing, in_progress, completed, missed, busy or failed.
    #[schema(pattern = "^(ringing|in_progress|completed|missed|busy|failed)$")]
    pub status: Option<String>,
    #[schema(minimum = 0, maximum = 86400)]
    pub duration_seconds: Option<i64>,
    #[schema(max_length = 2000)]
    pub recording_url: Option<String>,
    /// The console user who took the call.
    #[schema(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub agent_id: Option<String>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedCallBody {
    pub conversation_id: String,
    pub customer_id: String,
    /// The call: `message_id`, `status`, `from`, `to`, `agent_id`, `started_at`,
    /// `answered_at`, `ended_at`, `duration_seconds`, `recording_url`, `notes`.
    #[schema(value_type = Object)]
    pub call: Value,
}

/// Report a call
///
/// Admins and agents (or a phone system's key with the agent role). 201 when the
/// report starts a call: it joins the caller's conversation, and the live feed
/// announces it (`call.started`, with the customer and the conversation). 200 for the
/// reports that follow; a call never moves back (an answer after its end is ignored).
#[utoipa::path(post, path = "/api/v1/calls", tag = "conversations", request_body = CallReportBody,
    responses(
        (status = 200, body = RecordedCallBody),
        (status = 201, body = RecordedCallBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<RecordedCallBody>), ApiError> {
    caller.require(Permission::WorkConversations)?;
    let body: CallReportBody = body.parse()?;
    let channel: ChannelId = super::id_field("channel_id", &body.channel_id)?;
    let inbound = match body.direction.as_deref() {
        None | Some("inbound") => true,
        Some("outbound") => false,
        Some(_) => return Err(Invalid::new("direction", "must be inbound or outbound").into()),
    };
    let (number, field) = if inbound {
        (body.from.as_deref(), "from")
    } else {
        (body.to.as_deref(), "to")
    };
    let region = &state.hilo.settings().default_region;
    let identifiers = match number {
        Some(number) => vec![
            Identifier::normalize(IdentifierType::phone(), number, region)
                .map_err(|e| ApiError::from(e.in_field(field)))?,
        ],
        None => Vec::new(),
    };
    let report = CallReport {
        external_id: body.external_id.clone(),
        inbound,
        customer_address: identifiers
            .first()
            .map(|i| i.value.clone())
            .unwrap_or_default(),
        number_field: field,
        identifiers,
        from: body.from,
        to: body.to,
        status: body
            .status
            .as_deref()
            .map(|s| s.parse::<CallStatus>())
            .transpose()?,
        duration_seconds: match body.duration_seconds {
            Some(d) if !(0..=86_400).contains(&d) => {
                return Err(Invalid::new("duration_seconds", "must be 0 to 86400").into());
            }
            other => other,
        },
        recording_url: body.recording_url,
        agent: body
            .agent_id
            .as_deref()
            .map(|a| super::id_field::<UserId>("agent_id", a))
            .transpose()?,
        notes: body.notes,
    };
    let recorded = state
        .hilo
        .conversations()
        .report_call(channel, &report)
        .await?;
    let status = if recorded.started {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RecordedCallBody {
            conversation_id: recorded.conversation.to_string(),
            customer_id: recorded.customer.to_string(),
            call: call_json(&recorded.call),
        }),
    ))
}
