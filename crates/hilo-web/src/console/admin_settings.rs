//! Administration of the rules Hilo works by, each as the JSON document its API takes:
//! the identity rules, the SLA targets with business hours, and auto-assignment. A
//! document that does not hold is refused with the reason, and nothing changes.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_app::customers::identity_rules::RulesDocument;
use hilo_domain::Permission;
use serde::Deserialize;

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/settings", get(settings))
        .route("/admin/settings/{name}", post(replace))
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    t: &'static Texts,
    shell: Shell,
    documents: Vec<Document>,
    notice: Option<String>,
}

/// One document: its form's name, its title, its help and its JSON.
struct Document {
    name: &'static str,
    title: &'static str,
    help: &'static str,
    json: String,
}

async fn settings(State(state): State<AppState>, staff: Staff) -> Response {
    settings_page(&state, &staff, StatusCode::OK, None, None).await
}

async fn settings_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
    draft: Option<(&str, String)>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageChannels) {
        return refused;
    }
    let t = staff.t;
    let conversations = state.hilo.conversations();
    let read = async {
        let rules = state.hilo.customers().identity_rules().await?;
        let sla = conversations.sla_settings().await?;
        let assignment = conversations.assignment_settings().await?;
        let pretty =
            |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
        let json = |e: serde_json::Error| AppError::Internal(e.to_string());
        Ok::<_, AppError>([
            pretty(serde_json::to_value(RulesDocument::from(&rules)).map_err(json)?),
            pretty(serde_json::to_value(sla).map_err(json)?),
            pretty(serde_json::to_value(assignment).map_err(json)?),
        ])
    };
    let [rules, sla, assignment] = match read.await {
        Ok(documents) => documents,
        Err(error) => return failure(error, t),
    };
    let mut documents = vec![
        Document {
            name: "identity_rules",
            title: t.admin.identity_rules,
            help: t.admin.identity_rules_help,
            json: rules,
        },
        Document {
            name: "sla",
            title: t.admin.sla,
            help: t.admin.sla_help,
            json: sla,
        },
        Document {
            name: "assignment",
            title: t.admin.assignment,
            help: t.admin.assignment_help,
            json: assignment,
        },
    ];
    if let Some((name, text)) = draft
        && let Some(document) = documents.iter_mut().find(|d| d.name == name)
    {
        document.json = text;
    }
    let page = SettingsPage {
        t,
        shell: staff.shell(Area::Admin),
        documents,
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
struct DocumentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    json: String,
}

async fn replace(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(form): Form<DocumentForm>,
) -> Response {
    // The identity rules are an admin's alone; the others go with the channels.
    let permission = match name.as_str() {
        "identity_rules" => Permission::ManageIdentityRules,
        _ => Permission::ManageChannels,
    };
    if let Some(refused) = staff.refused_form(permission, &form.csrf) {
        return refused;
    }
    let t = staff.t;
    let conversations = state.hilo.conversations();
    let done: Result<(), AppError> = match name.as_str() {
        "identity_rules" => match serde_json::from_str::<RulesDocument>(&form.json) {
            Ok(document) => state
                .hilo
                .customers()
                .set_identity_rules(&document)
                .await
                .map(|_| ()),
            Err(error) => Err(unreadable(&error)),
        },
        "sla" => match serde_json::from_str(&form.json) {
            Ok(settings) => conversations.set_sla_settings(settings).await.map(|_| ()),
            Err(error) => Err(unreadable(&error)),
        },
        "assignment" => match serde_json::from_str(&form.json) {
            Ok(settings) => conversations
                .set_assignment_settings(settings)
                .await
                .map(|_| ()),
            Err(error) => Err(unreadable(&error)),
        },
        _ => Err(AppError::NotFound),
    };
    match done {
        Ok(()) => Redirect::to("/console/admin/settings").into_response(),
        Err(error @ AppError::Invalid(_)) => {
            let api = crate::ApiError::from(error);
            let notice = format!("{} {}", t.admin.not_saved, api.message);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            settings_page(
                &state,
                &staff,
                status,
                Some(notice),
                Some((&name, form.json)),
            )
            .await
        }
        Err(error) => failure(error, t),
    }
}

/// A document that is not the JSON asked for, with serde's words on where.
fn unreadable(error: &serde_json::Error) -> AppError {
    hilo_domain::Invalid::new("json", error.to_string()).into()
}
