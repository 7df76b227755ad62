//! Operations: health, readiness, metrics, request ids, body limits, the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_and_status,
    every_response_carries_a_request_id,
    oversized_bodies_get_413_and_unknown_routes_json_404,
    openapi_document_is_served_and_matches_the_committed_copy,
    a_nul_character_in_a_body_is_a_400_on_every_engine,
    made_up_methods_and_paths_never_grow_the_metrics,
    optional_bodies_are_json_like_every_other,
    every_list_refuses_cursors_it_did_not_make,
    small_input_rules_hold,
);

async fn health_and_readiness_answer(app: TestApp) {
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");

    // With the database gone, the server says it is not ready rather than failing.
    app.store().close().await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_of(ready).await.0, "unavailable");
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
}

async fn metrics_count_requests_by_route_and_status(app: TestApp) {
    for _ in 0..3 {
        app.get("/api/v1/me", &app.admin_key).await;
    }
    app.request(Method::GET, "/api/v1/me", None)
        .send()
        .await
        .expect("request");
    app.get(
        "/api/v1/sources/01a20000-0000-7000-8000-000000000000",
        &app.admin_key,
    )
    .await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
    );
    let text = response.text().await.expect("text");
    for line in [
        r#"hilo_http_requests_total{method="GET",route="/api/v1/me",status="200"} 3"#,
        r#"hilo_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#,
        r#"hilo_http_requests_total{method="GET",route="/api/v1/sources/{id}",status="404"} 1"#,
        r#"hilo_http_request_duration_seconds_count{method="GET",route="/api/v1/me"} 4"#,
        r#"hilo_http_request_duration_seconds_bucket{method="GET",route="/api/v1/me",le="+Inf"} 4"#,
        "# TYPE hilo_http_request_duration_seconds histogram",
        "hilo_db_pool_max_connections 5",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains("hilo_db_pool_connections "));
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let response = app.get("/api/v1/me", &app.admin_key).await;
    let generated = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_owned();
    assert!(generated.len() >= 16);

    let response = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-request-id"], "abc-123");

    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id\twith tab")
        .send()
        .await
        .expect("request");
    assert_ne!(response.headers()["x-request-id"], "bad id\twith tab");
}

async fn oversized_bodies_get_413_and_unknown_routes_json_404(app: TestApp) {
    let name = "x".repeat(70 * 1024);
    let response = app
        .request(Method::POST, "/api/v1/sources", Some(&app.admin_key))
        .json(&serde_json::json!({"name": name, "channel": "web"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(response).await.0, "payload_too_large");

    let response = app.get("/api/v1/nothing-here", &app.admin_key).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_of(response).await.0, "not_found");

    let response = app
        .request(Method::PUT, "/api/v1/sources", Some(&app.admin_key))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 405);
    assert_eq!(error_of(response).await.0, "method_not_allowed");
}

async fn openapi_document_is_served_and_matches_the_committed_copy(app: TestApp) {
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.expect("json");
    assert_eq!(served["openapi"], "3.1.0");
    for path in [
        "/api/v1/me",
        "/api/v1/sources",
        "/api/v1/sources/{id}",
        "/api/v1/keys",
        "/api/v1/keys/{id}",
        "/api/v1/users",
        "/api/v1/customers",
        "/api/v1/customers/{id}/erase",
        "/api/v1/identity/rules",
        "/v1/batch",
        "/v1/track",
        "/healthz",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} is documented");
    }
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    let generated = hilo_web::openapi::document_json();
    if std::env::var("HILO_UPDATE_OPENAPI").is_ok() {
        std::fs::write(committed_path, &generated).expect("write docs/openapi.json");
        return;
    }
    assert!(
        committed == generated,
        "docs/openapi.json is out of date: run `cargo run -- openapi > docs/openapi.json` \
         (or the tests with HILO_UPDATE_OPENAPI=1) and review the change"
    );
    let committed: Value = serde_json::from_str(&committed).expect("committed document is JSON");
    assert_eq!(committed, served);
}

