//! The collection API: Segment's HTTP tracking API, so Segment and RudderStack SDKs work
//! unchanged by pointing their host at Hilo.
//!
//! - `POST /v1/{identify,track,page,screen,group,alias,batch}` and the browser SDK's
//!   short forms `/v1/{i,t,p,s,g,a,b}`; `/v1/import` takes a batch too.
//! - The write key as HTTP Basic user (empty password), as a bearer token, as
//!   `writeKey` in the body, or as the `writeKey` query parameter.
//! - JSON as `application/json` or `text/plain`, optionally `Content-Encoding: gzip`.
//! - `200 {"success": true}` only after every valid message is committed. In a batch with
//!   invalid messages, the valid ones are stored and the answer is 400 naming each
//!   invalid one by index and field; limits on the whole request (size, count) reject it
//!   whole.

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use hilo_app::collect::ingest::IngestError;
use hilo_domain::collect::segment::{
    BatchDefaults, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, Message, MessageError,
    MessageType, parse_message,
};
use hilo_domain::secret::SecretKind;
use hilo_domain::{Secret, Timestamp};
use hilo_store::access::sources::SourceRecord;
use serde_json::{Map, Value, json};

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Declares one collection endpoint: its handler, with the type it implies, and its
/// OpenAPI description.
macro_rules! endpoint {
    ($name:ident, $path:literal, $kind:expr, $summary:literal) => {
        #[doc = $summary]
        ///
        /// Segment's tracking API. The write key goes as the HTTP Basic user (empty
        /// password), a bearer token, `writeKey` in the body, or the `writeKey` query
        /// parameter. `200 {"success": true}` once the messages are durable.
        #[utoipa::path(post, path = $path, tag = "collection",
            request_body(content = Object, description = "A Segment message (or a batch)", content_type = "application/json"),
            responses(
                (status = 200, description = "Stored", body = Object, example = json!({"success": true})),
                (status = 400, description = "Invalid messages, named by index and field; valid ones were stored", body = crate::error::ErrorBody),
                (status = 401, description = "Missing or unknown write key", body = crate::error::ErrorBody),
                (status = 413, description = "Over 500 KB or 2,500 messages; nothing stored", body = crate::error::ErrorBody),
                (status = 415, body = crate::error::ErrorBody),
                (status = 503, description = "Overloaded: retry after Retry-After", body = crate::error::ErrorBody),
            ),
            security(("write_key" = [])))]
        pub async fn $name(
            state: State<AppState>,
            headers: HeaderMap,
            request: Request,
        ) -> Result<Response, ApiError> {
            collect(state, headers, request, $kind).await
        }
    };
}

endpoint!(
    identify,
    "/v1/identify",
    Some(MessageType::Identify),
    "Identify a customer (also /v1/i)"
);
endpoint!(
    track,
    "/v1/track",
    Some(MessageType::Track),
    "Track an event (also /v1/t)"
);
endpoint!(
    page,
    "/v1/page",
    Some(MessageType::Page),
    "Record a page view (also /v1/p)"
);
endpoint!(
    screen,
    "/v1/screen",
    Some(MessageType::Screen),
    "Record a screen view (also /v1/s)"
);
endpoint!(
    group,
    "/v1/group",
    Some(MessageType::Group),
    "Associate with a group (also /v1/g)"
);
endpoint!(
    alias,
    "/v1/alias",
    Some(MessageType::Alias),
    "Link a previous id (also /v1/a)"
);
endpoint!(
    batch,
    "/v1/batch",
    None,
    "Send a batch of messages (also /v1/b and /v1/import)"
);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/identify", post(identify).options(preflight))
        .route("/i", post(identify).options(preflight))
        .route("/track", post(track).options(preflight))
        .route("/t", post(track).options(preflight))
        .route("/page", post(page).options(preflight))
        .route("/p", post(page).options(preflight))
        .route("/screen", post(screen).options(preflight))
        .route("/s", post(screen).options(preflight))
        .route("/group", post(group).options(preflight))
        .route("/g", post(group).options(preflight))
        .route("/alias", post(alias).options(preflight))
        .route("/a", post(alias).options(preflight))
        .route("/batch", post(batch).options(preflight))
        .route("/b", post(batch).options(preflight))
        .route("/import", post(batch).options(preflight))
        // Compressed or not, a request body is bounded; decompression is bounded again.
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .layer(middleware::from_fn(allow_any_origin))
}

