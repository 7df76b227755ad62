//! The OpenAPI 3.1 document, generated from the handlers' annotations. A copy is
//! committed as `docs/openapi.json` and a test fails when the two differ.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hilo API",
        description = "One identifier and one history per customer across every channel. \
                       Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`; lists are \
                       cursor-paginated with `limit` and `cursor`; see docs/API.md.",
    ),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        serve,
        crate::collect::identify,
        crate::collect::track,
        crate::collect::page,
        crate::collect::screen,
        crate::collect::group,
        crate::collect::alias,
        crate::collect::batch,
    ),
    modifiers(&Security),
    tags(
        (name = "collection", description = "Segment-compatible event collection, for SDKs"),
        (name = "access", description = "API keys, console users, who am I"),
        (name = "sources", description = "Origins of events and their write keys"),
        (name = "customers", description = "One profile per customer, identity rules, the timeline"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A secret API key: Authorization: Bearer hilo_sk_…"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "write_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A source's write key as the Basic user, with an empty password",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "hilo_session",
                "A console session; unsafe methods also need the x-csrf-token header",
            ))),
        );
    }
}

/// The document as served and committed, with a stable version so builds compare equal.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // The parts, one line each.
    doc.merge(api::access::AccessApi::openapi());
    doc.merge(api::customers::CustomersApi::openapi());
    doc.merge(api::jobs::JobsApi::openapi());
    doc.merge(api::webhooks::WebhooksApi::openapi());
    declare_errors(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// Declares on every operation the errors the server's shared machinery answers, so
/// the document states every status an operation can give without each handler
/// repeating them: 400 where there is a query, a path or a body to get wrong (and for
/// an unknown query parameter's bad value), 401 and 403 where credentials are needed,
/// 404 where a path names a resource, 413 and 415 where there is a body. Handlers
/// declare the rest (409, 429, 503) themselves.
fn declare_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let in_query = parameters
                .iter()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            let has_body = operation.request_body.is_some();
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let names_resource = path.contains('{');
            let mut wanted: Vec<(&str, &str)> = Vec::new();
            if in_query || has_body || names_resource {
                wanted.push((
                    "400",
                    "A parameter or the body is malformed or breaks a rule; `field` names it",
                ));
            }
            if secured {
                wanted.push(("401", "Missing or unknown credentials"));
                wanted.push(("403", "These credentials may not do this"));
            }
            if names_resource {
                wanted.push(("404", "No such resource (a malformed id too)"));
            }
            if has_body {
                wanted.push(("413", "The body is over the size limit"));
                wanted.push(("415", "The body is not sent as application/json"));
            }
            for (status, description) in wanted {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description));
            }
        }
    }
}

/// The document as pretty JSON, exactly as committed.
pub fn document_json() -> String {
    serde_json::to_string_pretty(&document()).unwrap_or_else(|_| "{}".to_owned()) + "\n"
}

/// The OpenAPI document
///
/// This document. No credentials needed.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
