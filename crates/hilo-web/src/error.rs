//! Errors as the API shows them: a status and a stable JSON body
//! `{"error": {"code", "message", "field"}}`. Internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hilo_app::{AppError, ReplyRefusal};
use hilo_domain::Invalid;
use serde::Serialize;
use utoipa::ToSchema;

/// Every code the API answers, once, with its status and meaning. `docs/API.md`'s table
/// lists the same (a test checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// a field is missing, malformed or breaks a rule.
    InvalidRequest,
    /// a collection API message is invalid; valid ones of the request were stored.
    InvalidMessage,
    /// no or unknown credentials.
    Unauthorized,
    /// the credentials may not do this.
    Forbidden,
    /// a session request lacks its CSRF header.
    Csrf,
    /// no such resource or endpoint.
    NotFound,
    /// the endpoint does not take this method.
    MethodNotAllowed,
    /// it exists already, or its state does not allow this.
    Conflict,
    /// the body stopped arriving before it was whole.
    RequestTimeout,
    /// the body is over the limit.
    PayloadTooLarge,
    /// the request's path and query are over the limit.
    UriTooLong,
    /// the request's headers are too many or too large.
    HeadersTooLarge,
    /// the body is not in a type or encoding the endpoint takes.
    UnsupportedMediaType,
    /// too many attempts; retry after Retry-After.
    RateLimited,
    /// a fault; the request id finds it in the logs.
    Internal,
    /// the database cannot be reached.
    Unavailable,
    /// the collection API's writer is saturated; retry after Retry-After.
    Overloaded,
    /// an order line asks for more than can be promised; `field` names the line and
    /// `available` how many can be.
    OutOfStock,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        Self::InvalidRequest,
        Self::InvalidMessage,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Csrf,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::RequestTimeout,
        Self::PayloadTooLarge,
        Self::UriTooLong,
        Self::HeadersTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
        Self::Overloaded,
        Self::OutOfStock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidMessage => "invalid_message",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Csrf => "csrf",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Overloaded => "overloaded",
            Self::OutOfStock => "out_of_stock",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InvalidMessage => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::OutOfStock => StatusCode::CONFLICT,
        }
    }
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    /// With `out_of_stock`: how many units of the line can be promised.
    pub available: Option<i64>,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `invalid_request`, `unauthorized`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With `out_of_stock`: how many units of the line named by `field` can be promised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code: code.as_str(),
            message: message.into(),
            field: None,
            retry_after_secs: None,
            available: None,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = reason.into();
        Self {
            message: format!("{field}: {reason}"),
            field: Some(field),
            ..Self::new(ErrorCode::InvalidRequest, "")
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "missing or invalid credentials: send Authorization: Bearer <key>",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            ErrorCode::Forbidden,
            "these credentials do not allow this operation",
        )
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such resource")
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "internal error; the request id identifies it in the server's logs",
        )
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::invalid(invalid.field, invalid.reason)
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Invalid(invalid) => invalid.into(),
            AppError::NotFound => Self::not_found(),
            AppError::Conflict(message) => Self::new(ErrorCode::Conflict, message),
            // The channel asked for is the caller's to change; the customer's state is not.
            AppError::ReplyRefused(
                refusal @ (ReplyRefusal::NoChannel | ReplyRefusal::NotSentByHilo(_)),
            ) => Self::invalid("channel_id", refusal.to_string()),
            AppError::ReplyRefused(refusal) => Self::new(ErrorCode::Conflict, refusal.to_string()),
            AppError::PickupRefused(refusal) => Self {
                field: Some("code".into()),
                ..Self::new(ErrorCode::Conflict, refusal.to_string())
            },
            AppError::OutOfStock { line, available } => Self {
                field: Some(format!("lines[{line}]")),
                available: Some(available),
                ..Self::new(
                    ErrorCode::OutOfStock,
                    format!("lines[{line}]: only {available} available"),
                )
            },
            AppError::Unauthenticated => Self::unauthorized(),
            AppError::Forbidden => Self::forbidden(),
            AppError::OtherDesk(own) => Self {
                field: Some("location_id".into()),
                ..Self::new(
                    ErrorCode::Forbidden,
                    format!("location_id: these credentials work the desk of {own}, not this one"),
                )
            },
            AppError::RateLimited { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(ErrorCode::RateLimited, "too many attempts; retry later")
            },
            AppError::Store(error) => {
                tracing::error!(%error, "storage failure");
                if matches!(&error, hilo_store::StoreError::Database(sqlx_error) if is_unavailable(sqlx_error))
                {
                    Self::new(
                        ErrorCode::Unavailable,
                        "the database is unavailable; retry later",
                    )
                } else {
                    Self::internal()
                }
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal failure");
                Self::internal()
            }
        }
    }
}

fn is_unavailable(error: &impl std::fmt::Display) -> bool {
    let text = error.to_string();
    text.contains("pool timed out") || text.contains("pool closed") || text.contains("os error")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
                available: self.available,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept this method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes `docs/API.md` lists are the codes the server answers, each under its
    /// status.
    #[test]
    fn every_code_is_documented_under_its_status() {
        let doc = include_str!("../../../docs/API.md");
        for code in ErrorCode::ALL {
            let row = format!("| {} |", code.status().as_u16());
            let name = format!("`{}`", code.as_str());
            assert!(
                doc.lines()
                    .any(|line| line.starts_with(&row) && line.contains(&name)),
                "docs/API.md has no row {row} naming {name}"
            );
        }
    }
}
