//! The store's pages (S4): at the pickup desk staff check the code the customer shows,
//! see the order and hand it over, never seeing a code they were not given; stock
//! lookup shows every location's stock and the nearest stores that have an item.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{PASSWORD, message};
use crate::platform::console::console_session;
use crate::support::twilio::{AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    the_pickup_desk_checks_a_code_and_hands_the_order_over,
    an_agent_sees_and_cancels_orders_beside_the_conversation,
    the_return_desk_takes_back_what_another_store_sold,
    the_endless_aisle_orders_what_the_store_lacks,
);

async fn the_pickup_desk_checks_a_code_and_hands_the_order_over(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.4200, -3.7058, &["pickup"])
        .await;
    let other = app
        .create_location("Sol", "store", 40.4169, -3.7035, &["pickup"])
        .await;
    app.create_product("Zapatilla Runner", &[("ZAP-42", 5999)])
        .await;
    app.stock("ZAP-42", &store, 3).await;
    app.stock("ZAP-42", &other, 1).await;
    let shop = app.key_for("storefront").await;
    let response = app
        .order(
            &shop,
            &json!({"customer_id": "email:ana@example.com", "channel": "web",
            "lines": [{"sku": "ZAP-42", "quantity": 1}], "payment": {"type": "pay_at_pickup"},
            "fulfillment": {"type": "pickup", "location_id": store}}),
        )
        .await;
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    let number = order["number"].as_str().unwrap();
    let staff_key = app.key_for("store").await;
    let path = format!(
        "/api/v1/orders/{id}/fulfillments/{}/ready",
        order["fulfillments"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        app.post_json(&path, &staff_key, &json!({})).await.status(),
        StatusCode::OK
    );
    let shown: Value = app
        .get(&format!("/api/v1/orders/{id}"), &shop)
        .await
        .json()
        .await
        .unwrap();
    let code = shown["fulfillments"][0]["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();

    app.create_user("sergio@shop.example", "store", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (session, csrf) = console_session(&app, "sergio@shop.example", PASSWORD).await;
    let (agent, _) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    assert_eq!(
        super::page(&app, &agent, "/console/store/pickups")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The desk lists what waits there, and shows no code.
    let html = super::page(
        &app,
        &session,
        &format!("/console/store/pickups?location={store}"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains(number), "{html}");
    assert!(html.contains("To pay at the desk"));
    assert!(!html.contains(&code) && !html.contains(&code.replace('-', "")));

    // A wrong code, and the right code at the wrong store, are refused in words.
    let form = |location: &str, code: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("location", location.to_owned()),
            ("code", code.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>, path: &'static str| {
        let app = &app;
        let session = session.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            super::send(app, Some(&session), path, &pairs).await
        }
    };
    let answer = send(form(&store, "22222-22222"), "/console/store/pickups/check").await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("no order waits for this code")
    );
    let answer = send(form(&other, &code), "/console/store/pickups/check").await;
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("collected at another store: Gran Vía")
    );
    // A form without the session's token does nothing.
    let forged = vec![
        ("csrf", "nope".to_owned()),
        ("location", store.clone()),
        ("code", code.clone()),
    ];
    assert_eq!(
        send(forged, "/console/store/pickups/collect")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The right code shows the order; handing it over collects it.
    let answer = send(
        form(&store, &code.to_lowercase()),
        "/console/store/pickups/check",
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    assert!(html.contains(&format!("Order {number}")) && html.contains("Zapatilla Runner"));
    let mut hand_over = form(&store, &code);
    hand_over.push(("collected_by", "Luis García".to_owned()));
    let answer = send(hand_over, "/console/store/pickups/collect").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("Handed over"));
    let read: Value = app
        .get(&format!("/api/v1/orders/{id}"), &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "completed");
    assert_eq!(read["fulfillments"][0]["collected_by"], "Luis García");
    // The hand-over is recorded as the signed-in staff member's.
    let actor = read["history"].as_array().unwrap().last().unwrap()["actor"].clone();
    assert!(actor.as_str().unwrap().starts_with("user:"), "{actor}");

    // The customer 360 tells the order's story, with her orders and wish list.
    let customer = read["customer_id"].as_str().unwrap();
    let wished = app
        .post_json(
            &format!("/api/v1/customers/{customer}/wishlist/lines"),
            &shop,
            &json!({"sku": "ZAP-42", "channel": "app"}),
        )
        .await;
    assert_eq!(wished.status(), StatusCode::OK);
    let html = super::page(&app, &session, &format!("/console/customers/{customer}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Order Completed") && html.contains(&format!("#{number} · 59.99 EUR")),
        "{html}"
    );
    assert!(html.contains("Order Updated"));
    assert!(
        html.contains(&format!("<strong>#{number}</strong> · completed")),
        "{html}"
    );
    assert!(
        html.contains("Wish list")
            && html.contains("Zapatilla Runner <span class=\"muted small\">ZAP-42"),
        "{html}"
    );

    // Stock lookup: every location, and the nearest stores that have it.
    let html = super::page(
        &app,
        &session,
        &format!("/console/store/stock?location={other}&q=zap"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("ZAP-42") && html.contains("Gran Vía") && html.contains("Sol"),
        "{html}"
    );
    assert!(html.contains("Nearest stores that have it"));
}

async fn an_agent_sees_and_cancels_orders_beside_the_conversation(app: TestApp) {
    let store = app
        .create_location("Gran Vía", "store", 40.4200, -3.7058, &["pickup"])
        .await;
    app.create_product("Botas de montaña", &[("BOT-40", 8900), ("CAL-1", 500)])
        .await;
    app.stock("BOT-40", &store, 2).await;
    // She writes by SMS; her order and cart are under the same phone.
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let form = message(
        "+34600111222",
        "+34910000001",
        "SM00000000000000000000000000000091",
        "¿Dónde está mi pedido?",
    );
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &form).await.status(),
        StatusCode::OK
    );
    let shop = app.key_for("storefront").await;
    let order: Value = app
        .order(&shop, &json!({"customer_id": "phone:+34600111222", "channel": "app",
            "lines": [{"sku": "BOT-40", "quantity": 1}], "fulfillment": {"type": "pickup", "location_id": store}}))
        .await
        .json()
        .await
        .unwrap();
    app.post_json(
        "/api/v1/customers/phone:+34600111222/cart/lines",
        &shop,
        &json!({"sku": "CAL-1", "quantity": 2}),
    )
    .await;
    let listed: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let conversation = listed["data"][0]["id"].as_str().unwrap().to_owned();

    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (agent, csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let number = order["number"].as_str().unwrap();
    let html = super::page(
        &app,
        &agent,
        &format!("/console/conversations/{conversation}"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains(&format!("#{number}")) && html.contains("1 × Botas de montaña"),
        "{html}"
    );
    assert!(
        html.contains("2 × Botas de montaña") && html.contains("CAL-1"),
        "the cart: {html}"
    );
    // Cancelled on her behalf from beside the conversation.
    let id = order["id"].as_str().unwrap();
    let form = [("csrf", csrf.as_str()), ("order_id", id)];
    let answer = super::send(
        &app,
        Some(&agent),
        &format!("/console/conversations/{conversation}/cancel-order"),
        &form,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("The order is cancelled")
    );
    let read: Value = app
        .get(&format!("/api/v1/orders/{id}"), &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "cancelled");
    let cancelled = read["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(cancelled["channel"], "call_center");
    assert_eq!(app.level("BOT-40", &store).await, (2, 0, 2));
    // Another customer's order is not this conversation's to cancel.
    let other: Value = app
        .order(&shop, &json!({"customer_id": "email:otro@example.com", "channel": "web",
            "lines": [{"sku": "BOT-40", "quantity": 1}], "fulfillment": {"type": "pickup", "location_id": store}}))
        .await
        .json()
        .await
        .unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("order_id", other["id"].as_str().unwrap()),
    ];
    let answer = super::send(
        &app,
        Some(&agent),
        &format!("/console/conversations/{conversation}/cancel-order"),
        &form,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

async fn the_return_desk_takes_back_what_another_store_sold(app: TestApp) {
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
    app.create_product("Zapatilla Runner", &[("ZAP-42", 5999), ("ZAP-43", 5999)])
        .await;
    app.stock("ZAP-42", &gran_via, 5).await;
    app.stock("ZAP-43", &sol, 2).await;
    let till = app.key_for("store").await;
    let sale = |_: ()| {
        json!({"customer_id": "email:ana@example.com", "channel": "pos",
            "lines": [{"sku": "ZAP-42", "quantity": 1}], "fulfillment": {"type": "counter", "location_id": gran_via}})
    };
    let first: Value = app.order(&till, &sale(())).await.json().await.unwrap();
    let second: Value = app.order(&till, &sale(())).await.json().await.unwrap();
    app.create_user("sergio@shop.example", "store", PASSWORD)
        .await;
    let (session, csrf) = console_session(&app, "sergio@shop.example", PASSWORD).await;
    let html = super::page(
        &app,
        &session,
        &format!("/console/store/returns?location={sol}"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("Return code"));

    // By the order's number and her email: the shoe goes back on Sol's shelf, and she
    // takes a size 43 from Sol's stock in exchange.
    let number = first["number"].as_str().unwrap();
    let wrong = [
        ("csrf", csrf.as_str()),
        ("location", sol.as_str()),
        ("order_number", number),
        ("contact", "otra@example.com"),
    ];
    let answer = super::send(&app, Some(&session), "/console/store/returns/find", &wrong).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let find = [
        ("csrf", csrf.as_str()),
        ("location", sol.as_str()),
        ("order_number", number),
        ("contact", "ANA@example.com"),
    ];
    let html = super::send(&app, Some(&session), "/console/store/returns/find", &find)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Zapatilla Runner") && html.contains("max=\"1\""),
        "{html}"
    );
    let receive = [
        ("csrf", csrf.as_str()),
        ("location", sol.as_str()),
        ("return_code", ""),
        ("order_number", number),
        ("contact", "ana@example.com"),
        ("sku", "ZAP-42"),
        ("quantity", "1"),
        ("disposition", "restock"),
        ("reason", "talla"),
        ("currency", "EUR"),
        ("refund", ""),
        ("reference", ""),
        ("exchange_sku", "ZAP-43"),
        ("exchange_quantity", "1"),
    ];
    let answer = super::send(
        &app,
        Some(&session),
        "/console/store/returns/receive",
        &receive,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Received."), "{html}");
    assert!(html.contains("Exchange handed over: order"), "{html}");
    assert_eq!(app.level("ZAP-42", &sol).await, (1, 0, 1));
    assert_eq!(app.level("ZAP-43", &sol).await, (1, 0, 1));
    let orders: Value = app
        .get(
            "/api/v1/customers/email:ana@example.com/orders",
            &shop_key(&app).await,
        )
        .await
        .json()
        .await
        .unwrap();
    let exchanged = &orders["data"][0];
    assert_eq!(exchanged["lines"][0]["sku"], "ZAP-43");
    assert!(html.contains(exchanged["number"].as_str().unwrap()));

    // A return started online, by its code: written off.
    let shop = app.key_for("storefront").await;
    let started: Value = app
        .post_json(
            &format!("/api/v1/orders/{}/returns", second["id"].as_str().unwrap()),
            &shop,
            &json!({"lines": [{"sku": "ZAP-42", "quantity": 1}], "channel": "web"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let code = started["return_code"].as_str().unwrap();
    let find = [
        ("csrf", csrf.as_str()),
        ("location", sol.as_str()),
        ("return_code", code),
    ];
    let html = super::send(&app, Some(&session), "/console/store/returns/find", &find)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Zapatilla Runner"), "{html}");
    let receive = [
        ("csrf", csrf.as_str()),
        ("location", sol.as_str()),
        ("return_code", code),
        ("order_number", ""),
        ("contact", ""),
        ("sku", "ZAP-42"),
        ("quantity", "1"),
        ("disposition", "write_off"),
        ("currency", "EUR"),
        ("refund", "59,99"),
        ("reference", "TPV-0042"),
    ];
    // A refund that is no amount is refused, and nothing is received.
    let mut wrong = receive.to_vec();
    wrong[9] = ("refund", "59,999");
    let answer = super::send(
        &app,
        Some(&session),
        "/console/store/returns/receive",
        &wrong,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text().await.unwrap().contains("such as 12.50"));
    let answer = super::send(
        &app,
        Some(&session),
        "/console/store/returns/receive",
        &receive,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(app.level("ZAP-42", &sol).await, (1, 0, 1));
    let read: Value = app
        .get(
            &format!("/api/v1/returns/{}", started["id"].as_str().unwrap()),
            &shop,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "received");
    assert_eq!(read["lines"][0]["disposition"], "write_off");
    assert_eq!(
        read["refund"],
        json!({"amount": {"amount": 5999, "currency": "EUR"}, "reference": "TPV-0042",
            "status": "refunded"})
    );
}

async fn shop_key(app: &TestApp) -> String {
    app.key_for("storefront").await
}

/// The value of a hidden field in a page's form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn the_endless_aisle_orders_what_the_store_lacks(app: TestApp) {
    let gran_via = app
        .create_location("Gran Vía", "store", 40.4200, -3.7058, &["pickup"])
        .await;
    let getafe = app
        .create_location("Getafe", "warehouse", 40.3057, -3.7329, &["ship"])
        .await;
    app.create_product("Zapatilla Trail", &[("ZAP-44", 7999)])
        .await;
    app.stock("ZAP-44", &getafe, 3).await;
    let shop = app.key_for("storefront").await;
    let wished = app
        .post_json(
            "/api/v1/customers/email:ana@example.com/wishlist/lines",
            &shop,
            &json!({"sku": "ZAP-44", "quantity": 1, "channel": "app"}),
        )
        .await;
    assert_eq!(wished.status(), StatusCode::OK);
    app.create_user("sergio@shop.example", "store", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (session, csrf) = console_session(&app, "sergio@shop.example", PASSWORD).await;
    let (agent, _) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    assert_eq!(
        super::page(&app, &agent, "/console/store/aisle")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Her wish list, made in the app, with none here and three elsewhere.
    let path = format!("/console/store/aisle?location={gran_via}&contact=ANA%40example.com");
    let html = super::page(&app, &session, &path)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Wish list") && html.contains("Zapatilla Trail"),
        "{html}"
    );
    assert!(html.contains("<td>0</td><td>3</td>"), "{html}");
    let token = hidden(&html, "token");
    let unknown = super::page(
        &app,
        &session,
        &format!("/console/store/aisle?location={gran_via}&contact=nadie%40example.com"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(unknown.contains("No customer has this email or phone yet"));

    // Not here to collect: refused, saying what there is.
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("location", gran_via.as_str()),
        ("contact", "ana@example.com"),
        ("token", token.as_str()),
        ("sku", "ZAP-44"),
        ("quantity", "1"),
        ("delivery", "pickup"),
        ("name", "Ana García"),
        ("line1", "Calle Mayor 1"),
        ("city", "Madrid"),
        ("postal_code", "28013"),
        ("country", "ES"),
    ];
    let answer = super::send(&app, Some(&session), "/console/store/aisle/order", &form).await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(answer.text().await.unwrap().contains("units available: 0"));

    // Shipped home from the warehouse, placed on the tablet and signed by Sergio; the
    // same form sent twice is one order.
    let token = hidden(&html, "token");
    form[3] = ("token", token.as_str());
    form[6] = ("delivery", "ship");
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let answer = super::send(&app, Some(&session), "/console/store/aisle/order", &form).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let html = answer.text().await.unwrap();
        assert!(
            html.contains("Placed:") && html.contains("from Getafe"),
            "{html}"
        );
        numbers.push(html);
    }
    let orders: Value = app
        .get("/api/v1/customers/email:ana@example.com/orders", &shop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders["data"].as_array().unwrap().len(), 1);
    let order = &orders["data"][0];
    assert!(numbers[0].contains(order["number"].as_str().unwrap()));
    assert!(numbers[1].contains(order["number"].as_str().unwrap()));
    assert_eq!(order["channel"], "store_tablet");
    assert_eq!(order["staff"], "sergio@shop.example");
    assert_eq!(order["fulfillments"][0]["type"], "ship");
    assert_eq!(order["fulfillments"][0]["location_id"], getafe.as_str());
    assert_eq!(app.level("ZAP-44", &getafe).await, (3, 1, 2));
}
