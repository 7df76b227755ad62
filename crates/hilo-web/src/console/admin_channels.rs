//! Administration of channels: create them with their credentials (each provider's own
//! setting names, as the API takes them), change or delete them, and copy what to paste
//! elsewhere — the webhook URL to give the provider, the web chat's snippet.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::conversations::ChannelType;
use hilo_domain::{ChannelId, PageRequest, Permission};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/channels", get(channels).post(create))
        .route("/admin/channels/{id}", post(change))
        .route("/admin/channels/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/channels.html")]
struct ChannelsPage {
    t: &'static Texts,
    shell: Shell,
    channels: Vec<ChannelLine>,
    kinds: Vec<&'static str>,
    notice: Option<String>,
    /// Secrets Hilo made for a channel just created (a web chat's identity secret),
    /// shown once.
    generated: Vec<(String, String)>,
}

struct ChannelLine {
    id: String,
    kind: &'static str,
    name: String,
    settings: Vec<(String, String)>,
    webhook_url: Option<String>,
    widget_snippet: Option<String>,
    mailbox_error: Option<String>,
}

async fn channels(State(state): State<AppState>, staff: Staff) -> Response {
    channels_page(&state, &staff, StatusCode::OK, None, Vec::new()).await
}

async fn channels_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
    generated: Vec<(String, String)>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageChannels) {
        return refused;
    }
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let found = match state.hilo.channels().list(&page).await {
        Ok(found) => found,
        Err(error) => return failure(error, staff.t),
    };
    let channels = found
        .items
        .into_iter()
        .map(|c| ChannelLine {
            id: c.id.to_string(),
            kind: c.kind.as_str(),
            name: c.name,
            settings: c
                .settings
                .iter()
                .map(|(k, v)| (k.clone(), super::conversations::trait_text(v)))
                .collect(),
            webhook_url: c.webhook_url,
            widget_snippet: c.widget_snippet,
            mailbox_error: c.mailbox.and_then(|m| m.error),
        })
        .collect();
    let page = ChannelsPage {
        t: staff.t,
        shell: staff.shell(Area::Admin),
        channels,
        kinds: ChannelType::ALL.iter().map(|k| k.as_str()).collect(),
        notice,
        generated,
    };
    render(status, &page)
}

/// `key = value` lines, as an admin writes a provider's settings; an empty value
/// removes the setting. `None` names the line that cannot be read.
fn settings_of(lines: &str) -> Result<Map<String, Value>, String> {
    let mut settings = Map::new();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            return Err(line.chars().take(60).collect());
        };
        let value = value.trim();
        let value = match value {
            "" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            text => Value::String(text.to_owned()),
        };
        settings.insert(key.trim().to_owned(), value);
    }
    Ok(settings)
}

#[derive(Deserialize)]
struct ChannelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    settings: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ChannelForm>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::ManageChannels, &form.csrf) {
        return refused;
    }
    let settings = match settings_of(&form.settings) {
        Ok(settings) => settings,
        Err(line) => return unreadable(&state, &staff, &line).await,
    };
    match state
        .hilo
        .channels()
        .create(&form.kind, &form.name, &settings)
        .await
    {
        Ok(created) => {
            let generated = created.generated.into_iter().collect();
            channels_page(&state, &staff, StatusCode::CREATED, None, generated).await
        }
        Err(error) => refused(&state, &staff, error).await,
    }
}

async fn change(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ChannelForm>,
) -> Response {
    let channel: ChannelId = match staff.form_target(Permission::ManageChannels, &form.csrf, &id) {
        Ok(channel) => channel,
        Err(refused) => return *refused,
    };
    let settings = match settings_of(&form.settings) {
        Ok(settings) => settings,
        Err(line) => return unreadable(&state, &staff, &line).await,
    };
    let name = Some(form.name.as_str()).filter(|n| !n.trim().is_empty());
    let settings = (!settings.is_empty()).then_some(&settings);
    match state.hilo.channels().update(channel, name, settings).await {
        Ok(_) => Redirect::to("/console/admin/channels").into_response(),
        Err(error) => refused(&state, &staff, error).await,
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
    let channel: ChannelId = match staff.form_target(Permission::ManageChannels, &form.csrf, &id) {
        Ok(channel) => channel,
        Err(refused) => return *refused,
    };
    match state.hilo.channels().delete(channel).await {
        Ok(()) => Redirect::to("/console/admin/channels").into_response(),
        Err(error) => failure(error, staff.t),
    }
}

/// The page again, naming the settings line that could not be read.
async fn unreadable(state: &AppState, staff: &Staff, line: &str) -> Response {
    let notice = format!("{} {line}", staff.t.admin.unreadable_setting);
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    channels_page(state, staff, status, Some(notice), Vec::new()).await
}

/// A channel the API would refuse: the page again with the reason (a setting missing
/// or wrong names the setting).
async fn refused(state: &AppState, staff: &Staff, error: AppError) -> Response {
    let api = crate::ApiError::from(error);
    if api.status.is_client_error() && api.status != StatusCode::NOT_FOUND {
        let notice = format!("{} {}", staff.t.admin.not_saved, api.message);
        channels_page(
            state,
            staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(notice),
            Vec::new(),
        )
        .await
    } else {
        super::shell::failure_page(api, staff.t)
    }
}
