//! Administration of credentials: secret API keys (by role) and sources with their write
//! keys. A new key or write key is shown once, when made; only a prefix after.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::{ApiKeyId, PageRequest, Permission, Role, SourceChannel, SourceId};
use serde::Deserialize;

use super::conversations::short_time;
use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/keys", get(keys).post(create))
        .route("/admin/keys/{id}/revoke", post(revoke))
        .route("/admin/sources/{id}/delete", post(delete_source))
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    t: &'static Texts,
    shell: Shell,
    keys: Vec<KeyLine>,
    sources: Vec<SourceLine>,
    roles: Vec<&'static str>,
    channels: Vec<&'static str>,
    /// A secret just made: what it is and its value, shown once.
    made: Option<(String, String)>,
    notice: Option<String>,
}

struct KeyLine {
    id: String,
    name: String,
    role: &'static str,
    prefix: String,
    last_used: String,
    revoked: Option<String>,
}

struct SourceLine {
    id: String,
    name: String,
    channel: String,
    prefix: String,
    created: String,
}

async fn keys(State(state): State<AppState>, staff: Staff) -> Response {
    keys_page(&state, &staff, StatusCode::OK, None, None).await
}

async fn keys_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    made: Option<(String, String)>,
    notice: Option<String>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ManageApiKeys) {
        return refused;
    }
    let t = staff.t;
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let access = state.hilo.access();
    let (keys, sources) = match (
        access.list_keys(&page).await,
        access.list_sources(&page).await,
    ) {
        (Ok(keys), Ok(sources)) => (keys.items, sources.items),
        (Err(error), _) | (_, Err(error)) => return failure(error, t),
    };
    let page = KeysPage {
        t,
        shell: staff.shell(Area::Admin),
        keys: keys
            .into_iter()
            .map(|k| KeyLine {
                id: k.id.to_string(),
                name: k.name,
                role: k.role.as_str(),
                prefix: k.prefix,
                last_used: k.last_used_at.map(short_time).unwrap_or_default(),
                revoked: k.revoked_at.map(short_time),
            })
            .collect(),
        sources: sources
            .into_iter()
            .map(|s| SourceLine {
                id: s.id.to_string(),
                name: s.name,
                channel: s.channel.to_string(),
                prefix: s.write_key_prefix,
                created: short_time(s.created_at),
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        channels: SourceChannel::ALL.iter().map(|c| c.as_str()).collect(),
        made,
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    /// `key` (a secret API key) or `source` (a source and its write key).
    #[serde(default)]
    what: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    channel: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::ManageApiKeys, &form.csrf) {
        return refused;
    }
    let t = staff.t;
    let access = state.hilo.access();
    let made = match form.what.as_str() {
        "key" => match form.role.parse::<Role>() {
            Ok(role) => access
                .create_key(&form.name, role, Some(staff.principal.actor()))
                .await
                .map(|(key, secret)| (key.name, secret)),
            Err(invalid) => Err(invalid.into()),
        },
        "source" => match form.channel.parse::<SourceChannel>() {
            Ok(channel) => access
                .create_source(&form.name, channel)
                .await
                .map(|(source, key)| (source.name, key)),
            Err(invalid) => Err(invalid.into()),
        },
        _ => Err(AppError::NotFound),
    };
    match made {
        Ok((name, secret)) => {
            let made = Some((name, secret.expose().to_owned()));
            keys_page(&state, &staff, StatusCode::CREATED, made, None).await
        }
        Err(error @ AppError::Invalid(_)) => {
            let api = crate::ApiError::from(error);
            let notice = format!("{} {}", t.admin.not_saved, api.message);
            keys_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(notice),
            )
            .await
        }
        Err(error) => failure(error, t),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let key: ApiKeyId = match staff.form_target(Permission::ManageApiKeys, &form.csrf, &id) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    match state.hilo.access().revoke_key(key).await {
        Ok(_) => Redirect::to("/console/admin/keys").into_response(),
        Err(error) => failure(error, staff.t),
    }
}

async fn delete_source(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let source: SourceId = match staff.form_target(Permission::ManageSources, &form.csrf, &id) {
        Ok(source) => source,
        Err(refused) => return *refused,
    };
    match state.hilo.access().delete_source(source).await {
        Ok(()) => Redirect::to("/console/admin/keys").into_response(),
        Err(error) => failure(error, staff.t),
    }
}
