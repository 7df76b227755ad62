//! The JSON API under `/api/v1`.

// The parts, one line each: each offers `routes()` and an `OpenApi` of its own.
pub mod access;
pub mod commerce;
pub mod conversations;
pub mod customers;
pub mod jobs;
pub mod live;
pub mod webhooks;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::routing::get;
use hilo_domain::page::Cursor;
use hilo_domain::{Page, PageRequest};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::serve))
        .merge(access::routes())
        .merge(commerce::routes())
        .merge(conversations::routes())
        .merge(customers::routes())
        .merge(jobs::routes())
        .merge(live::routes())
        .merge(webhooks::routes())
}

/// An id given in a body or a query, written as the API writes ids (hyphenated, 36
/// characters); 400 naming `field` otherwise.
pub(crate) fn id_field<T: std::str::FromStr>(
    field: &str,
    text: &str,
) -> Result<T, crate::ApiError> {
    (text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4)
        .then(|| text.parse::<T>().ok())
        .flatten()
        .ok_or_else(|| hilo_domain::Invalid::new(field, "is not a valid id").into())
}

/// `limit` and `cursor` query parameters of every list endpoint.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page, 1 to 200; 50 when absent.
    #[param(required = false, value_type = u32, minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(required = false, value_type = String, max_length = 176, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    #[param(ignore)]
    pub request: PageRequest,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::invalid("query", "is not a valid query string"))?;
        let request = PageRequest::parse(
            params.get("limit").map(String::as_str),
            params.get("cursor").map(String::as_str),
        )?;
        Ok(Self {
            limit: Some(request.limit),
            cursor: request.after.as_ref().map(Cursor::encode),
            request,
        })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    pub fn from_page<R>(page: Page<R>, view: impl Fn(R) -> T) -> Self {
        Self {
            data: page.items.into_iter().map(view).collect(),
            next_cursor: page.next.as_ref().map(Cursor::encode),
        }
    }
}

/// The `{id}` segment of a path, parsed into a typed id. Extraction never fails, so the
/// handler checks permission first; [`IdPath::id`] then turns a malformed id (or a
/// segment that is not valid percent-encoded UTF-8) into a 404, like an unknown one.
pub struct IdPath<T>(Option<T>);

impl<T> IdPath<T> {
    pub fn id(self) -> Result<T, ApiError> {
        self.0.ok_or_else(ApiError::not_found)
    }
}

impl<S: Send + Sync, T: std::str::FromStr + Send> FromRequestParts<S> for IdPath<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let text = Path::<String>::from_request_parts(parts, state).await.ok();
        Ok(IdPath(text.and_then(|Path(text)| text.parse().ok())))
    }
}
