//! JSON request bodies whose errors name the field at fault, in the API's error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;
use crate::error::ErrorCode;

/// Like `axum::Json`, but every rejection is an [`ApiError`]: 413 over the size limit,
/// 415 without a JSON content type, 400 naming the field otherwise.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ErrorCode::PayloadTooLarge,
                        "the request body is larger than this server accepts",
                    )
                } else {
                    ApiError::invalid("body", "could not be read")
                }
            })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Deserializes a body, naming the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_escaped_nul(bytes) {
        // PostgreSQL stores no NUL in text; refused here for both engines alike.
        return Err(ApiError::invalid(
            "body",
            "text must not contain the NUL character (\\u0000)",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        // serde reports a missing field at its parent's path; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let malformed = !matches!(inner.classify(), serde_json::error::Category::Data);
        let field = match (missing, path.as_str()) {
            _ if malformed => "body".to_owned(),
            (_, "?") => "body".to_owned(),
            (Some(name), "." | "") => name.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, "." | "") => "body".to_owned(),
            (None, path) => path.to_owned(),
        };
        let reason = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ApiError::invalid(field, reason)
    })
}

/// Whether JSON text holds `\u0000` as an escape (not as an escaped backslash followed
/// by `u0000`).
fn has_escaped_nul(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(at, window)| {
        window.eq_ignore_ascii_case(b"\\u0000")
            && bytes[..at]
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count()
                % 2
                == 0
    })
}

/// Whether an optional body was left out: empty, blank, or JSON `null`.
pub fn is_absent(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    text.is_empty() || text == b"null"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_nul_is_found_but_an_escaped_backslash_is_not() {
        assert!(has_escaped_nul(br#"{"a": "x\u0000y"}"#));
        assert!(has_escaped_nul(br#"{"a": "\\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"a": "\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"a": "u0000"}"#));
        assert!(parse::<serde_json::Value>(br#"{"a": "\u0000"}"#).is_err());
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse::<Body>(br#"{"count": 1}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        let err = parse::<Body>(br#"{"name": "x", "count": "many"}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("count"));
        let err = parse::<Body>(br#"{"name": "x", "count": 1, "colour": 2}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("colour"));
        let err = parse::<Body>(b"{not json").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
    }
}
