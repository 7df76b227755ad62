//! Administration of teams: a team's name, what it is for and its members, the agents
//! auto-assignment gives the team's conversations to.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::{Permission, UserId};

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/teams", get(teams).post(save))
        .route("/admin/teams/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/teams.html")]
struct TeamsPage {
    t: &'static Texts,
    shell: Shell,
    teams: Vec<TeamLine>,
    /// Everyone who may be a member, `(user id, name)`, for the new team's form.
    agents: Vec<(String, String)>,
    notice: Option<String>,
}

struct TeamLine {
    name: String,
    description: String,
    /// Every agent, `(user id, name, member)`.
    members: Vec<(String, String, bool)>,
}

async fn teams(State(state): State<AppState>, staff: Staff) -> Response {
    teams_page(&state, &staff, StatusCode::OK, None).await
}

async fn teams_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageChannels) {
        return refused;
    }
    let conversations = state.hilo.conversations();
    let (teams, agents) = match (conversations.teams().await, conversations.agents().await) {
        (Ok(teams), Ok(agents)) => (teams, agents),
        (Err(error), _) | (_, Err(error)) => return failure(error, staff.t),
    };
    let agents: Vec<(UserId, String)> = agents
        .into_iter()
        .map(|a| {
            // Two people may share a name; the address tells them apart.
            let name = if a.name.is_empty() {
                a.email
            } else {
                format!("{} · {}", a.name, a.email)
            };
            (a.user, name)
        })
        .collect();
    let page = TeamsPage {
        t: staff.t,
        shell: staff.shell(Area::Admin),
        teams: teams
            .into_iter()
            .map(|team| TeamLine {
                members: agents
                    .iter()
                    .map(|(user, name)| {
                        (user.to_string(), name.clone(), team.members.contains(user))
                    })
                    .collect(),
                name: team.name,
                description: team.description,
            })
            .collect(),
        agents: agents
            .into_iter()
            .map(|(user, name)| (user.to_string(), name))
            .collect(),
        notice,
    };
    render(status, &page)
}

/// The form's fields; `members` repeats, once per ticked box.
struct TeamForm {
    csrf: String,
    name: String,
    description: String,
    members: Vec<String>,
}

impl TeamForm {
    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self {
            csrf: String::new(),
            name: String::new(),
            description: String::new(),
            members: Vec::new(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "name" => form.name = value,
                "description" => form.description = value,
                "members" => form.members.push(value),
                _ => {}
            }
        }
        form
    }
}

async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = TeamForm::read(pairs);
    if let Some(refused) = staff.refused_form(Permission::ManageChannels, &form.csrf) {
        return refused;
    }
    let refused = |reason: String| format!("{} {reason}", staff.t.admin.not_saved);
    let mut members = Vec::with_capacity(form.members.len());
    for member in &form.members {
        match member.parse::<UserId>() {
            Ok(user) => members.push(user),
            Err(_) => {
                let notice = refused(staff.t.admin.no_such_member.to_owned());
                return teams_page(
                    &state,
                    &staff,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(notice),
                )
                .await;
            }
        }
    }
    match state
        .hilo
        .conversations()
        .put_team(&form.name, &form.description, &members)
        .await
    {
        Ok(_) => Redirect::to("/console/admin/teams").into_response(),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let notice = refused(crate::ApiError::from(error).message);
            teams_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(notice),
            )
            .await
        }
        Err(error) => failure(error, staff.t),
    }
}

async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = TeamForm::read(pairs);
    if let Some(refused) = staff.refused_form(Permission::ManageChannels, &form.csrf) {
        return refused;
    }
    match state.hilo.conversations().delete_team(&form.name).await {
        Ok(()) => Redirect::to("/console/admin/teams").into_response(),
        Err(error) => failure(error, staff.t),
    }
}
