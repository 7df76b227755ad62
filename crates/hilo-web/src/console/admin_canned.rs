//! Administration of canned replies: the shortcuts agents type in the reply box and
//! their texts, with placeholders filled per customer and agent.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::Permission;
use serde::Deserialize;

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/canned", get(canned).post(create))
        .route("/admin/canned/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/canned.html")]
struct CannedPage {
    t: &'static Texts,
    shell: Shell,
    replies: Vec<(String, String, String)>,
    notice: Option<String>,
}

async fn canned(State(state): State<AppState>, staff: Staff) -> Response {
    canned_page(&state, &staff, StatusCode::OK, None).await
}

async fn canned_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageChannels) {
        return refused;
    }
    let replies = match state
        .hilo
        .conversations()
        .canned_replies("", None, &staff.principal)
        .await
    {
        Ok(replies) => replies
            .into_iter()
            .map(|c| (c.reply.id, c.reply.shortcut, c.reply.content))
            .collect(),
        Err(error) => return failure(error, staff.t),
    };
    let page = CannedPage {
        t: staff.t,
        shell: staff.shell(Area::Admin),
        replies,
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
struct CannedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    shortcut: String,
    #[serde(default)]
    content: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CannedForm>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::ManageChannels, &form.csrf) {
        return refused;
    }
    match state
        .hilo
        .conversations()
        .create_canned_reply(&form.shortcut, &form.content)
        .await
    {
        Ok(_) => Redirect::to("/console/admin/canned").into_response(),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let api = crate::ApiError::from(error);
            let notice = format!("{} {}", staff.t.admin.not_saved, api.message);
            canned_page(
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

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::ManageChannels, &form.csrf) {
        return refused;
    }
    match state.hilo.conversations().delete_canned_reply(&id).await {
        Ok(()) => Redirect::to("/console/admin/canned").into_response(),
        Err(error) => failure(error, staff.t),
    }
}
