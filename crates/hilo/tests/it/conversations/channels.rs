//! Channels: admins configure them under the providers' own setting names; credentials
//! are sealed at rest and never shown in full.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    channels_keep_credentials_sealed_and_masked,
    channel_settings_are_checked_by_type_and_permission,
);

async fn channels_keep_credentials_sealed_and_masked(app: TestApp) {
    let body = json!({
        "type": "twilio_sms", "name": "Tienda SMS",
        "settings": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_number": "+34 910 000 001"},
    });
    let response = app
        .post_json("/api/v1/channels", &app.admin_key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["type"], "twilio_sms");
    assert_eq!(
        created["webhook_url"],
        format!("http://127.0.0.1/webhooks/twilio/{id}")
    );
    assert_eq!(created["settings"]["phone_number"], "+34910000001");
    assert_eq!(created["settings"]["auth_token"], "••••ests");
    assert!(!created.to_string().contains(AUTH_TOKEN));

    // At rest the token is sealed: no column holds it, nor any part of it.
    let stored = raw_secrets(&app, &id).await;
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains("twilio-auth"));

    // Rotating the token alone keeps the rest; reads never show it.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/channels/{id}"),
            Some(&app.admin_key),
        )
        .json(&json!({"settings": {"auth_token": "a-new-token-9876"}, "name": "Tienda"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["name"], "Tienda");
    assert_eq!(changed["settings"]["auth_token"], "••••9876");
    assert_eq!(changed["settings"]["account_sid"], ACCOUNT_SID);
    let listed: Value = app
        .get("/api/v1/channels", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains("a-new-token"));

    // A web chat gets an identity secret made for it, shown once.
    let response = app
        .post_json(
            "/api/v1/channels",
            &app.admin_key,
            &json!({"type": "web_chat", "name": "Web"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let chat: Value = response.json().await.unwrap();
    let secret = chat["generated_secrets"]["identity_secret"]
        .as_str()
        .unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(chat["webhook_url"], Value::Null);
    let shown: Value = app
        .get(
            &format!("/api/v1/channels/{}", chat["id"].as_str().unwrap()),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(!shown.to_string().contains(secret));

    // Deleted: gone from reads, its credentials forgotten.
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/channels/{id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .get(&format!("/api/v1/channels/{id}"), &app.admin_key)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(raw_secrets(&app, &id).await, "");
}

async fn raw_secrets(app: &TestApp, id: &str) -> String {
    const SQL: &str = "SELECT secrets FROM channels WHERE id = $1";
    match app.store() {
        hilo_store::Store::Sqlite(pool) => sqlx::query_scalar(SQL).bind(id).fetch_one(pool).await,
        hilo_store::Store::Postgres(pool) => sqlx::query_scalar(SQL).bind(id).fetch_one(pool).await,
    }
    .unwrap()
}

async fn channel_settings_are_checked_by_type_and_permission(app: TestApp) {
    let cases = [
        (json!({"type": "fax", "name": "x"}), "type"),
        (
            json!({"type": "twilio_sms", "name": "x", "settings": {"auth_token": "t", "phone_number": "+34910000001"}}),
            "settings.account_sid",
        ),
        (
            json!({"type": "twilio_sms", "name": "x", "settings": {"account_sid": ACCOUNT_SID, "auth_token": "t"}}),
            "settings.phone_number",
        ),
        (
            json!({"type": "twilio_sms", "name": "x", "settings": {"account_sid": ACCOUNT_SID, "auth_token": "t", "phone_number": "12"}}),
            "settings.phone_number",
        ),
        (
            json!({"type": "whatsapp_cloud", "name": "x", "settings": {"app_secret": "a", "verify_token": "v", "access_token": "t", "phone_number_id": "abc"}}),
            "settings.phone_number_id",
        ),
        (
            json!({"type": "email", "name": "x", "settings": {"address": "not an address"}}),
            "settings.address",
        ),
        (
            json!({"type": "email", "name": "x", "settings": {"address": "help@shop.example", "smtp_port": 70000}}),
            "settings.smtp_port",
        ),
        (json!({"type": "web_chat", "name": " "}), "name"),
        (
            json!({"type": "web_chat", "name": "x", "settings": {"colour": "red"}}),
            "settings.colour",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .post_json("/api/v1/channels", &app.admin_key, &body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    // Channels hold credentials: admins only, checked before the body.
    for role in ["agent", "marketer", "store", "read_only"] {
        let key = app.key_for(role).await;
        let response = app
            .post_json("/api/v1/channels", &key, &json!({"bad": true}))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(
            app.get("/api/v1/channels", &key).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let response = app
        .request(Method::GET, "/api/v1/channels", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