/// PostgreSQL stores no NUL in text: a body carrying one is refused up front, on both
/// engines alike, rather than failing in the database with a 500.
async fn a_nul_character_in_a_body_is_a_400_on_every_engine(app: TestApp) {
    for (path, body) in [
        (
            "/api/v1/customers",
            r#"{"identifiers": [{"type": "loyalty_card", "value": "A\u0000B"}]}"#,
        ),
        (
            "/api/v1/sources",
            r#"{"name": "pos\u0000", "channel": "pos"}"#,
        ),
    ] {
        let response = app
            .request(Method::POST, path, Some(&app.admin_key))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            error_of(response).await.1.as_deref(),
            Some("body"),
            "{path}"
        );
    }
    // An escaped backslash followed by "u0000" is ordinary text.
    let response = app
        .request(Method::POST, "/api/v1/customers", Some(&app.admin_key))
        .header("content-type", "application/json")
        .body(r#"{"identifiers": [{"type": "loyalty_card", "value": "A\\u0000B"}]}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn made_up_methods_and_paths_never_grow_the_metrics(app: TestApp) {
    let metrics = || async {
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    };
    let junk = |from: usize, to: usize| {
        let app = &app;
        async move {
            for n in from..to {
                let method = if n == 0 {
                    "X".repeat(8_000)
                } else {
                    format!("BREW{n}")
                };
                let method = Method::from_bytes(method.as_bytes()).expect("a method token");
                let _ = app
                    .client
                    .request(method, app.url(&format!("/api/v1/made-up-{n}")))
                    .send()
                    .await;
            }
        }
    };
    junk(0, 10).await;
    metrics().await;
    let before = metrics().await;
    junk(10, 300).await;
    let after = metrics().await;
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "290 more made-up requests added lines"
    );
    assert!(!after.contains("BREW") && !after.contains("XXXX") && !after.contains("made-up"));
    assert!(
        after
            .lines()
            .any(|l| l
                .starts_with(r#"hilo_http_requests_total{method="other",route="other",status="#)),
        "{after}"
    );
}

/// With a metrics token set, `/metrics` answers only requests bearing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_token_guards_the_metrics() {
    let token = "metrics-token-0123456789";
    let app = TestApp::start_sqlite_with(|s| {
        s.metrics_token = Some(hilo_domain::Secret::new(token));
    })
    .await;
    for given in [
        None,
        Some("wrong-token-0123456789"),
        Some(app.admin_key.as_str()),
    ] {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(given) = given {
            request = request.bearer_auth(given);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "{given:?}");
        assert_eq!(error_of(response).await.0, "unauthorized");
    }
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("hilo_build_info")
    );
}

/// Erase and unmerge take an optional body: left out, it means the defaults; sent, it is
/// JSON like every other body (415 otherwise), and an oversized one is the JSON 413.
async fn optional_bodies_are_json_like_every_other(app: TestApp) {
    let customer: Value = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &serde_json::json!({"identifiers": [{"type": "email", "value": "o@example.com"}]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = customer["id"].as_str().expect("id");
    for action in ["erase", "unmerge"] {
        let path = format!("/api/v1/customers/{id}/{action}");
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let response = app
                .request(Method::POST, &path, Some(&app.admin_key))
                .header("content-type", content_type)
                .body("{}")
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 415, "{action} as {content_type}");
            assert_eq!(error_of(response).await.0, "unsupported_media_type");
        }
        let response = app
            .request(Method::POST, &path, Some(&app.admin_key))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"merge_id\": \"{}\"}}",
                "x".repeat(2 * 1024 * 1024)
            ))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 413, "{action}");
        assert_eq!(error_of(response).await.0, "payload_too_large");
    }
    // Left out, the body means the defaults: no merge to undo here, then erased.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/unmerge"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("merge_id"));
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/erase"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

