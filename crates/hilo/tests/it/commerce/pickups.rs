//! Buy online, collect in store (S4): the store marks the order ready, the customer's
//! shop shows them a pickup code staff can check but never read, the desk hands the
//! order over (to a named person too); wrong codes, other stores' codes, used and
//! expired ones are refused, and an uncollected pickup goes back on sale.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::twilio::TwilioPeer;
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    buy_online_and_collect_at_the_store,
    a_desk_typing_wrong_codes_must_wait,
    an_uncollected_pickup_goes_back_on_sale,
    a_shipment_is_picked_shipped_and_delivered,
    the_customer_is_told_with_the_code_that_no_one_stores,
);

struct Shop {
    store: String,
    other: String,
    storefront: String,
    staff: String,
}

async fn shop(app: &TestApp) -> Shop {
    let store = app
        .create_location("Gran Vía", "store", 40.4200, -3.7058, &["pickup"])
        .await;
    let other = app
        .create_location("Sol", "store", 40.4169, -3.7035, &["pickup"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5999)]).await;
    app.stock("ZAP-42", &store, 4).await;
    Shop {
        store,
        other,
        storefront: app.key_for("storefront").await,
        staff: app.key_for("store").await,
    }
}

async fn pickup_order(app: &TestApp, shop: &Shop) -> Value {
    let response = app
        .order(
            &shop.storefront,
            &json!({"customer_id": "email:ana@example.com", "channel": "web",
            "lines": [{"sku": "ZAP-42", "quantity": 1}], "payment": {"type": "pay_at_pickup"},
            "fulfillment": {"type": "pickup", "location_id": shop.store}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn step(app: &TestApp, key: &str, order: &Value, step: &str) -> reqwest::Response {
    let path = format!(
        "/api/v1/orders/{}/fulfillments/{}/{step}",
        order["id"].as_str().unwrap(),
        order["fulfillments"][0]["id"].as_str().unwrap()
    );
    app.post_json(&path, key, &json!({"channel": "pos"})).await
}

async fn collect(
    app: &TestApp,
    key: &str,
    location: &str,
    code: &str,
    by: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"location_id": location, "code": code});
    if let Some(by) = by {
        body["collected_by"] = json!(by);
    }
    app.post_json("/api/v1/pickups/collect", key, &body).await
}

async fn message_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["message"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, key: &str, order: &Value) -> Value {
    app.get(
        &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
        key,
    )
    .await
    .json()
    .await
    .unwrap()
}

async fn buy_online_and_collect_at_the_store(app: TestApp) {
    let shop = shop(&app).await;
    let order = pickup_order(&app, &shop).await;
    assert!(order["fulfillments"][0].get("pickup_code").is_none());

    // The store prepares it and marks it ready: staff see no code.
    let response = step(&app, &shop.staff, &order, "ready").await;
    assert_eq!(response.status(), StatusCode::OK);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready["fulfillments"][0]["status"], "ready_for_pickup");
    assert!(ready["fulfillments"][0].get("pickup_code").is_none());
    assert!(
        read(&app, &shop.staff, &order).await["fulfillments"][0]
            .get("pickup_code")
            .is_none()
    );
    // The shop's backend reads it to show the customer, with its QR payload.
    let shown = read(&app, &shop.storefront, &order).await;
    let code = shown["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 11);
    assert_eq!(&code[5..6], "-");
    assert!(
        code.chars()
            .all(|c| c == '-' || "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c))
    );
    let qr = shown["fulfillments"][0]["pickup_qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(qr, format!("HILO-PICKUP:{}", code.replace('-', "")));
    assert_eq!(
        shown["fulfillments"][0]["pickup_expires_at"],
        "2026-11-30T12:00:00.000Z"
    );
    // Read again, the same code.
    assert_eq!(
        read(&app, &app.admin_key, &order).await["fulfillments"][0]["pickup_code"],
        code.as_str()
    );

    // Another store's desk, a code nobody holds, and something that is no code.
    let response = collect(&app, &shop.staff, &shop.other, &code, None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        message_of(response)
            .await
            .contains("another store (Gran Vía)")
    );
    let response = collect(&app, &shop.staff, &shop.store, "ABCDE-FGHJK", None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = collect(&app, &shop.staff, &shop.store, "hello", None).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("code"));
    // The shop's backend may not hand orders over.
    let response = collect(&app, &shop.storefront, &shop.store, &code, None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Her brother collects it, scanning the QR code.
    assert_eq!(app.level("ZAP-42", &shop.store).await, (4, 1, 3));
    let response = collect(&app, &shop.staff, &shop.store, &qr, Some("Luis García")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let collected: Value = response.json().await.unwrap();
    assert_eq!(collected["status"], "completed");
    assert_eq!(collected["fulfillments"][0]["status"], "collected");
    assert_eq!(collected["fulfillments"][0]["collected_by"], "Luis García");
    assert_eq!(app.level("ZAP-42", &shop.store).await, (3, 0, 3));
    let events: Vec<String> = collected["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["placed", "ready_for_pickup", "collected"]);
    // A used code; and the code is no longer shown.
    let response = collect(&app, &shop.staff, &shop.store, &code.to_lowercase(), None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        read(&app, &shop.storefront, &order).await["fulfillments"][0]
            .get("pickup_code")
            .is_none()
    );
    // A collected pickup cannot be made ready again.
    assert_eq!(
        step(&app, &shop.staff, &order, "ready").await.status(),
        StatusCode::CONFLICT
    );
}

async fn a_desk_typing_wrong_codes_must_wait(app: TestApp) {
    let shop = shop(&app).await;
    let order = pickup_order(&app, &shop).await;
    step(&app, &shop.staff, &order, "ready").await;
    let code = read(&app, &shop.storefront, &order).await["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..10 {
        let response = collect(&app, &shop.staff, &shop.store, "22222-22222", None).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
    }
    let response = collect(&app, &shop.staff, &shop.store, &code, None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another desk is not held up; this one may try again a quarter of an hour later.
    app.clock.advance_millis(15 * 60_000 + 1);
    let response = collect(&app, &shop.staff, &shop.store, &code, None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn an_uncollected_pickup_goes_back_on_sale(app: TestApp) {
    let shop = shop(&app).await;
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/commerce/settings",
            Some(&app.admin_key),
        )
        .json(&json!({"pickup_expiry_days": 2, "return_window_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let order = pickup_order(&app, &shop).await;
    step(&app, &shop.staff, &order, "ready").await;
    let code = read(&app, &shop.storefront, &order).await["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.level("ZAP-42", &shop.store).await, (4, 1, 3));
    // The notice job runs now: no channel reaches her here, which the history says.
    app.step_workers().await;
    let history = read(&app, &app.admin_key, &order).await["history"].clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["event"] == "not_notified"),
        "{history}"
    );

    // Two days on, before the job has run: the code is refused as expired.
    app.clock.advance_millis(2 * 86_400_000);
    let response = collect(&app, &shop.staff, &shop.store, &code, None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(message_of(response).await.contains("expired"));
    // The job cancels it and puts the unit back on sale.
    app.step_workers().await;
    let expired = read(&app, &app.admin_key, &order).await;
    assert_eq!(expired["status"], "cancelled");
    assert_eq!(
        expired["history"].as_array().unwrap().last().unwrap()["event"],
        "expired"
    );
    assert_eq!(app.level("ZAP-42", &shop.store).await, (4, 0, 4));
    // Running it again changes nothing.
    app.step_workers().await;
    assert_eq!(app.level("ZAP-42", &shop.store).await, (4, 0, 4));
}

async fn a_shipment_is_picked_shipped_and_delivered(app: TestApp) {
    let warehouse = app
        .create_location("Getafe", "warehouse", 40.3057, -3.7329, &["ship"])
        .await;
    app.create_product("Mochila", &[("MOC-1", 3500)]).await;
    app.stock("MOC-1", &warehouse, 5).await;
    let staff = app.key_for("store").await;
    let response = app
        .order(
            &app.admin_key,
            &json!({"customer_id": "email:ana@example.com", "channel": "app",
            "lines": [{"sku": "MOC-1", "quantity": 2}],
            "fulfillment": {"type": "ship", "address": {"name": "Ana", "line1": "Calle Mayor 1",
                "city": "Madrid", "postal_code": "28013", "country": "es"}}}),
        )
        .await;
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["fulfillments"][0]["address"]["country"], "ES");
    // A shipment is never made ready for pickup.
    assert_eq!(
        step(&app, &staff, &order, "ready").await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        step(&app, &staff, &order, "picking").await.status(),
        StatusCode::OK
    );
    let shipped: Value = step(&app, &staff, &order, "ship")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shipped["fulfillments"][0]["status"], "shipped");
    assert_eq!(app.level("MOC-1", &warehouse).await, (3, 0, 3));
    // Shipped is too late to cancel.
    let response = app
        .post_json(
            &format!("/api/v1/orders/{}/cancel", order["id"].as_str().unwrap()),
            &staff,
            &json!({"channel": "call_center"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let delivered: Value = step(&app, &staff, &order, "deliver")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(delivered["status"], "completed");
    let response = step(&app, &staff, &order, "teleport").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn the_customer_is_told_with_the_code_that_no_one_stores(app: TestApp) {
    let shop = shop(&app).await;
    let peer = TwilioPeer::start().await;
    app.twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let place = |phone: &str| {
        json!({"customer_id": format!("phone:{phone}"), "channel": "app",
            "lines": [{"sku": "ZAP-42", "quantity": 1}],
            "fulfillment": {"type": "pickup", "location_id": shop.store}})
    };
    let order: Value = app
        .order(&shop.storefront, &place("+34600111222"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        step(&app, &shop.staff, &order, "ready").await.status(),
        StatusCode::OK
    );
    app.step_workers().await; // the notice
    app.step_workers().await; // its message, sent
    let code = read(&app, &shop.storefront, &order).await["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = peer.sent();
    assert_eq!(sent.len(), 1);
    let body = &sent[0].form["Body"];
    assert!(
        body.contains("está listo para recoger en Gran Vía") && body.contains(&code),
        "{body}"
    );
    assert_eq!(sent[0].form["To"], "+34600111222");
    // The conversation keeps the message without the code; agents never see it.
    let listed: Value = app
        .get(
            &format!(
                "/api/v1/conversations?customer_id={}",
                order["customer_id"].as_str().unwrap()
            ),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let conversation = listed["data"][0]["id"].as_str().unwrap();
    let thread: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let stored = thread["messages"][0]["content"].as_str().unwrap();
    assert!(
        stored.contains("[[pickup-code:")
            && !stored.contains(&code)
            && !stored.contains(&code.replace('-', "")),
        "{stored}"
    );
    assert_eq!(thread["status"], "pending");
    let history = read(&app, &app.admin_key, &order).await["history"].clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["event"] == "notified"),
        "{history}"
    );

    // Someone who withdrew SMS for service messages is not sent one.
    let second: Value = app
        .order(&shop.storefront, &place("+34600333444"))
        .await
        .json()
        .await
        .unwrap();
    let customer = second["customer_id"].as_str().unwrap();
    let response = app
        .post_json(&format!("/api/v1/customers/{customer}/consent"), &app.admin_key,
            &json!({"via": "call_center", "changes": [{"channel": "sms", "purpose": "service", "granted": false}]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        step(&app, &shop.staff, &second, "ready").await.status(),
        StatusCode::OK
    );
    app.step_workers().await;
    app.step_workers().await;
    assert_eq!(peer.sent().len(), 1);
    let history = read(&app, &app.admin_key, &second).await["history"].clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["event"] == "not_notified"),
        "{history}"
    );
}
