//! The webhooks part's helpers (the receiver and verifier are in `receiver.rs`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::TestApp;

impl TestApp {
    /// Registers a webhook endpoint as the admin; returns its id and signing secret.
    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> (String, String) {
        let response = self
            .post_json(
                "/api/v1/webhooks",
                &self.admin_key,
                &json!({"url": url, "events": events, "description": "test receiver"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["secret"].as_str().expect("secret").to_owned(),
        )
    }
}
