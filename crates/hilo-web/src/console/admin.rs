//! Administration: console users — invite them (a link that sets the password) and
//! change their roles. Channels, keys, rules and the rest join here.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::{PageRequest, Permission, Role, UserId};
use serde::Deserialize;

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin",
            get(|| async { Redirect::to("/console/admin/users") }),
        )
        .route("/admin/users", get(users).post(invite))
        .route("/admin/users/{id}/role", post(change_role))
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    t: &'static Texts,
    shell: Shell,
    users: Vec<UserLine>,
    roles: Vec<&'static str>,
    /// The link just made, shown once.
    invitation: Option<Invited>,
    notice: Option<String>,
}

struct UserLine {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    me: bool,
}

struct Invited {
    email: String,
    link: String,
}

async fn users(State(state): State<AppState>, staff: Staff) -> Response {
    users_page(&state, &staff, StatusCode::OK, None, None).await
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    invitation: Option<Invited>,
    notice: Option<String>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageUsers) {
        return refused;
    }
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let found = match state.hilo.access().list_users(&page).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let mut users: Vec<UserLine> = found
        .items
        .into_iter()
        .map(|u| UserLine {
            me: u.id == staff.user,
            id: u.id.to_string(),
            name: u.name,
            email: u.email.to_string(),
            role: u.role.as_str(),
        })
        .collect();
    users.sort_by(|a, b| a.email.cmp(&b.email));
    let page = UsersPage {
        t: staff.t,
        shell: staff.shell(Area::Admin),
        users,
        roles: Role::ALL
            .iter()
            .filter(|r| **r != Role::Storefront)
            .map(|r| r.as_str())
            .collect(),
        invitation,
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<InviteForm>,
) -> Response {
    let t = staff.t;
    if let Some(refused) = staff.refused_form(Permission::ManageUsers, &form.csrf) {
        return refused;
    }
    let Ok(role) = form.role.parse::<Role>() else {
        let notice = format!("{} role", t.admin.not_invited);
        return users_page(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(notice),
        )
        .await;
    };
    match state
        .hilo
        .access()
        .invite_user(&form.email, &form.name, role, &staff.principal)
        .await
    {
        Ok((user, token)) => {
            let link = format!(
                "{}/console/invitations/{}",
                state.config.public_url.trim_end_matches('/'),
                token.expose()
            );
            let invited = Invited {
                email: user.email.to_string(),
                link,
            };
            users_page(&state, &staff, StatusCode::CREATED, Some(invited), None).await
        }
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let api = crate::ApiError::from(error);
            let notice = format!("{} {}", t.admin.not_invited, api.message);
            users_page(&state, &staff, api.status, None, Some(notice)).await
        }
        Err(error) => failure(error, t),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let user: UserId = match staff.form_target(Permission::ManageUsers, &form.csrf, &id) {
        Ok(user) => user,
        Err(refused) => return *refused,
    };
    let t = staff.t;
    let Ok(role) = form.role.parse::<Role>() else {
        return failure(AppError::NotFound, t);
    };
    match state.hilo.access().change_role(user, role).await {
        Ok(_) => Redirect::to("/console/admin/users").into_response(),
        Err(AppError::Conflict(_)) => {
            let notice = t.admin.last_admin.to_owned();
            users_page(&state, &staff, StatusCode::CONFLICT, None, Some(notice)).await
        }
        Err(error) => failure(error, t),
    }
}
