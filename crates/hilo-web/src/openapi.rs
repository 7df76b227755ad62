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
        api::me::me,
        api::sources::create,
        api::sources::list,
        api::sources::get,
        api::sources::delete,
        api::keys::create,
        api::keys::list,
        api::keys::get,
        api::keys::revoke,
        api::users::create,
        api::users::list,
        api::customers::get,
        api::customers::create,
        api::customers::lookup,
        api::customers::search,
        api::customers::timeline,
        api::customers::patch,
        api::customers::unmerge,
        api::customers::consent,
        api::customers::export,
        api::customers::erase,
        api::identity::get_rules,
        api::identity::put_rules,
        api::identity::conflicts,
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
    // Parts that describe themselves, one line each.
    doc.merge(api::jobs::JobsApi::openapi());
    doc.merge(api::webhooks::WebhooksApi::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
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
