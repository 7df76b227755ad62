//! The collect part's helpers: sending Segment requests with a write key.

use reqwest::Response;
use serde_json::Value;

use super::TestApp;

impl TestApp {
    /// Sends a collection API request with the write key as HTTP Basic user.
    pub async fn collect(&self, path: &str, write_key: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .basic_auth(write_key, Some(""))
            .json(body)
            .send()
            .await
            .expect("request")
    }
    /// Sends one message as a batch to the node at `base` (this one or another on the same
    /// database).
    pub async fn batch_to(&self, base: &str, write_key: &str, message: Value) -> Response {
        self.client
            .post(format!("{base}/v1/batch"))
            .basic_auth(write_key, Some(""))
            .json(&serde_json::json!({"batch": [message]}))
            .send()
            .await
            .expect("request")
    }
}
