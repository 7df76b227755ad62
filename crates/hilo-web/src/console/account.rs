//! One's own account (password, language) and the invitation link that lets a new user
//! set their password.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hilo_app::AppError;
use hilo_domain::{Permission, Secret};
use serde::Deserialize;

use super::shell::{Area, Lang, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account).post(change_account))
        .route("/invitations/{token}", get(invitation).post(accept))
}

#[derive(Template)]
#[template(path = "access/account.html")]
struct AccountPage {
    t: &'static Texts,
    shell: Shell,
    name: String,
    language: String,
    notice: Option<String>,
}

async fn account(State(state): State<AppState>, staff: Staff) -> Response {
    account_page(&state, &staff, StatusCode::OK, None).await
}

async fn account_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadOwnIdentity) {
        return refused;
    }
    let user = match state.hilo.store().user(staff.user).await {
        Ok(Some(user)) => user,
        Ok(None) => return failure(AppError::NotFound, staff.t),
        Err(error) => return failure(error.into(), staff.t),
    };
    let page = AccountPage {
        t: staff.t,
        shell: staff.shell(Area::Account),
        name: user.name,
        language: user.language.unwrap_or_default(),
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    /// `password` or `language`: which of the page's forms was sent.
    #[serde(default)]
    change: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    language: String,
}

async fn change_account(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AccountForm>,
) -> Response {
    let t = staff.t;
    if let Some(refused) = staff.refused_form(Permission::ReadOwnIdentity, &form.csrf) {
        return refused;
    }
    let access = state.hilo.access();
    match form.change.as_str() {
        "password" => {
            let current = Secret::new(form.current_password);
            let new = Secret::new(form.new_password);
            match access.change_password(staff.user, &current, &new).await {
                // Every session ended with the old password: sign in with the new one.
                Ok(()) => Redirect::to("/console/login").into_response(),
                Err(AppError::Invalid(invalid)) => {
                    let notice = match invalid.field.as_str() {
                        "current_password" => t.account.wrong_password.to_owned(),
                        _ => format!("{} {}", t.account.weak_password, invalid.reason),
                    };
                    account_page(
                        &state,
                        &staff,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(notice),
                    )
                    .await
                }
                Err(error) => failure(error, t),
            }
        }
        "language" => {
            let language = Some(form.language.as_str()).filter(|l| !l.is_empty());
            match access.set_language(staff.user, language).await {
                Ok(()) => Redirect::to("/console/account").into_response(),
                Err(AppError::Invalid(_)) => {
                    let notice = Some(t.account.unknown_language.to_owned());
                    account_page(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, notice).await
                }
                Err(error) => failure(error, t),
            }
        }
        _ => failure(AppError::NotFound, t),
    }
}

#[derive(Template)]
#[template(path = "access/invitation.html")]
struct InvitationPage {
    t: &'static Texts,
    email: String,
    token: String,
    error: Option<String>,
}

async fn invitation(
    State(state): State<AppState>,
    Lang(t): Lang,
    Path(token): Path<String>,
) -> Response {
    match state.hilo.access().invitation(&token).await {
        Ok(Some(user)) => render(
            StatusCode::OK,
            &InvitationPage {
                t,
                email: user.email.to_string(),
                token,
                error: None,
            },
        ),
        Ok(None) => invitation_gone(t),
        Err(error) => failure(error, t),
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// The link itself is the proof: it is secret, works once and expires, so the form
/// needs no session (none exists yet).
async fn accept(
    State(state): State<AppState>,
    Lang(t): Lang,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let access = state.hilo.access();
    let user = match access.invitation(&token).await {
        Ok(Some(user)) => user,
        Ok(None) => return invitation_gone(t),
        Err(error) => return failure(error, t),
    };
    let again = |error: String| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InvitationPage {
                t,
                email: user.email.to_string(),
                token: token.clone(),
                error: Some(error),
            },
        )
    };
    if form.password != form.repeat {
        return again(t.account.passwords_differ.to_owned());
    }
    match access
        .accept_invitation(&token, &Secret::new(form.password))
        .await
    {
        Ok(_) => Redirect::to("/console/login").into_response(),
        Err(AppError::Invalid(invalid)) => {
            again(format!("{} {}", t.account.weak_password, invalid.reason))
        }
        Err(AppError::NotFound) => invitation_gone(t),
        Err(error) => failure(error, t),
    }
}

fn invitation_gone(t: &'static Texts) -> Response {
    super::shell::with_headers(
        (
            StatusCode::NOT_FOUND,
            axum::response::Html(t.account.invitation_gone),
        )
            .into_response(),
    )
}
