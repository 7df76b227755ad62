//! API keys through the API: shown once, stored hashed, last use recorded, revocable.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    keys_are_shown_once_and_record_their_last_use,
    bad_key_input_names_the_field
);

async fn keys_are_shown_once_and_record_their_last_use(app: TestApp) {
    let response = app
        .post_json(
            "/api/v1/keys",
            &app.admin_key,
            &json!({"name": "CRM", "role": "marketer"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let secret = created["key"].as_str().expect("key").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(secret.starts_with("hilo_sk_"));
    assert_eq!(created["role"], "marketer");
    assert_eq!(created["last_used_at"], Value::Null);
    assert!(
        created["created_by"]
            .as_str()
            .is_some_and(|by| by.starts_with("api_key:"))
    );

    let fetched: Value = app
        .get(&format!("/api/v1/keys/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        fetched.get("key").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(fetched["prefix"].as_str(), Some(&secret[..12]));

    // The secret is not stored in clear anywhere in the key's row.
    let row_text: String = match app.store() {
        hilo_store::Store::Sqlite(pool) => sqlx::query_scalar(
            "SELECT id || name || role || secret_hash || prefix FROM api_keys WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(pool)
        .await
        .expect("row"),
        hilo_store::Store::Postgres(pool) => sqlx::query_scalar(
            "SELECT id || name || role || secret_hash || prefix FROM api_keys WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(pool)
        .await
        .expect("row"),
    };
    assert!(!row_text.contains(&secret));

    app.clock.advance_millis(5_000);
    assert_eq!(app.get("/api/v1/me", &secret).await.status(), 200);
    let used: Value = app
        .get(&format!("/api/v1/keys/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(used["last_used_at"], "2026-11-23T12:00:05.000Z");

    let revoked = app
        .request(
            Method::DELETE,
            &format!("/api/v1/keys/{id}"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.get("/api/v1/me", &secret).await.status(), 401);
    let listed: Value = app
        .get("/api/v1/keys", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let entry = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("revoked keys are still listed");
    assert_eq!(entry["revoked_at"], "2026-11-23T12:00:05.000Z");
}

async fn bad_key_input_names_the_field(app: TestApp) {
    for (body, field) in [
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": " ", "role": "agent"}), "name"),
        (json!({"role": "agent"}), "name"),
    ] {
        let response = app.post_json("/api/v1/keys", &app.admin_key, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    let duplicate_user =
        json!({"email": "Ana@Example.com", "role": "agent", "password": "long enough password"});
    assert_eq!(
        app.post_json("/api/v1/users", &app.admin_key, &duplicate_user)
            .await
            .status(),
        201
    );
    let again =
        json!({"email": "ana@example.com ", "role": "store", "password": "another long password"});
    let response = app.post_json("/api/v1/users", &app.admin_key, &again).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_of(response).await.0, "conflict");
    let short = json!({"email": "bo@example.com", "role": "store", "password": "short"});
    let response = app.post_json("/api/v1/users", &app.admin_key, &short).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("password"));
}
