//! The conversations part's helpers: a customer's conversations, a thread's messages,
//! an agent's reply.

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

impl TestApp {
    /// The conversations of the customer holding `kind:value`, most recent first.
    pub async fn conversations_of(&self, kind: &str, value: &str) -> Vec<Value> {
        let customer = self.lookup(kind, value).await.expect("the customer exists");
        let list: Value = self
            .get(
                &format!(
                    "/api/v1/conversations?customer_id={}",
                    customer["id"].as_str().expect("id")
                ),
                &self.admin_key,
            )
            .await
            .json()
            .await
            .expect("json");
        list["data"].as_array().expect("data").clone()
    }

    /// A conversation's messages, oldest first.
    pub async fn thread(&self, conversation: &str) -> Vec<Value> {
        let response = self
            .get(
                &format!("/api/v1/conversations/{conversation}"),
                &self.admin_key,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let view: Value = response.json().await.expect("json");
        view["messages"].as_array().expect("messages").clone()
    }

    /// An admin's reply (or note) in a conversation; the message as stored.
    pub async fn reply(&self, conversation: &str, body: Value) -> Value {
        let response = self
            .post_json(
                &format!("/api/v1/conversations/{conversation}/messages"),
                &self.admin_key,
                &body,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.expect("json")
    }
}
