//! Coupons redeemable once on every channel (S3), and "new customers only" read from the
//! one profile (S23): refused to someone who bought in a store under another identifier.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    a_coupon_is_redeemed_once_on_any_channel,
    new_customers_only_is_refused_to_who_bought_in_a_store_under_another_identifier,
);

async fn promotion(app: &TestApp, body: Value) -> Value {
    let response = app
        .post_json("/api/v1/promotions", &app.admin_key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn order(
    app: &TestApp,
    key: &str,
    customer: &str,
    channel: &str,
    fulfillment: Value,
    code: &str,
) -> reqwest::Response {
    app.order(
        key,
        &json!({"customer_id": customer, "channel": channel, "coupon_code": code,
        "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": fulfillment}),
    )
    .await
}

async fn a_coupon_is_redeemed_once_on_any_channel(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5999)]).await;
    app.stock("ZAP-42", &store, 20).await;
    let shop = app.key_for("storefront").await;
    let till = app.key_for("store").await;
    let marketer = app.key_for("marketer").await;
    let pickup = json!({"type": "pickup", "location_id": store});
    let counter = json!({"type": "counter", "location_id": store});
    // Two customers.
    let ana = app
        .order(
            &shop,
            &json!({"customer_id": "email:ana@example.com", "channel": "web",
        "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": pickup}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let ana_id = ana["customer_id"].as_str().unwrap().to_owned();
    app.order(
        &shop,
        &json!({"customer_id": "email:luis@example.com", "channel": "web",
        "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": pickup}),
    )
    .await;

    // Five euros off, from ten euros, a coupon issued to Ana.
    let response = app
        .post_json(
            "/api/v1/promotions",
            &marketer,
            &json!({"name": "Vuelve", "kind": "fixed",
        "value": 500, "currency": "EUR", "min_spend": 1000}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let five: Value = response.json().await.unwrap();
    let id = five["id"].as_str().unwrap();
    let response = app
        .post_json(
            &format!("/api/v1/customers/{ana_id}/coupons"),
            &marketer,
            &json!({"promotion_id": id}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let code = response.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let coupons: Value = app
        .get("/api/v1/customers/email:ana@example.com/coupons", &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coupons["data"][0]["code"], code.as_str());

    // Luis cannot use Ana's coupon.
    let response = order(
        &app,
        &shop,
        "email:luis@example.com",
        "web",
        pickup.clone(),
        &code,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // Ana uses it on the website; the stock and the coupon go together.
    let response = order(
        &app,
        &shop,
        "email:ana@example.com",
        "web",
        pickup.clone(),
        &code.to_lowercase(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let web: Value = response.json().await.unwrap();
    assert_eq!(web["discount"]["amount"], 500);
    assert_eq!(web["total"]["amount"], 5499);
    assert_eq!(web["coupon_code"], code.as_str());
    // …so not again at the store's till.
    let response = order(
        &app,
        &till,
        "email:ana@example.com",
        "pos",
        counter.clone(),
        &code,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let level = app.level("ZAP-42", &store).await;
    // Cancelled from the call center: the coupon comes back, once.
    let agent = app.key_for("agent").await;
    let cancel = format!("/api/v1/orders/{}/cancel", web["id"].as_str().unwrap());
    assert_eq!(
        app.post_json(&cancel, &agent, &json!({"channel": "call_center"}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post_json(&cancel, &agent, &json!({"channel": "call_center"}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let read: Value = app
        .get(&format!("/api/v1/promotions/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["redemptions"], 0);
    // Now at the till it is taken.
    let response = order(
        &app,
        &till,
        "email:ana@example.com",
        "pos",
        counter.clone(),
        &code,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.level("ZAP-42", &store).await.0, level.0 - 1);

    // A shared code, once per customer.
    promotion(
        &app,
        json!({"code": "Verano10", "kind": "percent", "value": 10, "per_customer_limit": 1}),
    )
    .await;
    let response = order(
        &app,
        &shop,
        "email:luis@example.com",
        "app",
        pickup.clone(),
        "VERANO10",
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["discount"]["amount"],
        600
    );
    let response = order(
        &app,
        &shop,
        "email:luis@example.com",
        "web",
        pickup.clone(),
        "verano10",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = order(
        &app,
        &shop,
        "email:luis@example.com",
        "web",
        pickup.clone(),
        "NOPE-123",
    )
    .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("coupon_code"));
    // Codes in bulk; a shared code taken; bad input named.
    let response = app
        .post_json(
            &format!("/api/v1/promotions/{id}/coupons"),
            &marketer,
            &json!({"count": 3}),
        )
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["codes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let response = app
        .post_json(
            "/api/v1/promotions",
            &app.admin_key,
            &json!({"code": "VERANO10", "kind": "percent", "value": 5}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    for (body, field) in [
        (json!({"kind": "percent", "value": 101}), "value"),
        (json!({"kind": "fixed", "value": 100}), "currency"),
        (
            json!({"kind": "percent", "value": 5, "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
            "ends_at",
        ),
    ] {
        let response = app
            .post_json("/api/v1/promotions", &app.admin_key, &body)
            .await;
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    assert_eq!(
        app.post_json(
            "/api/v1/promotions",
            &shop,
            &json!({"kind": "percent", "value": 5})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

async fn new_customers_only_is_refused_to_who_bought_in_a_store_under_another_identifier(
    app: TestApp,
) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5999)]).await;
    app.stock("ZAP-42", &store, 20).await;
    let shop = app.key_for("storefront").await;
    let till = app.key_for("store").await;
    let pickup = json!({"type": "pickup", "location_id": store});
    promotion(
        &app,
        json!({"code": "BIENVENIDA", "kind": "percent", "value": 15, "new_customers_only": true}),
    )
    .await;

    // She bought at the store's till, known there by her phone.
    let response = app.order(&till, &json!({"customer_id": "phone:+34600111222", "channel": "pos",
        "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": {"type": "counter", "location_id": store}})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // She signs up on the website with her user id and the same phone: one profile.
    let (_, write_key) = app.create_source("Web", "web").await;
    let response = app.collect("/v1/identify", &write_key,
        &json!({"userId": "web-77", "traits": {"email": "marta@example.com", "phone": "+34 600 11 12 22"}})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = order(
        &app,
        &shop,
        "user_id:web-77",
        "web",
        pickup.clone(),
        "BIENVENIDA",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new customers")
    );

    // Someone whose order a shop reported through the collection API is not new either.
    app.collect(
        "/v1/track",
        &write_key,
        &json!({"userId": "web-88", "event": "Order Completed",
        "properties": {"order_id": "EXT-1", "total": 30}}),
    )
    .await;
    let response = order(
        &app,
        &shop,
        "user_id:web-88",
        "web",
        pickup.clone(),
        "BIENVENIDA",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // Someone truly new gets it.
    let response = order(&app, &shop, "user_id:web-99", "web", pickup, "BIENVENIDA").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["discount"]["amount"],
        900
    );
}
