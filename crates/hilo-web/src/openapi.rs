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
    doc.merge(api::conversations::ConversationsApi::openapi());
    doc.merge(api::commerce::CommerceApi::openapi());
    doc.merge(api::customers::CustomersApi::openapi());
    doc.merge(api::jobs::JobsApi::openapi());
    doc.merge(api::live::LiveApi::openapi());
    doc.merge(api::webhooks::WebhooksApi::openapi());
    describe_segment_messages(&mut doc);
    declare_errors(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// Declares on every operation the errors the server's shared machinery answers, so
/// the document states every status an operation can give without each handler
/// repeating them: 400 where there is a query or a body to get wrong, 401 and 403
/// where credentials are needed,
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
            if in_query || has_body {
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
            if in_query {
                wanted.push(("414", "The path and query are over 8 KiB"));
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

/// States what the collection API (`/v1`) accepts, as `segment.rs` checks it: each
/// message kind's fields, the userId-or-anonymousId rule, and a batch of up to 2,500
/// messages. Written as JSON Schema directly: Segment's messages are open objects whose
/// rules depend on their kind, which Rust types would not say.
fn describe_segment_messages(doc: &mut utoipa::openapi::OpenApi) {
    use serde_json::{Value, json};
    use utoipa::openapi::{Ref, RefOr, Schema};

    // Rust's trim also removes U+0085, which JSON Schema's `\s` does not match.
    let present = "[^\\s\u{85}]";
    let id = json!({"anyOf": [{"type": "string", "maxLength": 255}, {"type": "number"}, {"type": "null"}]});
    let id_present = json!({"anyOf": [{"type": "string", "pattern": present, "maxLength": 255}, {"type": "number"}]});
    let text = json!({"type": ["string", "null"], "maxLength": 500});
    let text_present = json!({"type": "string", "pattern": present, "maxLength": 500});
    let object = json!({"type": ["object", "null"]});
    // A blank time is taken as absent, as SDKs send it.
    let instant = json!({"anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[\\s\u{85}]*$"},
        {"type": "null"}
    ]});
    let message = |kind: &str, in_batch: bool| -> Value {
        let mut properties = json!({
            "type": {"type": "string", "enum": [kind]},
            "messageId": {"type": ["string", "null"], "maxLength": 100},
            "userId": id, "anonymousId": id, "groupId": id, "previousId": id,
            "event": text, "name": text,
            "traits": object, "properties": object, "context": object, "integrations": object,
            "timestamp": instant, "originalTimestamp": instant, "sentAt": instant,
        });
        let mut required: Vec<&str> = if in_batch { vec!["type"] } else { vec![] };
        let mut need = |field: &'static str, schema: &Value| {
            required.push(field);
            properties[field] = schema.clone();
        };
        match kind {
            "track" => need("event", &text_present),
            "group" => need("groupId", &id_present),
            "alias" => need("previousId", &id_present),
            _ => {}
        }
        // Known by a userId, or by an anonymousId (an alias always names the userId).
        let known_by: &[&str] = if kind == "alias" {
            &["userId"]
        } else {
            &["userId", "anonymousId"]
        };
        let variants: Vec<Value> = known_by
            .iter()
            .map(|field| {
                let mut properties = properties.clone();
                properties[*field] = id_present.clone();
                let mut required = required.clone();
                required.push(field);
                json!({"type": "object", "properties": properties, "required": required})
            })
            .collect();
        if variants.len() == 1 {
            variants.into_iter().next().unwrap_or_default()
        } else {
            json!({"anyOf": variants})
        }
    };
    let kinds = ["identify", "track", "page", "screen", "group", "alias"];
    let components = doc.components.get_or_insert_with(Default::default);
    let mut add = |name: String, schema: Value| {
        if let Ok(schema) = serde_json::from_value::<RefOr<Schema>>(schema) {
            components.schemas.insert(name, schema);
        }
    };
    for kind in kinds {
        add(format!("Segment_{kind}"), message(kind, false));
    }
    add(
        "Segment_batch".into(),
        json!({
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {
                    "type": "array", "maxItems": 2500,
                    "items": {"anyOf": kinds.iter().map(|k| message(k, true)).collect::<Vec<_>>()},
                },
                "context": object, "integrations": object, "sentAt": instant,
                "writeKey": {"type": ["string", "null"]},
            },
        }),
    );
    for kind in kinds.into_iter().chain(["batch"]) {
        let Some(operation) = doc
            .paths
            .paths
            .get_mut(&format!("/v1/{kind}"))
            .and_then(|item| item.post.as_mut())
        else {
            continue;
        };
        if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
            for content in body.content.values_mut() {
                if let RefOr::T(content) = content {
                    content.schema =
                        Some(RefOr::Ref(Ref::from_schema_name(format!("Segment_{kind}"))));
                }
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
