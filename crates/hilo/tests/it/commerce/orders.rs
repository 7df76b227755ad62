//! Orders from any channel, managed from any other: stock reserved with the order, out
//! of stock named by line, retries made safe by an idempotency key, cancellation from
//! another channel giving stock back exactly once (S7), a kiosk order shipped home from
//! the warehouses that have it (S8), and a sale at a store's till.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    an_order_reserves_stock_and_a_cancellation_gives_it_back_once,
    an_order_is_changed_from_another_channel,
    a_kiosk_order_ships_home_from_the_warehouses_that_have_it,
    a_sale_at_the_till_takes_the_stores_stock,
);

/// Places an order, and checks that the order as placed is the order as stored.
async fn place(app: &TestApp, key: &str, body: Value) -> Value {
    let response = app.order(key, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let placed: Value = response.json().await.unwrap();
    let path = format!("/api/v1/orders/{}", placed["id"].as_str().unwrap());
    let read: Value = app.get(&path, key).await.json().await.unwrap();
    assert_eq!(read, placed);
    placed
}

async fn an_order_reserves_stock_and_a_cancellation_gives_it_back_once(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5999), ("ZAP-43", 5999)])
        .await;
    app.stock("ZAP-42", &store, 5).await;
    app.stock("ZAP-43", &store, 1).await;
    let shop = app.key_for("storefront").await;
    let pickup = json!({"type": "pickup", "location_id": store});

    // The website orders for pickup: the stock is promised with the order.
    let order = place(&app, &shop, json!({"customer_id": "email:cliente@example.com", "channel": "web",
        "lines": [{"sku": "ZAP-42", "quantity": 2}], "fulfillment": pickup,
        "payment": {"provider": "redsys", "reference": "R-1", "amount": {"amount": 11998, "currency": "EUR"}, "status": "captured"}})).await;
    assert_eq!(order["status"], "open");
    assert_eq!(order["total"], json!({"amount": 11998, "currency": "EUR"}));
    assert_eq!(order["fulfillments"][0]["type"], "pickup");
    assert_eq!(order["fulfillments"][0]["status"], "allocated");
    assert_eq!(order["fulfillments"][0]["location_id"], store);
    assert_eq!(
        order["fulfillments"][0]["lines"],
        json!([{"sku": "ZAP-42", "quantity": 2}])
    );
    assert!(order["number"].as_str().unwrap().parse::<u64>().unwrap() > 100_000);
    assert_eq!(app.level("ZAP-42", &store).await, (5, 2, 3));
    let id = order["id"].as_str().unwrap();
    let customer = order["customer_id"].as_str().unwrap();

    // More than can be promised: a 409 naming the line, and nothing reserved.
    let response = app
        .order(&shop, &json!({"customer_id": customer, "channel": "app",
            "lines": [{"sku": "ZAP-42", "quantity": 1}, {"sku": "ZAP-43", "quantity": 2}], "fulfillment": pickup}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "out_of_stock");
    assert_eq!(body["error"]["field"], "lines[1]");
    assert_eq!(body["error"]["available"], 1);
    assert_eq!(app.level("ZAP-42", &store).await, (5, 2, 3));

    // A retry with the same key is the same order; the key with another request is not.
    let retry = json!({"customer_id": customer, "channel": "app",
        "lines": [{"sku": "ZAP-43", "quantity": 1}], "fulfillment": pickup});
    let send = |body: Value, key: &'static str| {
        let request = app
            .request(reqwest::Method::POST, "/api/v1/orders", Some(&shop))
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let first = send(retry.clone(), "checkout-77").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(retry.clone(), "checkout-77").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(app.level("ZAP-43", &store).await, (1, 1, 0));
    let mut other = retry.clone();
    other["channel"] = json!("web");
    assert_eq!(
        send(other, "checkout-77").await.status(),
        StatusCode::CONFLICT
    );

    // A count below what is promised is refused.
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/inventory/ZAP-42/{store}"),
            Some(&app.admin_key),
        )
        .json(&json!({"on_hand": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // The call center cancels it for the customer: the stock comes back once.
    let agent = app.key_for("agent").await;
    let response = app
        .post_json(
            &format!("/api/v1/orders/{id}/cancel"),
            &agent,
            &json!({"channel": "call_center", "reason": "changed their mind"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["fulfillments"][0]["status"], "cancelled");
    let events: Vec<(&str, &str)> = cancelled["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["event"].as_str().unwrap(), h["channel"].as_str().unwrap()))
        .collect();
    assert_eq!(events, [("placed", "web"), ("cancelled", "call_center")]);
    assert_eq!(app.level("ZAP-42", &store).await, (5, 0, 5));
    let response = app
        .post_json(
            &format!("/api/v1/orders/{id}/cancel"),
            &agent,
            &json!({"channel": "app"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.level("ZAP-42", &store).await, (5, 0, 5));
    let moves: Value = app
        .get(
            &format!("/api/v1/inventory/ZAP-42/{store}/movements"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = moves["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["released", "reserved", "counted"]);

    // The customer's orders, on every channel; the timeline names them as Segment does.
    let list: Value = app
        .get("/api/v1/customers/email:cliente@example.com/orders", &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let names: Vec<String> = app
        .timeline(customer)
        .await
        .iter()
        .filter(|i| i["type"] == "commerce")
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["Order Cancelled", "Order Completed", "Order Completed"]
    );
    let read: Value = app
        .get(&format!("/api/v1/orders/{id}"), &agent)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["payment"]["reference"], "R-1");

    // Bad requests name their field.
    for (body, field) in [
        (
            json!({"customer_id": customer, "channel": "fax", "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": pickup}),
            "channel",
        ),
        (
            json!({"customer_id": customer, "channel": "web", "lines": [{"sku": "NOPE", "quantity": 1}], "fulfillment": pickup}),
            "lines[0].sku",
        ),
        (
            json!({"customer_id": customer, "channel": "web", "lines": [{"sku": "ZAP-42", "quantity": 1}, {"sku": "ZAP-42", "quantity": 1}], "fulfillment": pickup}),
            "lines[1].sku",
        ),
        (
            json!({"customer_id": customer, "channel": "web", "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": {"type": "pickup"}}),
            "fulfillment.location_id",
        ),
        (
            json!({"customer_id": customer, "channel": "web", "from_cart": true, "fulfillment": pickup}),
            "from_cart",
        ),
        (
            json!({"customer_id": customer, "channel": "web", "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": pickup, "payment": {"provider": "x"}}),
            "payment.reference",
        ),
    ] {
        let response = app.order(&shop, &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    // Who the order is for comes first: an unknown customer id is a 404, whether its
    // SKUs exist or not.
    for sku in ["ZAP-42", "NOPE"] {
        let body = json!({"customer_id": "00000000-0000-7000-8000-000000000000", "channel": "web",
            "lines": [{"sku": sku, "quantity": 1}], "fulfillment": pickup});
        assert_eq!(
            app.order(&shop, &body).await.status(),
            StatusCode::NOT_FOUND,
            "{body}"
        );
    }
    let auditor = app.key_for("read_only").await;
    assert_eq!(
        app.get(&format!("/api/v1/orders/{id}"), &auditor)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

async fn a_kiosk_order_ships_home_from_the_warehouses_that_have_it(app: TestApp) {
    let near = app
        .create_location("Getafe", "warehouse", 40.3057, -3.7329, &["ship"])
        .await;
    let far = app
        .create_location("Zaragoza", "warehouse", 41.6488, -0.8891, &["ship"])
        .await;
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Mochila", &[("MOC-1", 3500)]).await;
    app.stock("MOC-1", &near, 3).await;
    app.stock("MOC-1", &far, 5).await;
    app.stock("MOC-1", &store, 50).await;
    let kiosk = app.key_for("store").await;
    let home = json!({"name": "Ana García", "line1": "Calle Mayor 1", "city": "Madrid",
        "postal_code": "28013", "country": "ES", "lat": 40.4154, "lng": -3.7074});

    // Six units: the nearest warehouse has three, the next the rest; the store does not ship.
    let order = place(&app, &kiosk, json!({"customer_id": "phone:+34600111222", "channel": "kiosk", "staff": "Kiosco 3",
        "lines": [{"sku": "MOC-1", "quantity": 6}], "fulfillment": {"type": "ship", "address": home}})).await;
    let mut from: Vec<(String, i64)> = order["fulfillments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location_id"].as_str().unwrap().to_owned(),
                f["lines"][0]["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    from.sort_by_key(|(_, q)| *q);
    assert_eq!(from, [(near.clone(), 3), (far.clone(), 3)]);
    assert!(
        order["fulfillments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["type"] == "ship" && f["address"]["city"] == "Madrid")
    );
    assert_eq!(order["staff"], "Kiosco 3");
    assert_eq!(app.level("MOC-1", &near).await, (3, 3, 0));
    assert_eq!(app.level("MOC-1", &far).await, (5, 3, 2));

    // Two more fit in one parcel from the far warehouse.
    let order = place(&app, &kiosk, json!({"customer_id": "phone:+34600111222", "channel": "kiosk",
        "lines": [{"sku": "MOC-1", "quantity": 2}], "fulfillment": {"type": "ship", "address": home}})).await;
    assert_eq!(order["fulfillments"].as_array().unwrap().len(), 1);
    assert_eq!(order["fulfillments"][0]["location_id"], far);
    // Nothing left to ship; a location that does not ship is named.
    let response = app.order(&kiosk, &json!({"customer_id": "phone:+34600111222", "channel": "kiosk",
        "lines": [{"sku": "MOC-1", "quantity": 1}], "fulfillment": {"type": "ship", "address": home}})).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("lines[0]"));
    let response = app.order(&kiosk, &json!({"customer_id": "phone:+34600111222", "channel": "kiosk",
        "lines": [{"sku": "MOC-1", "quantity": 1}], "fulfillment": {"type": "ship", "address": home, "from_location_id": store}})).await;
    assert_eq!(
        error_of(response).await.1.as_deref(),
        Some("fulfillment.from_location_id")
    );
}

async fn a_sale_at_the_till_takes_the_stores_stock(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Gorra", &[("GOR-1", 1999)]).await;
    app.stock("GOR-1", &store, 2).await;
    let till = app.key_for("store").await;
    let order = place(&app, &till, json!({"customer_id": "email:tienda@example.com", "channel": "pos",
        "lines": [{"sku": "GOR-1", "quantity": 2}], "fulfillment": {"type": "counter", "location_id": store}})).await;
    assert_eq!(order["status"], "completed");
    assert_eq!(order["fulfillments"][0]["status"], "collected");
    assert_eq!(app.level("GOR-1", &store).await, (0, 0, 0));
    let response = app
        .post_json(
            &format!("/api/v1/orders/{}/cancel", order["id"].as_str().unwrap()),
            &till,
            &json!({"channel": "pos"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

async fn patch(app: &TestApp, key: &str, id: &str, body: Value) -> reqwest::Response {
    app.request(
        reqwest::Method::PATCH,
        &format!("/api/v1/orders/{id}"),
        Some(key),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn an_order_is_changed_from_another_channel(app: TestApp) {
    let gran_via = app
        .create_location("Gran Vía", "store", 40.4200, -3.7058, &["pickup"])
        .await;
    let sol = app
        .create_location("Sol", "store", 40.4169, -3.7035, &["pickup"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5000), ("ZAP-43", 4000)])
        .await;
    app.stock("ZAP-42", &gran_via, 1).await;
    app.stock("ZAP-43", &gran_via, 2).await;
    app.stock("ZAP-42", &sol, 3).await;
    let shop = app.key_for("storefront").await;
    let agent = app.key_for("agent").await;
    let order = place(&app, &shop, json!({"customer_id": "email:ana@example.com", "channel": "web",
        "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": {"type": "pickup", "location_id": gran_via}})).await;
    let id = order["id"].as_str().unwrap();

    // In the app she adds two of another model.
    let response = patch(
        &app,
        &shop,
        id,
        json!({"channel": "app",
        "lines": [{"sku": "ZAP-42", "quantity": 1}, {"sku": "ZAP-43", "quantity": 2}]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["total"]["amount"], 5000 + 2 * 4000);
    assert_eq!(changed["lines"].as_array().unwrap().len(), 2);
    assert_eq!(app.level("ZAP-42", &gran_via).await, (1, 1, 0));
    assert_eq!(app.level("ZAP-43", &gran_via).await, (2, 2, 0));

    // On the phone she asks to collect at Sol, which lacks the other model: refused,
    // and nothing changes.
    let response = patch(
        &app,
        &agent,
        id,
        json!({"channel": "call_center", "pickup_location_id": sol}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "lines[1]");
    assert_eq!(app.level("ZAP-43", &gran_via).await, (2, 2, 0));
    // Two of the first model at Sol, then.
    let response = patch(
        &app,
        &agent,
        id,
        json!({"channel": "call_center", "pickup_location_id": sol,
        "lines": [{"sku": "ZAP-42", "quantity": 2}]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    let live: Vec<&Value> = moved["fulfillments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "cancelled")
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["location_id"], sol);
    assert_eq!(moved["total"]["amount"], 10000);
    assert_eq!(app.level("ZAP-42", &gran_via).await, (1, 0, 1));
    assert_eq!(app.level("ZAP-43", &gran_via).await, (2, 0, 2));
    assert_eq!(app.level("ZAP-42", &sol).await, (3, 2, 1));
    let changes: Vec<&str> = moved["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "changed")
        .map(|h| h["channel"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["app", "call_center"]);

    // Once the store has it ready, it is too late to change.
    let staff = app.key_for("store").await;
    let path = format!(
        "/api/v1/orders/{id}/fulfillments/{}/ready",
        live[0]["id"].as_str().unwrap()
    );
    assert_eq!(
        app.post_json(&path, &staff, &json!({})).await.status(),
        StatusCode::OK
    );
    let response = patch(
        &app,
        &shop,
        id,
        json!({"channel": "web", "lines": [{"sku": "ZAP-42", "quantity": 1}]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}
