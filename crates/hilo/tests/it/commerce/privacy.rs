//! A customer's data export holds their orders, cart, wish list and coupons; erasing
//! them removes their cart and unused coupons and leaves their orders as sales records
//! without their address or who collected for them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, on_both_engines};

on_both_engines!(orders_are_exported_and_kept_without_personal_data_after_erasure);

async fn orders_are_exported_and_kept_without_personal_data_after_erasure(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup", "ship"])
        .await;
    app.create_product("Mochila", &[("MOC-1", 3500), ("MOC-2", 3500)])
        .await;
    app.stock("MOC-1", &store, 10).await;
    let shop = app.key_for("storefront").await;
    let staff = app.key_for("store").await;
    let shipped: Value = app
        .order(&shop, &json!({"customer_id": "email:ana@example.com", "channel": "web",
            "lines": [{"sku": "MOC-1", "quantity": 1}],
            "fulfillment": {"type": "ship", "address": {"name": "Ana García", "line1": "Calle Mayor 1",
                "city": "Madrid", "postal_code": "28013", "country": "ES"}}}))
        .await
        .json()
        .await
        .unwrap();
    let customer = shipped["customer_id"].as_str().unwrap().to_owned();
    let pickup: Value = app
        .order(&shop, &json!({"customer_id": customer, "channel": "web",
            "lines": [{"sku": "MOC-1", "quantity": 1}], "fulfillment": {"type": "pickup", "location_id": store}}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/orders/{}/fulfillments/{}/ready",
        pickup["id"].as_str().unwrap(),
        pickup["fulfillments"][0]["id"].as_str().unwrap()
    );
    app.post_json(&path, &staff, &json!({})).await;
    let code = app
        .get(
            &format!("/api/v1/orders/{}", pickup["id"].as_str().unwrap()),
            &shop,
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .post_json(
            "/api/v1/pickups/collect",
            &staff,
            &json!({"location_id": store, "code": code, "collected_by": "Luis García"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.post_json(
        &format!("/api/v1/customers/{customer}/cart/lines"),
        &shop,
        &json!({"sku": "MOC-2", "quantity": 1}),
    )
    .await;
    let promotion: Value = app
        .post_json(
            "/api/v1/promotions",
            &app.admin_key,
            &json!({"kind": "percent", "value": 10}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post_json(
        &format!("/api/v1/customers/{customer}/coupons"),
        &app.admin_key,
        &json!({"promotion_id": promotion["id"]}),
    )
    .await;

    // The export holds it all.
    let export: Value = app
        .get(
            &format!("/api/v1/customers/{customer}/export"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let commerce = &export["commerce"];
    assert_eq!(commerce["orders"].as_array().unwrap().len(), 2);
    assert!(
        commerce.to_string().contains("Calle Mayor 1")
            && commerce.to_string().contains("Luis García")
    );
    assert_eq!(commerce["cart"][0]["sku"], "MOC-2");
    assert_eq!(commerce["coupons"].as_array().unwrap().len(), 1);

    // Erased: the orders remain as sales, without her address or who collected.
    let response = app
        .post_json(
            &format!("/api/v1/customers/{customer}/erase"),
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for order in [&shipped, &pickup] {
        let read: Value = app
            .get(
                &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
                &app.admin_key,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read["total"]["amount"], 3500);
        let text = read.to_string();
        assert!(
            !text.contains("Calle Mayor")
                && !text.contains("Ana García")
                && !text.contains("Luis García"),
            "{text}"
        );
    }
    let cart: Value = app
        .get("/api/v1/customers/email:ana@example.com/cart", &shop)
        .await
        .json()
        .await
        .unwrap();
    assert!(cart["lines"].as_array().unwrap().is_empty() && cart["customer_id"].is_null());
    assert_eq!(app.level("MOC-1", &store).await, (9, 1, 8));
}
