//! Teams: `/api/v1/teams` — admins make them and name their members; agents read them
//! to give a conversation to one (`PATCH /api/v1/conversations/{id}` with `team`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hilo_domain::{Permission, UserId};
use hilo_store::conversations::TeamRecord;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list))
        .route("/teams/{name}", get(show).put(put).delete(delete))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, put, delete),
    components(schemas(Team, TeamList, TeamBody, MemberId))
)]
pub struct TeamsApi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    /// The team's name, as conversations hold it in `team`.
    pub name: String,
    pub description: String,
    /// The users (agents and admins) auto-assignment gives the team's conversations to.
    pub members: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub data: Vec<Team>,
}

/// A team's description and members: what `PUT` writes, whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// User ids of agents or admins, at most 500.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub members: Vec<MemberId>,
}

/// A user's id, as the API writes ids.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    value_type = String,
    pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)]
pub struct MemberId(String);

fn view(team: TeamRecord) -> Team {
    Team {
        name: team.name,
        description: team.description,
        members: team.members.iter().map(ToString::to_string).collect(),
        created_at: team.created_at.to_rfc3339(),
        updated_at: team.updated_at.to_rfc3339(),
    }
}

/// List teams
///
/// Admins and agents, by name, with their members.
#[utoipa::path(get, path = "/api/v1/teams", tag = "conversations",
    responses(
        (status = 200, body = TeamList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TeamList>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    let teams = state.hilo.conversations().teams().await?;
    Ok(Json(TeamList {
        data: teams.into_iter().map(view).collect(),
    }))
}

/// Get a team
#[utoipa::path(get, path = "/api/v1/teams/{name}", tag = "conversations",
    params(("name" = String, Path, description = "The team's name")),
    responses(
        (status = 200, body = Team),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Team>, ApiError> {
    caller.require(Permission::ReadConversations)?;
    Ok(Json(view(state.hilo.conversations().team(&name).await?)))
}

/// Create or replace a team
///
/// Admins only. The name is 1 to 100 characters without control characters; the body
/// replaces the description and the members (201 when the team is new, 200 when it
/// was replaced). A member id that is not an agent's or admin's is a 409.
#[utoipa::path(put, path = "/api/v1/teams/{name}", tag = "conversations",
    params(("name" = String, Path, max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$",
        description = "The team's name: 1 to 100 characters, not only spaces, no control characters")),
    request_body = TeamBody,
    responses(
        (status = 200, body = Team),
        (status = 201, body = Team),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    json: JsonBody,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    caller.require(Permission::ManageChannels)?;
    let body: TeamBody = json.parse()?;
    let members = body
        .members
        .iter()
        .map(|MemberId(id)| super::id_field::<UserId>("members", id))
        .collect::<Result<Vec<_>, _>>()?;
    let (team, created) = state
        .hilo
        .conversations()
        .put_team(&name, &body.description, &members)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(team))))
}

/// Delete a team
///
/// Admins only. Its conversations keep their assignee and lose the team.
#[utoipa::path(delete, path = "/api/v1/teams/{name}", tag = "conversations",
    params(("name" = String, Path, description = "The team's name")),
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
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageChannels)?;
    state.hilo.conversations().delete_team(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
