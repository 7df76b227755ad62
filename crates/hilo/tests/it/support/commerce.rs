//! The commerce part's helpers: locations, products and stock made through the API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::TestApp;

/// Monday to Saturday, 10:00 to 21:00.
pub fn shop_hours() -> Value {
    let day = json!([["10:00", "21:00"]]);
    json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day})
}

impl TestApp {
    /// Creates a location through the API; returns its id.
    pub async fn create_location(
        &self,
        name: &str,
        kind: &str,
        lat: f64,
        lng: f64,
        offers: &[&str],
    ) -> String {
        self.create_location_with(json!({
            "name": name, "kind": kind, "address": format!("{name}, Madrid"),
            "lat": lat, "lng": lng, "timezone": "Europe/Madrid",
            "opening_hours": shop_hours(), "offers": offers, "pickup_prep_minutes": 30,
        }))
        .await
    }

    pub async fn create_location_with(&self, body: Value) -> String {
        let response = self
            .post_json("/api/v1/locations", &self.admin_key, &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a product with one variant per `(sku, price in EUR cents)`; returns its id.
    pub async fn create_product(&self, name: &str, variants: &[(&str, i64)]) -> String {
        let variants: Vec<Value> = variants
            .iter()
            .map(|(sku, cents)| json!({"sku": sku, "price": {"amount": cents, "currency": "EUR"}}))
            .collect();
        let response = self
            .post_json(
                "/api/v1/products",
                &self.admin_key,
                &json!({"name": {"es": name, "en": name}, "variants": variants}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Counts `on_hand` units of `sku` at `location`.
    pub async fn stock(&self, sku: &str, location: &str, on_hand: i64) {
        let response = self
            .request(
                Method::PUT,
                &format!("/api/v1/inventory/{sku}/{location}"),
                Some(&self.admin_key),
            )
            .json(&json!({"on_hand": on_hand, "reason": "counted"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// `sku`'s level at `location`: (on hand, reserved, available).
    pub async fn level(&self, sku: &str, location: &str) -> (i64, i64, i64) {
        let body: Value = self
            .get(&format!("/api/v1/inventory/{sku}"), &self.admin_key)
            .await
            .json()
            .await
            .expect("json");
        body["data"]
            .as_array()
            .expect("levels")
            .iter()
            .find(|l| l["location_id"] == location)
            .map_or((0, 0, 0), |l| {
                (
                    l["on_hand"].as_i64().expect("on hand"),
                    l["reserved"].as_i64().expect("reserved"),
                    l["available"].as_i64().expect("available"),
                )
            })
    }

    /// Places an order with `key`; the response.
    pub async fn order(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/orders", key, body).await
    }
}
