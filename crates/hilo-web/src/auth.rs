//! Who is calling: a bearer key (secret API key or write key) or a console session
//! cookie. Handlers take a [`Caller`] and ask it for a permission.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use hilo_domain::{Permission, Principal};

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "hilo_session";
/// Header the console's scripts send with the session's CSRF token on unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated caller. Extracting it answers 401 when there are no valid
/// credentials.
pub struct Caller(pub Principal);

impl Caller {
    /// The caller, if allowed `permission`; 403 otherwise. Handlers call this before
    /// looking anything up, so a forbidden caller learns nothing about what exists.
    pub fn require(&self, permission: Permission) -> Result<&Principal, ApiError> {
        if self.0.allows(permission) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(bearer_token)
                .ok_or_else(ApiError::unauthorized)?;
            return state
                .hilo
                .access()
                .authenticate_bearer(token)
                .await?
                .map(Caller)
                .ok_or_else(ApiError::unauthorized);
        }
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let session = state
                .hilo
                .access()
                .session(token)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            if !parts.method.is_safe() {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !hilo_app::access::sessions::csrf_matches(&session, sent) {
                    return Err(ApiError::new(
                        ErrorCode::Csrf,
                        "missing or wrong x-csrf-token header for a cookie-authenticated request",
                    ));
                }
            }
            return Ok(Caller(Principal::User {
                id: session.user.id,
                email: session.user.email,
                role: session.user.role,
            }));
        }
        Err(ApiError::unauthorized())
    }
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of the named cookie in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_parse() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hilo_session=tok; b=2"),
        );
        assert_eq!(cookie(&headers, "hilo_session"), Some("tok"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
