//! Agents and auto-assignment: `GET /api/v1/agents` (who answers, how available, how
//! loaded), `PATCH /api/v1/agents/{id}` (availability; capacity for admins), and
//! `GET/PUT /api/v1/assignment` (admins).

use axum::extract::State;
use axum::routing::{get, patch};
use axum::{Json, Router};
use hilo_app::conversations::assignment::AgentChange;
use hilo_domain::conversations::assignment::{AssignmentSettings, Availability, Strategy};
use hilo_domain::{Permission, UserId};
use hilo_store::conversations::AgentRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::api::IdPath;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list))
        .route("/agents/{id}", patch(change))
        .route("/assignment", get(settings).put(set_settings))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, change, settings, set_settings),
    components(schemas(Agent, AgentList, AgentChangeBody, AssignmentBody))
)]
pub struct AgentsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Agent {
    /// The console user's id.
    pub id: String,
    pub email: String,
    pub name: String,
    /// admin or agent.
    pub role: String,
    /// online (takes new conversations), busy (keeps theirs, takes none) or offline.
    pub availability: String,
    /// Their own most open conversations; `null`: the assignment settings' default.
    pub capacity: Option<u32>,
    /// Open and pending conversations assigned to them now.
    pub open_conversations: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub data: Vec<Agent>,
}

/// A change to an agent: a field left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentChangeBody {
    /// online, busy or offline. Going offline gives their open and pending
    /// conversations back to the queue.
    #[schema(pattern = "^(online|busy|offline)$")]
    pub availability: Option<String>,
    /// Admins only: their most open conversations (1 to 1000), or `null` for the
    /// default.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "present")]
    pub capacity: Option<Value>,
}

/// Tells a field given as `null` from one left out.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// How waiting conversations are given to agents.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    /// Give waiting conversations (open, nobody's) to agents online, oldest first.
    pub enabled: bool,
    /// round_robin (each in turn) or least_loaded (the fewest open conversations).
    #[schema(pattern = "^(round_robin|least_loaded)$")]
    pub strategy: String,
    /// Most open conversations an agent without a capacity of their own is given.
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(deserialize_with = "crate::json::whole_number")]
    pub default_capacity: u32,
}

fn agent(record: AgentRecord) -> Agent {
    Agent {
        id: record.user.to_string(),
        email: record.email,
        name: record.name,
        role: record.role,
        availability: record.availability.as_str().to_owned(),
        capacity: record.capacity,
        open_conversations: record.open,
    }
}

fn body(settings: AssignmentSettings) -> AssignmentBody {
    AssignmentBody {
        enabled: settings.enabled,
        strategy: match settings.strategy {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastLoaded => "least_loaded",
        }
        .to_owned(),
        default_capacity: settings.default_capacity,
    }
}

/// List the agents
///
/// Admins and agents: the console users who answer customers, with their
/// availability and how many open conversations they have.
#[utoipa::path(get, path = "/api/v1/agents", tag = "conversations",
    responses(
        (status = 200, body = AgentList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AgentList>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let agents = state.hilo.conversations().agents().await?;
    Ok(Json(AgentList {
        data: agents.into_iter().map(agent).collect(),
    }))
}

/// Change an agent's availability or capacity
///
/// An agent changes their own availability (signed in to the console); admins change
/// anyone's, and capacities. 403 otherwise; 404 for a user who does not answer
/// customers.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "conversations",
    params(("id" = String, Path, description = "The agent's user id")),
    request_body = AgentChangeBody,
    responses(
        (status = 200, body = Agent),
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
    id: IdPath<UserId>,
    json: JsonBody,
) -> Result<Json<Agent>, ApiError> {
    let principal = caller.require(Permission::WorkConversations)?;
    let id = id.id()?;
    let given: AgentChangeBody = json.parse()?;
    let availability = given
        .availability
        .as_deref()
        .map(str::parse::<Availability>)
        .transpose()?;
    let capacity = match given.capacity {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value) => Some(Some(
            value
                .as_f64()
                .and_then(crate::json::whole)
                .ok_or_else(|| hilo_domain::Invalid::new("capacity", "must be from 1 to 1000"))?,
        )),
    };
    let record = state
        .hilo
        .conversations()
        .change_agent(
            id,
            AgentChange {
                availability,
                capacity,
            },
            principal,
        )
        .await?;
    Ok(Json(agent(record)))
}

/// How conversations are assigned
#[utoipa::path(get, path = "/api/v1/assignment", tag = "conversations",
    responses(
        (status = 200, body = AssignmentBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AssignmentBody>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    Ok(Json(body(
        state.hilo.conversations().assignment_settings().await?,
    )))
}

/// Choose how conversations are assigned
///
/// Admins only. With `enabled`, waiting conversations (open, nobody's) go to the agents
/// online under their capacity, oldest first: now, and whenever a conversation starts,
/// a bot hands one off, an agent comes online or frees room.
#[utoipa::path(put, path = "/api/v1/assignment", tag = "conversations", request_body = AssignmentBody,
    responses(
        (status = 200, body = AssignmentBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn set_settings(
    State(state): State<AppState>,
    caller: Caller,
    json: JsonBody,
) -> Result<Json<AssignmentBody>, ApiError> {
    caller.require(Permission::ManageChannels)?;
    let given: AssignmentBody = json.parse()?;
    let strategy = match given.strategy.as_str() {
        "round_robin" => Strategy::RoundRobin,
        "least_loaded" => Strategy::LeastLoaded,
        _ => {
            return Err(hilo_domain::Invalid::new(
                "strategy",
                "must be round_robin or least_loaded",
            )
            .into());
        }
    };
    let settings = state
        .hilo
        .conversations()
        .set_assignment_settings(AssignmentSettings {
            enabled: given.enabled,
            strategy,
            default_capacity: given.default_capacity,
        })
        .await?;
    Ok(Json(body(settings)))
}