/// Browsers send events from the shop's own origin; a write key may only write, so any
/// origin may send.
async fn allow_any_origin(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Content-Type, Authorization, Content-Encoding",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

async fn collect(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    implied: Option<MessageType>,
) -> Result<Response, ApiError> {
    let query_key = request.uri().query().and_then(write_key_in_query);
    let body = axum::body::to_bytes(request.into_body(), MAX_BATCH_BYTES)
        .await
        .map_err(|_| too_large("the request body is over 500 KB"))?;
    let body = decode_body(&headers, body)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("is not valid JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };

    let body_key = match object.get("writeKey") {
        Some(Value::String(key)) => Some(key.clone()),
        _ => None,
    };
    let key = header_write_key(&headers)
        .or(body_key)
        .or(query_key)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "missing write key: send it as the HTTP Basic user, or as writeKey in the body",
            )
        })?;
    let source = authenticate(&state, &key).await?;
    if !matches!(
        object.get("writeKey"),
        None | Some(Value::Null | Value::String(_))
    ) {
        return Err(ApiError::invalid("writeKey", "must be a string"));
    }

    let received_at = state.hilo.now();
    let (items, defaults) = match implied {
        Some(_) => (vec![Value::Object(object)], BatchDefaults::default()),
        None => {
            let items = match object.remove("batch") {
                Some(Value::Array(items)) => items,
                Some(_) => return Err(ApiError::invalid("batch", "must be an array of messages")),
                None => return Err(ApiError::invalid("batch", "is required")),
            };
            (items, batch_defaults(&object)?)
        }
    };
    if items.len() > MAX_BATCH_MESSAGES {
        return Err(too_large(&format!(
            "a batch holds at most {MAX_BATCH_MESSAGES} messages, this one {}",
            items.len()
        )));
    }

    let batch = implied.is_none();
    let mut messages = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let position = batch.then_some(index);
        match parse_one(item, position, implied, &defaults, received_at) {
            Ok(message) => messages.push(message),
            Err(error) => errors.push(error),
        }
    }
    if !messages.is_empty() {
        state
            .ingestor
            .submit(source, messages)
            .await
            .map_err(|error| match error {
                IngestError::Overloaded => ApiError {
                    retry_after_secs: Some(1),
                    ..ApiError::new(
                        ErrorCode::Overloaded,
                        "too many messages waiting to be written; retry shortly",
                    )
                },
                IngestError::Failed(error) => error.into(),
            })?;
    }
    if let Some(first) = errors.first() {
        return Ok(rejected(first, &errors));
    }
    Ok((StatusCode::OK, axum::Json(json!({"success": true}))).into_response())
}

fn parse_one(
    item: Value,
    index: Option<usize>,
    implied: Option<MessageType>,
    defaults: &BatchDefaults,
    received_at: Timestamp,
) -> Result<Message, MessageError> {
    let size = serde_json::to_vec(&item).map_or(0, |bytes| bytes.len());
    if size > MAX_MESSAGE_BYTES {
        return Err(MessageError {
            index,
            field: "message".into(),
            reason: format!("is {size} bytes; a message may have at most 32 KB"),
        });
    }
    parse_message(item, index, implied, defaults, received_at, || {
        uuid::Uuid::new_v4().to_string()
    })
}

/// 400 naming the first invalid message; the body lists them all.
fn rejected(first: &MessageError, all: &[MessageError]) -> Response {
    let field = match first.index {
        Some(index) => format!("batch[{index}].{}", first.field),
        None => first.field.clone(),
    };
    let list: Vec<Value> = all
        .iter()
        .map(|e| json!({"index": e.index, "field": e.field, "reason": e.reason}))
        .collect();
    let body = json!({
        "error": {
            "code": ErrorCode::InvalidMessage.as_str(),
            "message": format!("{first}; valid messages were stored"),
            "field": field,
        },
        "rejected": list,
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn batch_defaults(object: &Map<String, Value>) -> Result<BatchDefaults, ApiError> {
    let map = |field: &str| match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map.clone())),
        Some(_) => Err(ApiError::invalid(field, "must be an object")),
    };
    let sent_at = match object.get("sentAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(
            Timestamp::parse_rfc3339(text).map_err(|e| ApiError::invalid("sentAt", e.reason))?,
        ),
        Some(_) => return Err(ApiError::invalid("sentAt", "must be an ISO 8601 string")),
    };
    Ok(BatchDefaults {
        context: map("context")?,
        integrations: map("integrations")?,
        sent_at,
    })
}

async fn authenticate(state: &AppState, key: &str) -> Result<SourceRecord, ApiError> {
    let invalid = || ApiError::new(ErrorCode::Unauthorized, "unknown write key");
    if SecretKind::of(key) != SecretKind::WriteKey {
        return Err(invalid());
    }
    state
        .hilo
        .access()
        .source_for_write_key(&Secret::new(key))
        .await?
        .ok_or_else(invalid)
}

/// The write key from `Authorization: Basic base64(key:)` or `Bearer key`.
fn header_write_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    (!user.is_empty()).then(|| user.to_owned())
}

fn write_key_in_query(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "writeKey")
        .map(|(_, value)| value.to_owned())
}

/// The body as JSON bytes: checks the content type and inflates gzip, bounded.
fn decode_body(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let acceptable = match content_type.as_deref() {
        None | Some("application/json" | "text/plain" | "") => true,
        Some(other) => other.ends_with("+json"),
    };
    if !acceptable {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send JSON as application/json or text/plain",
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("" | "identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut inflated = Vec::new();
            let limit = u64::try_from(MAX_BATCH_BYTES + 1).unwrap_or(u64::MAX);
            let mut decoder = flate2::bufread::GzDecoder::new(body.as_ref());
            (&mut decoder)
                .take(limit)
                .read_to_end(&mut inflated)
                .map_err(|_| ApiError::invalid("body", "is not valid gzip"))?;
            if inflated.len() > MAX_BATCH_BYTES {
                return Err(too_large("the decompressed body is over 500 KB"));
            }
            // One gzip member and nothing after it: bytes past its end are no part of
            // any message, and would otherwise pass unread.
            if !decoder.into_inner().is_empty() {
                return Err(ApiError::invalid(
                    "body",
                    "has bytes after the end of the gzip stream",
                ));
            }
            Ok(inflated)
        }
        Some(_) => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Content-Encoding must be gzip or absent",
        )),
    }
}

fn too_large(message: &str) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, message)
}
