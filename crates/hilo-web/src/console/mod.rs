//! The web console, rendered on the server. This part holds sign-in, sign-out and the
//! home page; each area of Hilo adds its pages here.

mod pages;
mod texts;

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::AppError;
use hilo_domain::secret::constant_time_eq;
use hilo_domain::{PageRequest, Permission, Principal, Secret, SecretKind};
use serde::Deserialize;

use crate::auth::{SESSION_COOKIE, cookie};
use crate::{AppState, WebConfig};
use pages::{HomePage, LoginPage, SourceRow};
use texts::Texts;

/// Cookie holding the login form's CSRF token (double-submit: no session exists yet).
const LOGIN_CSRF_COOKIE: &str = "hilo_login_csrf";
const LANG_COOKIE: &str = "hilo_lang";
const CSS: &str = include_str!("../../templates/console.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_language))
        .route("/assets/console.css", get(stylesheet))
}

pub async fn to_console() -> Redirect {
    Redirect::to("/console")
}

/// The language to speak: the `hilo_lang` cookie, else the browser's preference.
struct Lang(&'static Texts);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let chosen = cookie(&parts.headers, LANG_COOKIE).or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
        });
        Ok(Lang(Texts::for_preference(chosen.unwrap_or(""))))
    }
}

/// The network address a request came from, for rate limits.
struct ClientIp(String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp("unknown".to_owned()));
        };
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        let client = state.config.trusted_proxies.client(peer.0.ip(), forwarded);
        Ok(ClientIp(client.to_string()))
    }
}

async fn home(State(state): State<AppState>, Lang(t): Lang, headers: HeaderMap) -> Response {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Redirect::to("/console/login").into_response();
    };
    let session = match state.hilo.access().session(token).await {
        Ok(Some(session)) => session,
        Ok(None) => return Redirect::to("/console/login").into_response(),
        Err(error) => return failure(error, t),
    };
    let principal = Principal::User {
        id: session.user.id,
        email: session.user.email.clone(),
        role: session.user.role,
    };
    let sources = if principal.allows(Permission::ReadSources) {
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
        email: session.user.email.to_string(),
        role: session.user.role.to_string(),
        csrf: session.csrf_token,
        sources,
    };
    render(StatusCode::OK, &page)
}

async fn login_form(State(state): State<AppState>, Lang(t): Lang, headers: HeaderMap) -> Response {
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
}

async fn login(
    State(state): State<AppState>,
    Lang(t): Lang,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let retry = |status, message: &'static str| {
        let page = LoginPage {
            t,
            csrf: expected.to_owned(),
            email: form.email.clone(),
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
            let mut response = Redirect::to("/console").into_response();
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
            Ok(Some(_)) => return (StatusCode::FORBIDDEN, t.form_expired).into_response(),
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

async fn set_language(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let texts = Texts::for_preference(&code);
    let mut response = Redirect::to("/console").into_response();
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

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

fn failure(error: AppError, t: &'static Texts) -> Response {
    let status = crate::ApiError::from(error).status;
    (status, t.something_failed).into_response()
}

/// Adds a `Set-Cookie`: HttpOnly and SameSite=Lax always, Secure behind HTTPS.
/// `max_age` of `Some(0)` deletes the cookie; `None` lasts the browser session.
fn set_cookie(
    response: &mut Response,
    config: &WebConfig,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
) {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if config.secure_cookies() {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