/// Cursors are opaque: every list reads back only the ones it handed out, and refuses
/// anything else with a 400 naming `cursor` (no empty page, no first page again).
async fn every_list_refuses_cursors_it_did_not_make(app: TestApp) {
    let admin = app.admin_key.clone();
    for n in 0..2 {
        app.create_source(&format!("Shop {n}"), "web").await;
        app.key_for("agent").await;
        app.create_user(
            &format!("u{n}@example.com"),
            "agent",
            "a long enough password",
        )
        .await;
        app.create_webhook(&format!("http://127.0.0.1:9/{n}"), &["customer.created"])
            .await;
    }
    let customer: Value = app
        .post_json(
            "/api/v1/customers",
            &admin,
            &serde_json::json!({"identifiers": [{"type": "email", "value": "p@example.com"}],
                "traits": {"name": "Pat"}}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = customer["id"].as_str().expect("id");
    app.post_json(
        &format!("/api/v1/customers/{id}/consent"),
        &admin,
        &serde_json::json!({"changes": [{"channel": "sms", "purpose": "service", "granted": true}]}),
    )
    .await;
    app.post_json(
        "/api/v1/customers",
        &admin,
        &serde_json::json!({"identifiers": [{"type": "email", "value": "p@example.com"}],
            "traits": {"city": "Lugo"}}),
    )
    .await;
    let webhooks: Value = app
        .get("/api/v1/webhooks", &admin)
        .await
        .json()
        .await
        .expect("json");
    let hook = webhooks["data"][0]["id"].as_str().expect("id").to_owned();
    let lists = [
        "/api/v1/sources".to_owned(),
        "/api/v1/keys".to_owned(),
        "/api/v1/users".to_owned(),
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{hook}/deliveries"),
        "/api/v1/jobs?status=pending".to_owned(),
        "/api/v1/customers?q=".to_owned(),
        format!("/api/v1/customers/{id}/timeline?"),
        "/api/v1/identity/conflicts".to_owned(),
    ];
    let join = |list: &str, rest: &str| {
        if list.contains('?') {
            format!("{list}&{rest}")
        } else {
            format!("{list}?{rest}")
        }
    };
    for list in &lists {
        for bad in [
            "garbage",
            "-1",
            "~",
            "01a20000-0000-7000-8000-000000000000",
            "1795435200000.1",
            "AAAAAAAAAAAA",
        ] {
            let response = app.get(&join(list, &format!("cursor={bad}")), &admin).await;
            assert_eq!(response.status(), 400, "{list} with cursor {bad}");
            assert_eq!(
                error_of(response).await.1.as_deref(),
                Some("cursor"),
                "{list}"
            );
        }
        // What the list hands out it reads back: page by page, nothing twice.
        let mut seen = Vec::new();
        let mut path = join(list, "limit=1");
        for _ in 0..10 {
            let page: Value = app.get(&path, &admin).await.json().await.expect("json");
            for item in page["data"].as_array().expect("data") {
                let key = item["id"].to_string();
                assert!(!seen.contains(&key), "{list}: {key} twice");
                seen.push(key);
            }
            match page["next_cursor"].as_str() {
                Some(next) => path = join(list, &format!("limit=1&cursor={next}")),
                None => break,
            }
        }
    }
}

/// Encoded API bodies, control characters in names and oversized blocked values are
/// refused, each with the field at fault.
async fn small_input_rules_hold(app: TestApp) {
    let response = app
        .request(Method::POST, "/api/v1/sources", Some(&app.admin_key))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(r#"{"name": "Shop", "channel": "web"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    assert_eq!(error_of(response).await.0, "unsupported_media_type");
    for (path, body) in [
        (
            "/api/v1/sources",
            serde_json::json!({"name": "a\tb", "channel": "web"}),
        ),
        (
            "/api/v1/keys",
            serde_json::json!({"name": "line\nbreak", "role": "agent"}),
        ),
    ] {
        let response = app.post_json(path, &app.admin_key, &body).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            error_of(response).await.1.as_deref(),
            Some("name"),
            "{path}"
        );
    }
    let mut rules: Value = app
        .get("/api/v1/identity/rules", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    rules["blocked_values"]
        .as_array_mut()
        .expect("list")
        .push(Value::String("x".repeat(10_000)));
    let response = app
        .request(Method::PUT, "/api/v1/identity/rules", Some(&app.admin_key))
        .json(&rules)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let field = error_of(response).await.1.unwrap_or_default();
    assert!(field.starts_with("blocked_values["), "{field}");
}
