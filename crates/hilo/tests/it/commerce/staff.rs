//! A store's staff bound to its desk: a bound key or user hands over pickups, moves
//! fulfilments, receives returns and sells at the counter only at its own store, and
//! looks stock up everywhere; one not bound works every desk. Only admins bind.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console::{PASSWORD, page};
use crate::platform::console::console_session;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(a_store_member_works_only_its_own_desk);

async fn store_key(app: &TestApp) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/keys",
            &app.admin_key,
            &json!({"name": "Gran Vía tablet", "role": "store"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

async fn put(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn pickup_at(app: &TestApp, shop: &str, store: &str) -> Value {
    let response = app
        .order(
            shop,
            &json!({"customer_id": "email:ana@example.com", "channel": "web",
            "lines": [{"sku": "ZAP-42", "quantity": 1}],
            "fulfillment": {"type": "pickup", "location_id": store}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn ready_path(order: &Value) -> String {
    format!(
        "/api/v1/orders/{}/fulfillments/{}/ready",
        order["id"].as_str().unwrap(),
        order["fulfillments"][0]["id"].as_str().unwrap()
    )
}

async fn code_of(app: &TestApp, shop: &str, order: &Value) -> String {
    let read: Value = app
        .get(
            &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
            shop,
        )
        .await
        .json()
        .await
        .unwrap();
    read["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_store_member_works_only_its_own_desk(app: TestApp) {
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
    app.create_product("Zapatilla", &[("ZAP-42", 5999)]).await;
    app.stock("ZAP-42", &gran_via, 5).await;
    app.stock("ZAP-42", &sol, 5).await;
    let shop = app.key_for("storefront").await;
    let (tablet_id, tablet) = store_key(&app).await;
    let head_office = app.key_for("store").await;
    let member = format!("api_key:{tablet_id}");
    let staff_path = format!("/api/v1/locations/{gran_via}/staff/{member}");

    // Only admins bind, and only existing members to existing stores.
    assert_eq!(
        put(&app, &tablet, &staff_path).await.status(),
        StatusCode::FORBIDDEN
    );
    for path in [
        format!(
            "/api/v1/locations/{gran_via}/staff/api_key:{}",
            "0".repeat(26)
        ),
        format!("/api/v1/locations/{gran_via}/staff/source:{tablet_id}"),
        format!("/api/v1/locations/{gran_via}/staff/nobody"),
        format!("/api/v1/locations/{}/staff/{member}", "0".repeat(26)),
    ] {
        assert_eq!(
            put(&app, &app.admin_key, &path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = put(&app, &app.admin_key, &staff_path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bound: Value = response.json().await.unwrap();
    assert_eq!(bound["member"], member.as_str());
    assert_eq!(bound["location_id"], gran_via.as_str());
    let listed: Value = app
        .get(
            &format!("/api/v1/locations/{gran_via}/staff"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["member"], member.as_str());
    assert_eq!(
        app.get(&format!("/api/v1/locations/{gran_via}/staff"), &tablet)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Its own store's pickup: marked ready and handed over.
    let here = pickup_at(&app, &shop, &gran_via).await;
    let response = app.post_json(&ready_path(&here), &tablet, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let code = code_of(&app, &shop, &here).await;
    let response = app
        .post_json(
            "/api/v1/pickups/collect",
            &tablet,
            &json!({"location_id": gran_via, "code": code}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Another store's pickup: neither moved nor handed over by it, naming its own store.
    let there = pickup_at(&app, &shop, &sol).await;
    let response = app
        .post_json(&ready_path(&there), &tablet, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["field"], "location_id");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Gran Vía"), "{message}");
    let response = app
        .post_json(&ready_path(&there), &head_office, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let code = code_of(&app, &shop, &there).await;
    let collect = json!({"location_id": sol, "code": code});
    let response = app
        .post_json("/api/v1/pickups/collect", &tablet, &collect)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Refused before the code was looked at: the pickup still waits, and a desk free
    // to work Sol hands it over.
    let response = app
        .post_json("/api/v1/pickups/collect", &head_office, &collect)
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Returns and counter sales likewise; stock lookup stays open everywhere.
    let response = app
        .post_json(
            "/api/v1/returns/receive",
            &tablet,
            &json!({"location_id": sol, "return_code": "ABCDE-FGHJK",
                "items": [{"sku": "ZAP-42", "quantity": 1, "disposition": "restock"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let sale = |store: &str| {
        json!({"customer_id": "phone:+34600111222", "channel": "pos",
            "lines": [{"sku": "ZAP-42", "quantity": 1}],
            "fulfillment": {"type": "counter", "location_id": store}})
    };
    assert_eq!(
        app.order(&tablet, &sale(&sol)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.order(&tablet, &sale(&gran_via)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.level("ZAP-42", &sol).await.0, 4);
    assert_eq!(
        app.get("/api/v1/inventory/ZAP-42", &tablet).await.status(),
        StatusCode::OK
    );

    // Moved to Sol, it works Sol's desk and no longer Gran Vía's; freed, it works both.
    let response = put(
        &app,
        &app.admin_key,
        &format!("/api/v1/locations/{sol}/staff/{member}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = app
        .get(
            &format!("/api/v1/locations/{gran_via}/staff"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]));
    assert_eq!(
        app.order(&tablet, &sale(&gran_via)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.order(&tablet, &sale(&sol)).await.status(),
        StatusCode::CREATED
    );
    let delete = |path: String| {
        app.client
            .delete(app.url(&path))
            .bearer_auth(&app.admin_key)
            .send()
    };
    assert_eq!(
        delete(staff_path.clone()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let sol_path = format!("/api/v1/locations/{sol}/staff/{member}");
    assert_eq!(
        delete(sol_path.clone()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(sol_path).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.order(&tablet, &sale(&gran_via)).await.status(),
        StatusCode::CREATED
    );

    // A console user bound to Gran Vía sees only its desk.
    app.create_user("sergio@shop.example", "store", PASSWORD)
        .await;
    let user = app.user_id("sergio@shop.example").await;
    let response = put(
        &app,
        &app.admin_key,
        &format!("/api/v1/locations/{gran_via}/staff/user:{user}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (session, _) = console_session(&app, "sergio@shop.example", PASSWORD).await;
    for desk in ["/console/store/pickups", "/console/store/returns"] {
        let html = page(&app, &session, &format!("{desk}?location={sol}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("value=\"{gran_via}\"")), "{desk}");
        assert!(!html.contains(&format!("value=\"{sol}\"")), "{desk}");
    }
}
