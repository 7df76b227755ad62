//! The customers part's helpers: reading customers, their timelines and conflicts.

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

impl TestApp {
    /// The identity conflicts listed to an admin, newest first.
    pub async fn conflicts(&self) -> Value {
        self.get("/api/v1/identity/conflicts", &self.admin_key)
            .await
            .json()
            .await
            .expect("json")
    }
    /// The customer holding an identifier, as the API shows it.
    pub async fn lookup(&self, kind: &str, value: &str) -> Option<Value> {
        let response = self
            .client
            .get(self.url("/api/v1/customers/lookup"))
            .query(&[("type", kind), ("value", value)])
            .bearer_auth(&self.admin_key)
            .send()
            .await
            .expect("request");
        match response.status() {
            StatusCode::OK => Some(response.json().await.expect("json")),
            StatusCode::NOT_FOUND => None,
            other => panic!("lookup answered {other}"),
        }
    }
    /// A customer's timeline, newest first (first page of up to 200).
    pub async fn timeline(&self, customer_id: &str) -> Vec<Value> {
        let body: Value = self
            .get(
                &format!("/api/v1/customers/{customer_id}/timeline?limit=200"),
                &self.admin_key,
            )
            .await
            .json()
            .await
            .expect("json");
        body["data"].as_array().cloned().unwrap_or_default()
    }
}

/// A customer's identities as sorted `type:value` strings.
pub fn identities(customer: &Value) -> Vec<String> {
    let mut list: Vec<String> = customer["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap_or(""),
                i["value"].as_str().unwrap_or("")
            )
        })
        .collect();
    list.sort();
    list
}
