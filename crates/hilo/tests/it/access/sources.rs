//! Sources: create, read, list with cursors, delete; input errors name the field.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    sources_round_trip,
    source_lists_page_with_cursors,
    bad_source_input_names_the_field,
);

async fn sources_round_trip(app: TestApp) {
    let response = app
        .post_json(
            "/api/v1/sources",
            &app.admin_key,
            &json!({"name": "  Tienda Madrid  ", "channel": "pos"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    let id = created["id"].as_str().expect("id");
    let write_key = created["write_key"].as_str().expect("write key");
    assert!(write_key.starts_with("hilo_wk_"));
    assert_eq!(created["name"], "Tienda Madrid");
    assert_eq!(created["channel"], "pos");
    assert_eq!(created["created_at"], "2026-11-23T12:00:00.000Z");
    assert_eq!(created["write_key_prefix"].as_str(), Some(&write_key[..12]));

    let fetched: Value = app
        .get(&format!("/api/v1/sources/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["name"], "Tienda Madrid");
    assert!(
        fetched.get("write_key").is_none(),
        "the write key is shown only once"
    );

    let listed: Value = app
        .get("/api/v1/sources", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["next_cursor"], Value::Null);

    // The key works (and is now remembered by the server)...
    let event = json!({"userId": "u-src", "event": "Visited", "messageId": "src-1"});
    assert_eq!(
        app.collect("/v1/track", write_key, &event).await.status(),
        200
    );
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/sources/{id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // ...and stops working the moment its source is deleted.
    let refused = app.collect("/v1/track", write_key, &event).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&format!("/api/v1/sources/{id}"), &app.admin_key)
            .await
            .status(),
        404
    );
    for id in ["%FF", "not-an-id", "01a20000-0000-7000-8000-000000000000"] {
        let response = app
            .get(&format!("/api/v1/sources/{id}"), &app.admin_key)
            .await;
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(error_of(response).await.0, "not_found");
    }
    let again = app
        .request(
            Method::DELETE,
            &format!("/api/v1/sources/{id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 404);
    let listed: Value = app
        .get("/api/v1/sources", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"], json!([]));
}

async fn source_lists_page_with_cursors(app: TestApp) {
    let channels = [
        "web",
        "app",
        "pos",
        "kiosk",
        "call_center",
        "voice_assistant",
        "server",
    ];
    let mut created = Vec::new();
    for (i, channel) in channels.iter().enumerate() {
        created.push(app.create_source(&format!("Source {i}"), channel).await.0);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/sources?limit=3&cursor={c}"),
            None => "/api/v1/sources?limit=3".to_owned(),
        };
        let page: Value = app
            .get(&path, &app.admin_key)
            .await
            .json()
            .await
            .expect("json");
        pages += 1;
        let items = page["data"].as_array().expect("data");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|s| s["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every source once, in creation order");

    for bad in ["limit=0", "limit=201", "limit=abc"] {
        let response = app
            .get(&format!("/api/v1/sources?{bad}"), &app.admin_key)
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(error_of(response).await.1.as_deref(), Some("limit"));
    }
}

async fn bad_source_input_names_the_field(app: TestApp) {
    let cases = [
        (json!({"channel": "web"}), "name"),
        (json!({"name": "", "channel": "web"}), "name"),
        (json!({"name": "x".repeat(101), "channel": "web"}), "name"),
        (json!({"name": "Fax", "channel": "fax"}), "channel"),
        (json!({"name": "Web"}), "channel"),
        (json!({"name": 3, "channel": "web"}), "name"),
        (
            json!({"name": "Web", "channel": "web", "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .post_json("/api/v1/sources", &app.admin_key, &body)
            .await;
        assert_eq!(response.status(), 400, "{body}");
        let (code, named) = error_of(response).await;
        assert_eq!(code, "invalid_request");
        assert_eq!(named.as_deref(), Some(field), "{body}");
    }

    let not_json = app
        .request(Method::POST, "/api/v1/sources", Some(&app.admin_key))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 400);
    assert_eq!(error_of(not_json).await.1.as_deref(), Some("body"));

    let wrong_type = app
        .request(Method::POST, "/api/v1/sources", Some(&app.admin_key))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(error_of(wrong_type).await.0, "unsupported_media_type");

    // Nothing half-made was stored by any of the above.
    let listed: Value = app
        .get("/api/v1/sources", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"], json!([]));
}
