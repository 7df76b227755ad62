//! The access part's helpers: keys, sources and console users made through the API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::TestApp;

impl TestApp {
    /// Creates an API key with `role` through the API and returns its secret.
    pub async fn key_for(&self, role: &str) -> String {
        let response = self
            .post_json(
                "/api/v1/keys",
                &self.admin_key,
                &json!({"name": format!("{role} key"), "role": role}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["key"].as_str().expect("key").to_owned()
    }
    /// Creates a source through the API; returns its id and write key.
    pub async fn create_source(&self, name: &str, channel: &str) -> (String, String) {
        let response = self
            .post_json(
                "/api/v1/sources",
                &self.admin_key,
                &json!({"name": name, "channel": channel}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["write_key"].as_str().expect("write_key").to_owned(),
        )
    }
    /// Creates a console user through the API.
    pub async fn create_user(&self, email: &str, role: &str, password: &str) {
        let response = self
            .post_json(
                "/api/v1/users",
                &self.admin_key,
                &json!({"email": email, "role": role, "password": password, "name": "Test"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    /// A console user's id, by email.
    pub async fn user_id(&self, email: &str) -> String {
        let users: Value = self
            .get("/api/v1/users", &self.admin_key)
            .await
            .json()
            .await
            .expect("json");
        users["data"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["email"] == email)
            .expect("user")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }
}
