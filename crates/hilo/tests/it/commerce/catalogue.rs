//! Locations, products and one inventory across them: levels explained by movements,
//! safety stock kept off the shelf, and "which store near me has it, ready within the
//! hour?" (S4), answered within each store's opening hours.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    the_nearest_store_with_stock_and_when_it_is_ready,
    the_catalogue_is_checked_and_searched,
    who_may_change_stock,
);

/// Puerta del Sol, Madrid.
const SOL: (f64, f64) = (40.4168, -3.7038);

async fn put_stock(
    app: &TestApp,
    key: &str,
    sku: &str,
    location: &str,
    body: Value,
) -> reqwest::Response {
    app.request(
        Method::PUT,
        &format!("/api/v1/inventory/{sku}/{location}"),
        Some(key),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn availability(app: &TestApp, sku: &str) -> Vec<Value> {
    let response = app
        .get(
            &format!("/api/v1/availability?sku={sku}&lat={}&lng={}", SOL.0, SOL.1),
            &app.admin_key,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

async fn the_nearest_store_with_stock_and_when_it_is_ready(app: TestApp) {
    // The test clock reads Monday 2026-11-23, 13:00 in Madrid.
    let gran_via = app
        .create_location(
            "Gran Vía",
            "store",
            40.4200,
            -3.7058,
            &["pickup", "returns"],
        )
        .await;
    let day = json!([["10:00", "21:00"]]);
    let sol = app
        .create_location_with(json!({
            "name": "Sol", "kind": "store", "lat": 40.4169, "lng": -3.7035,
            "timezone": "Europe/Madrid", "offers": ["pickup"], "pickup_prep_minutes": 30,
            // Closed on Mondays.
            "opening_hours": {"tue": day, "wed": day, "thu": day, "fri": day, "sat": day},
        }))
        .await;
    let warehouse = app
        .create_location("Getafe", "warehouse", 40.3057, -3.7329, &["ship"])
        .await;
    app.create_product("Zapatilla Runner", &[("ZAP-42", 5999), ("ZAP-43", 5999)])
        .await;
    app.stock("ZAP-42", &gran_via, 3).await;
    app.stock("ZAP-42", &sol, 5).await;
    app.stock("ZAP-42", &warehouse, 100).await;

    let levels: Value = app
        .get("/api/v1/inventory/ZAP-42", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(levels["data"].as_array().unwrap().len(), 3);
    assert_eq!(levels["available"], 108);

    let found = availability(&app, "ZAP-42").await;
    // Stores only, nearest first; the warehouse ships and takes no pickups.
    let ids: Vec<&str> = found
        .iter()
        .map(|a| a["location_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sol.as_str(), gran_via.as_str()]);
    assert!(found[0]["distance_km"].as_f64().unwrap() < 0.1);
    assert_eq!(found[0]["available"], 5);
    // Sol is closed today: ready half an hour after it opens on Tuesday.
    assert_eq!(found[0]["ready_at"], "2026-11-24T09:30:00.000Z");
    // Gran Vía is open: ready within the hour.
    assert_eq!(found[1]["ready_at"], "2026-11-23T12:30:00.000Z");
    assert_eq!(found[1]["available"], 3);

    // Safety stock keeps the shelf's last units from being promised.
    let response = put_stock(
        &app,
        &app.admin_key,
        "ZAP-42",
        &gran_via,
        json!({"safety": 3}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let level: Value = response.json().await.unwrap();
    assert_eq!(
        (
            level["on_hand"].as_i64(),
            level["safety"].as_i64(),
            level["available"].as_i64()
        ),
        (Some(3), Some(3), Some(0))
    );
    let ids: Vec<String> = availability(&app, "ZAP-42")
        .await
        .iter()
        .map(|a| a["location_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, std::slice::from_ref(&sol));

    // Every change is a movement with its reason and actor.
    let response = put_stock(
        &app,
        &app.admin_key,
        "ZAP-42",
        &sol,
        json!({"on_hand": 7, "reason": "received", "note": "albarán 1182"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = put_stock(
        &app,
        &app.admin_key,
        "ZAP-42",
        &sol,
        json!({"on_hand": 6, "reason": "damaged"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moves: Value = app
        .get(
            &format!("/api/v1/inventory/ZAP-42/{sol}/movements"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let moves = moves["data"].as_array().unwrap();
    let reasons: Vec<&str> = moves
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["damaged", "received", "counted"]);
    assert_eq!(
        moves
            .iter()
            .map(|m| m["on_hand_change"].as_i64().unwrap())
            .sum::<i64>(),
        6
    );
    assert_eq!(moves[1]["note"], "albarán 1182");
    assert!(moves[0]["actor"].as_str().unwrap().starts_with("api_key:"));
    // "received" only raises what is on hand.
    let response = put_stock(
        &app,
        &app.admin_key,
        "ZAP-42",
        &sol,
        json!({"on_hand": 2, "reason": "received"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // A transfer is two movements in one transaction.
    let response = app
        .post_json("/api/v1/inventory/transfers", &app.admin_key,
            &json!({"sku": "ZAP-42", "from_location_id": warehouse, "to_location_id": gran_via, "quantity": 10}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.level("ZAP-42", &warehouse).await, (90, 0, 90));
    assert_eq!(app.level("ZAP-42", &gran_via).await, (13, 0, 10));
    let response = app
        .post_json("/api/v1/inventory/transfers", &app.admin_key,
            &json!({"sku": "ZAP-42", "from_location_id": sol, "to_location_id": gran_via, "quantity": 50}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.level("ZAP-42", &sol).await, (6, 0, 6));

    // Nothing anywhere: an empty list, not an error; an unknown SKU is a 404.
    assert!(availability(&app, "ZAP-43").await.is_empty());
    let response = app
        .get(
            "/api/v1/availability?sku=NOPE&lat=40&lng=-3",
            &app.admin_key,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .get(
            "/api/v1/availability?sku=ZAP-42&lat=91&lng=-3",
            &app.admin_key,
        )
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("lat"));
}

async fn the_catalogue_is_checked_and_searched(app: TestApp) {
    let product = app
        .create_product("Chaqueta impermeable", &[("CHQ-M", 8999), ("CHQ-L", 8999)])
        .await;
    let body: Value = app
        .get(&format!("/api/v1/products/{product}"), &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["name"]["es"], "Chaqueta impermeable");
    assert_eq!(body["variants"][1]["sku"], "CHQ-L");
    assert_eq!(
        body["variants"][0]["price"],
        json!({"amount": 8999, "currency": "EUR"})
    );
    app.create_product("Gorra", &[("GOR-1", 1999)]).await;

    for (query, expected) in [("chaqueta", 1), ("chq-l", 1), ("GOR", 1), ("zapato", 0)] {
        let body: Value = app
            .get(&format!("/api/v1/products?q={query}"), &app.admin_key)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), expected, "{query}");
    }
    let first: Value = app
        .get("/api/v1/products?limit=1", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(
            &format!("/api/v1/products?limit=1&cursor={cursor}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
    assert!(second["next_cursor"].is_null());

    // A SKU belongs to one product.
    let response = app
        .post_json("/api/v1/products", &app.admin_key,
            &json!({"name": {"es": "Otra", "en": "Other"}, "variants": [{"sku": "GOR-1", "price": {"amount": 1, "currency": "EUR"}}]}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    for (variant, field) in [
        (
            json!({"sku": "A B", "price": {"amount": 1, "currency": "EUR"}}),
            "variants[0].sku",
        ),
        (
            json!({"sku": "AB", "price": {"amount": 1, "currency": "euro"}}),
            "variants[0].price.currency",
        ),
        (
            json!({"sku": "AB", "price": {"amount": -1, "currency": "EUR"}}),
            "variants[0].price.amount",
        ),
        (
            json!({"sku": "AB", "price": {"amount": 1, "currency": "EUR"}, "images": ["ftp://x"]}),
            "variants[0].images",
        ),
    ] {
        let response = app
            .post_json(
                "/api/v1/products",
                &app.admin_key,
                &json!({"name": {"es": "X", "en": "X"}, "variants": [variant]}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    for (change, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (
            json!({"opening_hours": {"mon": [["21:00", "10:00"]]}}),
            "opening_hours.mon",
        ),
        (json!({"offers": ["teleport"]}), "offers"),
        (json!({"lat": 120}), "lat"),
        (json!({"kind": "kiosk"}), "kind"),
    ] {
        let mut body = json!({"name": "Tienda", "kind": "store", "lat": 40.0, "lng": -3.0,
            "timezone": "Europe/Madrid", "offers": ["pickup"]});
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = app
            .post_json("/api/v1/locations", &app.admin_key, &body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{change}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    // Replacing a location's details keeps its id.
    let id = app
        .create_location("Centro", "store", 40.0, -3.0, &["pickup"])
        .await;
    let response = app
        .request(Method::PUT, &format!("/api/v1/locations/{id}"), Some(&app.admin_key))
        .json(&json!({"name": "Centro (reformada)", "kind": "store", "lat": 40.0, "lng": -3.0,
            "timezone": "Europe/Madrid", "offers": ["pickup", "returns"], "pickup_prep_minutes": 15}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let all: Value = app
        .get("/api/v1/locations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"][0]["name"], "Centro (reformada)");
    assert_eq!(all["data"][0]["offers"], json!(["pickup", "returns"]));
}

async fn who_may_change_stock(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.42, -3.70, &["pickup"])
        .await;
    app.create_product("Gorra", &[("GOR-1", 1999)]).await;
    let staff = app.key_for("store").await;
    let shop = app.key_for("storefront").await;
    let auditor = app.key_for("read_only").await;
    let count = json!({"on_hand": 4});
    assert_eq!(
        put_stock(&app, &staff, "GOR-1", &store, count.clone())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        put_stock(&app, &shop, "GOR-1", &store, count.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_stock(&app, &auditor, "GOR-1", &store, count.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Reading stock is open to every role; creating products and locations is not.
    assert_eq!(
        app.get("/api/v1/inventory/GOR-1", &auditor).await.status(),
        StatusCode::OK
    );
    let response = app.post_json("/api/v1/products", &staff,
        &json!({"name": {"es": "X", "en": "X"}, "variants": [{"sku": "X1", "price": {"amount": 1, "currency": "EUR"}}]})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/locations"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Unknown SKU or location: 404; a console user cannot be a storefront.
    assert_eq!(
        put_stock(&app, &staff, "NOPE", &store, count.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = put_stock(
        &app,
        &staff,
        "GOR-1",
        "00000000-0000-7000-8000-000000000000",
        count,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.post_json("/api/v1/users", &app.admin_key,
        &json!({"email": "tienda@example.com", "name": "Web", "role": "storefront", "password": "a long password 1"})).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("role"));
}
