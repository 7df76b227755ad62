//! Carts and wish lists belong to the customer, not to a device (S10, S19): a voice
//! assistant adds, the app and the website read and change the same cart; a visitor's
//! cart joins the customer's when identity resolution links them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    a_cart_follows_the_customer_across_channels,
    a_visitors_cart_joins_the_customers_when_they_are_linked,
);

async fn add(
    app: &TestApp,
    key: &str,
    customer: &str,
    list: &str,
    body: Value,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/customers/{customer}/{list}/lines"),
        key,
        &body,
    )
    .await
}

async fn read(app: &TestApp, key: &str, customer: &str, list: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/customers/{customer}/{list}"), key)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn quantities(cart: &Value) -> Vec<(String, i64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn a_cart_follows_the_customer_across_channels(app: TestApp) {
    app.create_product("Cápsulas de café", &[("CAF-10", 450), ("CAF-50", 1990)])
        .await;
    let shop = app.key_for("storefront").await;
    // Nobody holds the identifier yet: an empty cart, not an error.
    let empty = read(&app, &shop, "user_id:ana-1", "cart").await;
    assert!(empty["customer_id"].is_null());
    assert!(empty["lines"].as_array().unwrap().is_empty());

    // The voice assistant adds by the shop's user id; the customer is registered.
    let response = add(
        &app,
        &shop,
        "user_id:ana-1",
        "cart",
        json!({"sku": "CAF-10", "quantity": 2, "channel": "voice_assistant"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cart: Value = response.json().await.unwrap();
    let customer = cart["customer_id"].as_str().unwrap().to_owned();
    assert_eq!(cart["subtotal"], json!({"amount": 900, "currency": "EUR"}));
    assert_eq!(cart["lines"][0]["name_es"], "Cápsulas de café");

    // The app adds more of it and another SKU; the website reads the same cart by id.
    add(
        &app,
        &shop,
        "user_id:ana-1",
        "cart",
        json!({"sku": "CAF-10", "channel": "app"}),
    )
    .await;
    add(
        &app,
        &shop,
        &customer,
        "cart",
        json!({"sku": "CAF-50", "quantity": 1, "channel": "app"}),
    )
    .await;
    let web = read(&app, &shop, &customer, "cart").await;
    assert_eq!(
        quantities(&web),
        [("CAF-10".into(), 3), ("CAF-50".into(), 1)]
    );
    assert_eq!(web["subtotal"]["amount"], 3 * 450 + 1990);

    // The website sets a quantity and removes a line.
    let response = app
        .request(
            Method::PUT,
            &format!("/api/v1/customers/{customer}/cart/lines/CAF-10"),
            Some(&shop),
        )
        .json(&json!({"quantity": 1, "channel": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        quantities(&response.json::<Value>().await.unwrap())[0],
        ("CAF-10".into(), 1)
    );
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/customers/{customer}/cart/lines/CAF-50?channel=web"),
            Some(&shop),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        quantities(&response.json::<Value>().await.unwrap()),
        [("CAF-10".into(), 1)]
    );

    // Each change is on the timeline, named as Segment names it, with its channel.
    let timeline = app.timeline(&customer).await;
    let changes: Vec<(String, String)> = timeline
        .iter()
        .filter(|i| i["type"] == "commerce")
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(changes.len(), 5);
    assert!(changes.contains(&("Product Added".into(), "voice_assistant".into())));
    assert!(changes.contains(&("Product Removed".into(), "web".into())));

    // The wish list made in the app is open to the store's tablet.
    add(
        &app,
        &shop,
        &customer,
        "wishlist",
        json!({"sku": "CAF-50", "channel": "app"}),
    )
    .await;
    let tablet = app.key_for("store").await;
    let wishlist = read(&app, &tablet, "user_id:ana-1", "wishlist").await;
    assert_eq!(quantities(&wishlist), [("CAF-50".into(), 1)]);
    assert_eq!(
        quantities(&read(&app, &shop, &customer, "cart").await).len(),
        1
    );

    // Bad input is named; readers without the right get 403.
    let response = add(&app, &shop, &customer, "cart", json!({"sku": "NOPE"})).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("sku"));
    let response = add(
        &app,
        &shop,
        &customer,
        "cart",
        json!({"sku": "CAF-10", "quantity": 999}),
    )
    .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("quantity"));
    // A path that names no customer, like a malformed id, is not found.
    let response = add(&app, &shop, "user_id:", "cart", json!({"sku": "CAF-10"})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let auditor = app.key_for("read_only").await;
    assert_eq!(
        app.get(&format!("/api/v1/customers/{customer}/cart"), &auditor)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let response = app
        .get(
            "/api/v1/customers/00000000-0000-7000-8000-000000000000/cart",
            &shop,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn a_visitors_cart_joins_the_customers_when_they_are_linked(app: TestApp) {
    app.create_product("Cápsulas de café", &[("CAF-10", 450), ("CAF-50", 1990)])
        .await;
    let shop = app.key_for("storefront").await;
    add(
        &app,
        &shop,
        "user_id:ana-2",
        "cart",
        json!({"sku": "CAF-10", "quantity": 1, "channel": "app"}),
    )
    .await;
    // On the website, not signed in yet.
    add(
        &app,
        &shop,
        "anonymous_id:visitor-9",
        "cart",
        json!({"sku": "CAF-10", "quantity": 1, "channel": "web"}),
    )
    .await;
    add(
        &app,
        &shop,
        "anonymous_id:visitor-9",
        "cart",
        json!({"sku": "CAF-50", "quantity": 2, "channel": "web"}),
    )
    .await;

    // The visitor signs in: the website's analytics identify them.
    let (_, write_key) = app.create_source("Web", "web").await;
    let response = app
        .collect(
            "/v1/identify",
            &write_key,
            &json!({"anonymousId": "visitor-9", "userId": "ana-2"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let cart = read(&app, &shop, "user_id:ana-2", "cart").await;
    assert_eq!(
        quantities(&cart),
        [("CAF-10".into(), 2), ("CAF-50".into(), 2)]
    );
    // Changing a joined line leaves one line.
    let response = app
        .request(
            Method::PUT,
            "/api/v1/customers/anonymous_id:visitor-9/cart/lines/CAF-10",
            Some(&shop),
        )
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cart = read(&app, &shop, "user_id:ana-2", "cart").await;
    assert_eq!(
        quantities(&cart),
        [("CAF-10".into(), 5), ("CAF-50".into(), 2)]
    );
}
