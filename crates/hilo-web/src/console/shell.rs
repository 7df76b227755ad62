//! What every console page shares: who is signed in (or the way to the sign-in page),
//! the language, the navigation by role, rendering with the console's security headers,
//! and cookies.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hilo_app::AppError;
use hilo_domain::{Permission, Principal, UserId};

use super::texts::Texts;
use crate::auth::{SESSION_COOKIE, cookie};
use crate::{AppState, WebConfig};

pub const LANG_COOKIE: &str = "hilo_lang";

/// Console pages allow only their own scripts, styles and images, and no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The language to speak: the `hilo_lang` cookie, else the browser's preference.
pub struct Lang(pub &'static Texts);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(texts_of(parts)))
    }
}

fn texts_of(parts: &Parts) -> &'static Texts {
    let chosen = cookie(&parts.headers, LANG_COOKIE).or_else(|| {
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
    });
    Texts::for_preference(chosen.unwrap_or(""))
}

/// The network address a request came from, for rate limits.
pub struct ClientIp(pub String);

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

/// A signed-in console user. A request without a valid session is sent to the
/// sign-in page, which brings the user back to the page asked for.
pub struct Staff {
    pub t: &'static Texts,
    pub principal: Principal,
    pub user: UserId,
    pub email: String,
    pub role: hilo_domain::Role,
    /// The session's CSRF token, which every form sends back.
    pub csrf: String,
    /// The page asked for, to come back to after changing the language.
    pub here: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let t = texts_of(parts);
        // Routes see the path inside `/console`; the page asked for is the original.
        let asked = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0)
            .path_and_query()
            .map_or("/console", |p| p.as_str())
            .to_owned();
        let to_sign_in = || {
            let next = safe_next(Some(&asked));
            if parts.method != axum::http::Method::GET || next == "/console" {
                return Redirect::to("/console/login").into_response();
            }
            Redirect::to(&format!("/console/login?next={}", encode(next))).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        match state.hilo.access().session(token).await {
            Ok(Some(session)) => Ok(Staff {
                // The user's own choice of language, else the cookie's or browser's.
                t: session
                    .user
                    .language
                    .as_deref()
                    .map_or(t, Texts::for_preference),
                principal: Principal::User {
                    id: session.user.id,
                    email: session.user.email.clone(),
                    role: session.user.role,
                },
                user: session.user.id,
                email: session.user.email.to_string(),
                role: session.user.role,
                csrf: session.csrf_token,
                here: asked.clone(),
            }),
            Ok(None) => Err(to_sign_in()),
            Err(error) => Err(failure(error, t)),
        }
    }
}

impl Staff {
    /// A 403 page when the user's role does not allow `permission`, answered before
    /// anything is read.
    pub fn refused_unless(&self, permission: Permission) -> Option<Response> {
        (!self.principal.allows(permission))
            .then(|| with_headers((StatusCode::FORBIDDEN, Html(self.t.forbidden)).into_response()))
    }

    /// What a form acts on (the id in its path), once the role allows `permission` and
    /// the form's CSRF token is the session's; otherwise the page that refuses it.
    /// Checked before anything is read.
    pub fn form_target<T: std::str::FromStr>(
        &self,
        permission: Permission,
        csrf: &str,
        id: &str,
    ) -> Result<T, Box<Response>> {
        if let Some(refused) = self.refused_form(permission, csrf) {
            return Err(Box::new(refused));
        }
        id.parse()
            .map_err(|_| Box::new(failure(AppError::NotFound, self.t)))
    }

    /// The page that refuses a form when the role does not allow `permission` or its
    /// CSRF token is not the session's.
    pub fn refused_form(&self, permission: Permission, csrf: &str) -> Option<Response> {
        self.refused_unless(permission)
            .or_else(|| (!self.csrf_ok(csrf)).then(|| expired(self.t)))
    }

