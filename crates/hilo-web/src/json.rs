//! JSON request bodies whose errors name the field at fault, in the API's error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;
use crate::error::ErrorCode;

/// A request body read but not parsed yet: handlers check the caller's permission
/// first, then parse, so nothing about a body is answered to a caller who may not send
/// it. Parsing gives every error as an [`ApiError`]: 413 over the size limit, 415
/// without a JSON content type, 400 naming the field otherwise.
pub struct JsonBody {
    is_json: bool,
    /// A `Content-Encoding` other than `identity`: none is taken here.
    encoded: bool,
    bytes: Result<Bytes, ApiError>,
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = std::convert::Infallible;

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
        let encoded = request
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"));
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
            });
        Ok(Self {
            is_json,
            encoded,
            bytes,
        })
    }
}

impl JsonBody {
    /// The body as `T`.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        let bytes = self.bytes?;
        if !self.is_json || self.encoded {
            return Err(unsupported());
        }
        parse(&bytes)
    }

    /// The body as `T`, with its JSON written canonically (keys sorted, no spaces), so
    /// two requests can be told the same whatever their spacing and key order.
    pub fn parse_canonical<T: DeserializeOwned>(self) -> Result<(T, String), ApiError> {
        let bytes = self.bytes?;
        if !self.is_json || self.encoded {
            return Err(unsupported());
        }
        let value: T = parse(&bytes)?;
        let canonical = serde_json::from_slice::<serde_json::Value>(&bytes)
            .map(|v| v.to_string())
            .unwrap_or_default();
        Ok((value, canonical))
    }

    /// An optional body as `T`: `None` when it is left out (empty, blank or `null`,
    /// whatever the content type); otherwise exactly as [`JsonBody::parse`].
    pub fn parse_optional<T: DeserializeOwned>(self) -> Result<Option<T>, ApiError> {
        let bytes = self.bytes?;
        if is_absent(&bytes) {
            return Ok(None);
        }
        if !self.is_json || self.encoded {
            return Err(unsupported());
        }
        parse(&bytes).map(Some)
    }
}

fn unsupported() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "send the body as JSON with Content-Type: application/json and no Content-Encoding",
    )
}

/// A whole number written as JSON writes numbers (`30` or `30.0`: JSON Schema calls
/// both integers), for `#[serde(deserialize_with)]`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    use serde::Deserialize;
    let number = f64::deserialize(deserializer)?;
    whole(number).ok_or_else(|| serde::de::Error::custom("a whole number of 0 or more"))
}

/// As [`whole_number`], or `null`.
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    use serde::Deserialize;
    match Option::<f64>::deserialize(deserializer)? {
        None => Ok(None),
        Some(number) => whole(number)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("a whole number of 0 or more")),
    }
}

/// A signed whole number written as JSON writes numbers (`-3` or `-3.0`), within ±2^53
/// where every whole number is exact, for `#[serde(deserialize_with)]`.
pub fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::Deserialize;
    let number = f64::deserialize(deserializer)?;
    exact_integer(number).ok_or_else(|| serde::de::Error::custom("a whole number"))
}

/// As [`integer`], or `null`.
pub fn optional_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    match Option::<f64>::deserialize(deserializer)? {
        None => Ok(None),
        Some(number) => exact_integer(number)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("a whole number")),
    }
}

fn exact_integer(number: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if number.fract() != 0.0 || !(-EXACT..=EXACT).contains(&number) {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, reason = "whole and within ±2^53")]
    Some(number as i64)
}

/// `number` as a `u32` when it is one exactly.
pub fn whole(number: f64) -> Option<u32> {
    if number.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&number) {
        return None;
    }
    // In range and whole: the conversion is exact.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above"
    )]
    Some(number as u32)
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
    // Every body of this API is an object; serde would read a struct from an array
    // by position (`[null, null]` as a change of nothing), which no document allows.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid("body", "must be a JSON object"));
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
        let reason = message.split(" at line ").next().unwrap_or(&message);
        ApiError::invalid(field, for_people(reason))
    })
}

/// serde's words for what it expected, with Rust's type names (`struct RulesDocument`,
/// `u32`) put as a caller of a JSON API would say them.
fn for_people(reason: &str) -> String {
    let Some((before, expected)) = reason.split_once("expected ") else {
        return reason.to_owned();
    };
    let word = expected.split([' ', ',']).next().unwrap_or("");
    let said = match word {
        "struct" | "map" => "an object",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number of 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "sequence" => "a list",
        "unit" => "null",
        "enum" => "one of the documented values",
        _ => return reason.to_owned(),
    };
    // `struct X` and `enum X` carry the type's name after the keyword.
    let skip = match word {
        "struct" | "enum" => 2,
        _ => 1,
    };
    let rest: Vec<&str> = expected.splitn(skip + 1, ' ').skip(skip).collect();
    let rest = rest
        .first()
        .map_or(String::new(), |rest| format!(" {rest}"));
    format!("{before}expected {said}{rest}")
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
    fn messages_name_json_types_not_rust_ones() {
        assert_eq!(
            for_people("invalid type: string \"x\", expected u32"),
            "invalid type: string \"x\", expected a whole number of 0 or more"
        );
        assert_eq!(
            for_people("invalid type: integer `3`, expected struct LimitDocument"),
            "invalid type: integer `3`, expected an object"
        );
        assert_eq!(
            for_people("invalid type: map, expected a string"),
            "invalid type: map, expected a string"
        );
        assert_eq!(for_people("missing field `name`"), "missing field `name`");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Limit {
            max: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Rules {
            limit: Limit,
        }
        for body in [
            &br#"{"limit": 3}"#[..],
            br#"{"limit": {"max": "x"}}"#,
            br#"{"limit": {"max": -1}}"#,
        ] {
            let error = parse::<Rules>(body).unwrap_err();
            let text = format!("{error:?}");
            for rust in ["struct", "u32", "Limit"] {
                assert!(!text.contains(rust), "{text}");
            }
        }
    }

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
    fn a_body_is_an_object_not_an_array() {
        #[derive(Debug, serde::Deserialize)]
        #[expect(dead_code, reason = "only parsed")]
        struct Change {
            name: Option<String>,
        }
        assert!(parse::<Change>(b" [null]").is_err());
        assert!(parse::<Change>(b"{}").is_ok());
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
