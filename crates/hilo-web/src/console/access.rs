//! Signing in and out, the language, and the home page.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::secret::constant_time_eq;
use hilo_domain::{PageRequest, Permission, Secret, SecretKind};
use serde::Deserialize;

use super::pages::{HomePage, LoginPage, SourceRow};
use super::shell::{
    Area, ClientIp, LANG_COOKIE, Lang, Staff, expired, failure, render, safe_next, set_cookie,
};
use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie};

/// Cookie holding the login form's CSRF token (double-submit: no session exists yet).
const LOGIN_CSRF_COOKIE: &str = "hilo_login_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_language))
}

async fn home(State(state): State<AppState>, staff: Staff) -> Response {
    let t = staff.t;
    let sources = if staff.principal.allows(Permission::ReadSources) {
        let first_page = PageRequest {
            limit: PageRequest::MAX_LIMIT,
            after: None,
        };
        match state.hilo.access().list_sources(&first_page).await {
            Ok(page) => Some(page.items.into_iter().map(SourceRow::from).collect()),
            Err(error) => return failure(error, t),
        }
    } else {
        None
    };
    let page = HomePage {
        t,
        shell: staff.shell(Area::Home),
        sources,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    Lang(t): Lang,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> Response {
    let existing = cookie(&headers, LOGIN_CSRF_COOKIE).map(str::to_owned);
    let csrf = match existing {
        Some(token) => token,
        None => match SecretKind::Session.generate() {
            Ok(token) => token.expose().to_owned(),
            Err(error) => return failure(error.into(), t),
        },
    };
    let page = LoginPage {
        t,
        csrf: csrf.clone(),
        email: String::new(),
        next: safe_next(query.next.as_deref()).to_owned(),
        error: None,
    };
    let mut response = render(StatusCode::OK, &page);
    set_cookie(
        &mut response,
        &state.config,
        LOGIN_CSRF_COOKIE,
        &csrf,
        "/console",
        None,
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    Lang(t): Lang,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let next = safe_next(form.next.as_deref()).to_owned();
    let retry = |status, message: &'static str| {
        let page = LoginPage {
            t,
            csrf: expected.to_owned(),
            email: form.email.clone(),
            next: next.clone(),
            error: Some(message),
        };
        render(status, &page)
    };
    if expected.is_empty() || !constant_time_eq(expected, &form.csrf) {
        return retry(StatusCode::FORBIDDEN, t.form_expired);
    }
    let password = Secret::new(form.password.clone());
    match state.hilo.access().login(&form.email, &password, &ip).await {
        Ok(session) => {
            let mut response = Redirect::to(&next).into_response();
            set_cookie(
                &mut response,
                &state.config,
                SESSION_COOKIE,
                session.token.expose(),
                "/",
                Some(hilo_app::access::sessions::SESSION_TTL_MS / 1000),
            );
            response
        }
        Err(AppError::Unauthenticated) => {
            retry(StatusCode::UNAUTHORIZED, t.access.wrong_credentials)
        }
        Err(AppError::RateLimited { retry_after_secs }) => {
            let mut response = retry(StatusCode::TOO_MANY_REQUESTS, t.access.too_many_attempts);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(error) => failure(error, t),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        match state.hilo.access().session(token).await {
            Ok(Some(session)) if hilo_app::access::sessions::csrf_matches(&session, &form.csrf) => {
                if let Err(error) = state.hilo.access().logout(token).await {
                    return failure(error, t);
                }
            }
            Ok(Some(_)) => return expired(t),
            Ok(None) => {}
            Err(error) => return failure(error, t),
        }
    }
    let mut response = Redirect::to("/console/login").into_response();
    set_cookie(
        &mut response,
        &state.config,
        SESSION_COOKIE,
        "",
        "/",
        Some(0),
    );
    response
}

/// Speaks `code` from now on, and goes back to the console page the link was on.
async fn set_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> Response {
    let texts = super::texts::Texts::for_preference(&code);
    // A signed-in user's choice is theirs on every browser from now on.
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(session)) = state.hilo.access().session(token).await
        && let Err(error) = state
            .hilo
            .access()
            .set_language(session.user.id, Some(texts.lang))
            .await
    {
        return failure(error, texts);
    }
    let mut response = Redirect::to(safe_next(query.next.as_deref())).into_response();
    set_cookie(
        &mut response,
        &state.config,
        LANG_COOKIE,
        texts.lang,
        "/",
        Some(365 * 24 * 3600),
    );
    response
}