    /// Whether a form's CSRF token is this session's.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        hilo_domain::secret::constant_time_eq(&self.csrf, sent)
    }

    /// The frame every page of a signed-in user shares, with `current` marked.
    pub fn shell(&self, current: Area) -> Shell {
        let nav = Area::ALL
            .into_iter()
            .filter(|area| self.principal.allows(area.permission()))
            .map(|area| NavItem {
                href: area.href(),
                label: area.label(self.t),
                current: area == current,
            })
            .collect();
        Shell {
            email: self.email.clone(),
            role: self.role.to_string(),
            csrf: self.csrf.clone(),
            here: encode(&self.here),
            nav,
            live: self.principal.allows(Permission::ReadConversations),
        }
    }
}

/// The console's areas, each shown to the roles whose permission it needs. Commerce
/// (store staff) and engagement (marketers) join here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Home,
    Inbox,
    Customers,
    Store,
    Admin,
    Account,
}

impl Area {
    const ALL: [Area; 6] = [
        Area::Home,
        Area::Inbox,
        Area::Customers,
        Area::Store,
        Area::Admin,
        Area::Account,
    ];

    fn permission(self) -> Permission {
        match self {
            Area::Home | Area::Account => Permission::ReadOwnIdentity,
            Area::Inbox => Permission::ReadConversations,
            Area::Customers => Permission::ReadCustomers,
            Area::Store => Permission::WorkStoreDesk,
            Area::Admin => Permission::ManageUsers,
        }
    }

    fn href(self) -> &'static str {
        match self {
            Area::Home => "/console",
            Area::Inbox => "/console/inbox",
            Area::Customers => "/console/customers",
            Area::Store => "/console/store/pickups",
            Area::Admin => "/console/admin/users",
            Area::Account => "/console/account",
        }
    }

    fn label(self, t: &'static Texts) -> &'static str {
        match self {
            Area::Home => t.home,
            Area::Inbox => t.conversations.inbox,
            Area::Customers => t.customers,
            Area::Store => t.store.title,
            Area::Admin => t.admin.title,
            Area::Account => t.account.title,
        }
    }
}

/// The frame of a signed-in page: who, the navigation, the sign-out form's token.
pub struct Shell {
    pub email: String,
    pub role: String,
    pub csrf: String,
    /// This page, encoded for the language links' `next`.
    pub here: String,
    pub nav: Vec<NavItem>,
    /// Whether the page listens to live events (roles that read conversations): new
    /// messages, and incoming calls popped up on every page.
    pub live: bool,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A console page answered with its security headers.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => with_headers((status, Html(html)).into_response()),
        Err(error) => {
            tracing::error!(%error, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// Adds the console's Content-Security-Policy and keeps pages out of caches.
pub fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// What a failed use case shows: its status, and a sentence that gives nothing away.
pub fn failure(error: AppError, t: &'static Texts) -> Response {
    failure_page(crate::ApiError::from(error), t)
}

/// [`failure`] for an error already mapped to its HTTP answer.
pub fn failure_page(api: crate::ApiError, t: &'static Texts) -> Response {
    let text = match api.status {
        StatusCode::NOT_FOUND => t.not_found,
        StatusCode::FORBIDDEN => t.forbidden,
        _ => t.something_failed,
    };
    with_headers((api.status, Html(text)).into_response())
}

/// A form's token did not match the session's: nothing was done.
pub fn expired(t: &'static Texts) -> Response {
    with_headers((StatusCode::FORBIDDEN, Html(t.form_expired)).into_response())
}

/// Where to go after signing in: a console page, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/console")
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/console",
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Adds a `Set-Cookie`: HttpOnly and SameSite=Lax always, Secure behind HTTPS.
/// `max_age` of `Some(0)` deletes the cookie; `None` lasts the browser session.
pub fn set_cookie(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_pages_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/console/inbox?status=open")),
            "/console/inbox?status=open"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console");
        assert_eq!(safe_next(Some("//evil.example/console")), "/console");
        assert_eq!(safe_next(Some("/console\\..\\x")), "/console");
        assert_eq!(safe_next(Some("/api/v1/customers")), "/console");
        assert_eq!(safe_next(None), "/console");
    }
}
