//! Returns anywhere (S5): bought in one store, returned at another and restocked there,
//! refunded and exchanged in one visit; or started online with a return code; only
//! items of the order, up to what was taken, within the return window.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    returned_at_another_store_restocked_there_and_exchanged,
    a_return_started_online_is_received_with_its_code,
);

async fn sale(app: &TestApp, key: &str, store: &str, sku: &str) -> Value {
    let response = app
        .order(key, &json!({"customer_id": "email:ana@example.com", "channel": "pos",
            "lines": [{"sku": sku, "quantity": 1}], "fulfillment": {"type": "counter", "location_id": store}}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn receive(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/returns/receive", key, &body).await
}

async fn returned_at_another_store_restocked_there_and_exchanged(app: TestApp) {
    let gran_via = app
        .create_location(
            "Gran Vía",
            "store",
            40.4200,
            -3.7058,
            &["pickup", "returns"],
        )
        .await;
    let sol = app
        .create_location("Sol", "store", 40.4169, -3.7035, &["pickup", "returns"])
        .await;
    app.create_product("Zapatilla", &[("ZAP-42", 5999), ("ZAP-43", 5999)])
        .await;
    app.stock("ZAP-42", &gran_via, 2).await;
    app.stock("ZAP-43", &sol, 3).await;
    let staff = app.key_for("store").await;
    let order = sale(&app, &staff, &gran_via, "ZAP-42").await;
    let number = order["number"].as_str().unwrap();

    // At Sol, with the order's number and her email: the shoe goes back on Sol's shelf,
    // the refund is recorded, and the other size leaves with her.
    let response = receive(&app, &staff, json!({"location_id": sol, "order_number": number,
        "email": "Ana@Example.com", "reason": "too small",
        "items": [{"sku": "ZAP-42", "quantity": 1, "disposition": "restock"}],
        "refund": {"amount": {"amount": 5999, "currency": "EUR"}, "reference": "RF-1", "status": "refunded"},
        "exchange": {"lines": [{"sku": "ZAP-43", "quantity": 1}], "fulfillment": {"type": "counter", "location_id": sol}}})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let received: Value = response.json().await.unwrap();
    let returned = &received["return"];
    assert_eq!(returned["status"], "received");
    assert_eq!(returned["location_id"], sol);
    assert_eq!(returned["lines"][0]["disposition"], "restock");
    assert_eq!(returned["refund"]["reference"], "RF-1");
    let exchange = &received["exchange_order"];
    assert_eq!(exchange["status"], "completed");
    assert_eq!(exchange["customer_id"], order["customer_id"]);
    assert_eq!(app.level("ZAP-42", &sol).await, (1, 0, 1));
    assert_eq!(app.level("ZAP-42", &gran_via).await, (1, 0, 1));
    assert_eq!(app.level("ZAP-43", &sol).await, (2, 0, 2));
    let read: Value = app
        .get(
            &format!("/api/v1/returns/{}", returned["id"].as_str().unwrap()),
            &staff,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["exchange_order_id"], exchange["id"]);

    // Nothing of it is left to return; a contact that is not hers finds nothing.
    let again = json!({"location_id": sol, "order_number": number, "email": "ana@example.com",
        "items": [{"sku": "ZAP-42", "quantity": 1, "disposition": "restock"}]});
    assert_eq!(
        error_of(receive(&app, &staff, again).await)
            .await
            .1
            .as_deref(),
        Some("items[0]")
    );
    let stranger = json!({"location_id": sol, "order_number": number, "email": "otra@example.com",
        "items": [{"sku": "ZAP-42", "quantity": 1, "disposition": "restock"}]});
    assert_eq!(
        receive(&app, &staff, stranger).await.status(),
        StatusCode::NOT_FOUND
    );

    // The timeline tells it; webhooks hear of the refund.
    let customer = order["customer_id"].as_str().unwrap();
    let names: Vec<String> = app
        .timeline(customer)
        .await
        .iter()
        .filter(|i| i["type"] == "commerce")
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"Return Received".to_owned()));
    assert!(names.contains(&"Order Refunded".to_owned()));
}

async fn a_return_started_online_is_received_with_its_code(app: TestApp) {
    let store = app
        .create_location(
            "Gran Vía",
            "store",
            40.4200,
            -3.7058,
            &["pickup", "returns"],
        )
        .await;
    let outlet = app
        .create_location("Outlet", "store", 40.40, -3.70, &["pickup"])
        .await;
    app.create_product("Gorra", &[("GOR-1", 1999), ("GOR-2", 1999)])
        .await;
    app.stock("GOR-1", &store, 3).await;
    let staff = app.key_for("store").await;
    let shop = app.key_for("storefront").await;
    let order = sale(&app, &staff, &store, "GOR-1").await;
    let id = order["id"].as_str().unwrap();

    for (lines, field) in [
        (json!([{"sku": "GOR-1", "quantity": 2}]), "lines[0]"),
        (json!([{"sku": "GOR-2", "quantity": 1}]), "lines[0]"),
    ] {
        let response = app
            .post_json(
                &format!("/api/v1/orders/{id}/returns"),
                &shop,
                &json!({"lines": lines, "channel": "web"}),
            )
            .await;
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    let response = app
        .post_json(&format!("/api/v1/orders/{id}/returns"), &shop, &json!({"lines": [{"sku": "GOR-1", "quantity": 1}],
            "channel": "web", "reason": "wrong colour", "courier_pickup": {"address": "Calle Mayor 1", "date": "2026-11-25"}}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let started: Value = response.json().await.unwrap();
    let code = started["return_code"].as_str().unwrap().to_owned();
    assert_eq!(started["status"], "requested");
    assert_eq!(started["courier_pickup"]["date"], "2026-11-25");
    // Staff check the code; they are not shown it.
    let as_staff: Value = app
        .get(
            &format!("/api/v1/returns/{}", started["id"].as_str().unwrap()),
            &staff,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(as_staff.get("return_code").is_none());
    // Asked for twice: the first holds the item.
    let response = app
        .post_json(
            &format!("/api/v1/orders/{id}/returns"),
            &shop,
            &json!({"lines": [{"sku": "GOR-1", "quantity": 1}], "channel": "app"}),
        )
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("lines[0]"));

    // A store that takes no returns; items that are not the return's.
    let body = |location: &str, sku: &str| {
        json!({"location_id": location, "return_code": code.to_lowercase(),
        "items": [{"sku": sku, "quantity": 1, "disposition": "write_off"}]})
    };
    assert_eq!(
        error_of(receive(&app, &staff, body(&outlet, "GOR-1")).await)
            .await
            .1
            .as_deref(),
        Some("location_id")
    );
    assert_eq!(
        error_of(receive(&app, &staff, body(&store, "GOR-2")).await)
            .await
            .1
            .as_deref(),
        Some("items")
    );
    // Broken: written off, never back on the shelf.
    let response = receive(&app, &staff, body(&store, "GOR-1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.level("GOR-1", &store).await, (2, 0, 2));
    assert_eq!(
        receive(&app, &staff, body(&store, "GOR-1")).await.status(),
        StatusCode::CONFLICT
    );
    let list: Value = app
        .get(&format!("/api/v1/orders/{id}/returns"), &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["lines"][0]["disposition"], "write_off");
    assert!(list["data"][0].get("return_code").is_none());

    // After the window, no return is started.
    let second = sale(&app, &staff, &store, "GOR-1").await;
    app.clock.advance_millis(31 * 86_400_000);
    let response = app
        .post_json(
            &format!("/api/v1/orders/{}/returns", second["id"].as_str().unwrap()),
            &shop,
            &json!({"lines": [{"sku": "GOR-1", "quantity": 1}], "channel": "web"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}
