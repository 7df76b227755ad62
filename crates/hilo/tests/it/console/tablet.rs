//! Every console page at a tablet's width (768 px), as an admin sees it: nothing wider
//! than the screen, and every field named by a label. Saves a screenshot of each.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{PASSWORD, Shop, message};
use crate::support::twilio::AUTH_TOKEN;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(every_page_works_at_a_tablets_width);

const ADMIN: &str = "admin@shop.example";

async fn every_page_works_at_a_tablets_width(app: TestApp) {
    let Some(shop) = Shop::open(&app).await else {
        return;
    };
    let browser = &shop.browser;
    app.create_user(ADMIN, "admin", PASSWORD).await;
    let form = message(
        "+34600111222",
        "+34910000001",
        "SM00000000000000000000000000000071",
        "¿Tenéis el abrigo largo en la talla 42? Lo quiero recoger en la tienda de Sol esta tarde",
    );
    assert_eq!(
        app.twilio_hook(&shop.sms_hook, AUTH_TOKEN, &form)
            .await
            .status(),
        StatusCode::OK
    );
    app.consume_feed().await;
    let listed: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let conversation = listed["data"][0]["id"].as_str().expect("id").to_owned();
    let customer = listed["data"][0]["customer_id"]
        .as_str()
        .expect("customer")
        .to_owned();
    let response = app
        .post_json(
            "/api/v1/canned-replies",
            &app.admin_key,
            &json!({"shortcut": "horario", "content": "Abrimos de 10 a 21 h, {{customer.first_name|cliente}}."}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // A store with stock, and an order waiting at its desk.
    let store = app
        .create_location(
            "Madrid Sol",
            "store",
            40.4169,
            -3.7035,
            &["pickup", "returns"],
        )
        .await;
    app.create_product("Abrigo largo", &[("ABR-42", 12900)])
        .await;
    app.stock("ABR-42", &store, 4).await;
    let order: Value = app
        .order(
            &app.admin_key,
            &json!({"customer_id": customer, "channel": "call_center",
                "lines": [{"sku": "ABR-42", "quantity": 1}],
                "fulfillment": {"type": "pickup", "location_id": store}}),
        )
        .await
        .json()
        .await
        .expect("json");
    let ready = format!(
        "/api/v1/orders/{}/fulfillments/{}/ready",
        order["id"].as_str().expect("id"),
        order["fulfillments"][0]["id"].as_str().expect("fulfilment")
    );
    assert_eq!(
        app.post_json(&ready, &app.admin_key, &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let wished = app
        .post_json(
            &format!("/api/v1/customers/{customer}/wishlist/lines"),
            &app.admin_key,
            &json!({"sku": "ABR-42", "quantity": 1}),
        )
        .await;
    assert_eq!(wished.status(), StatusCode::OK);
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/teams/Tienda%20Sol",
            Some(&app.admin_key),
        )
        .json(&json!({"description": "Mostrador de la tienda de Sol"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);

    browser.open(&app.url("/console/login")).await;
    browser
        .follow(&format!(
            "document.querySelector('input[name=email]').value = '{ADMIN}';\
             document.querySelector('input[name=password]').value = '{PASSWORD}';\
             document.querySelector('form[action=\"/console/login\"]').submit()"
        ))
        .await;
    browser.set_width(768).await;
    let pages = [
        ("/console".to_owned(), "home"),
        ("/console/inbox".to_owned(), "inbox"),
        (
            format!("/console/conversations/{conversation}"),
            "conversation",
        ),
        ("/console/customers?q=600111222".to_owned(), "customers"),
        (format!("/console/customers/{customer}"), "customer"),
        ("/console/store/pickups".to_owned(), "store-pickups"),
        ("/console/store/stock?q=abrigo".to_owned(), "store-stock"),
        ("/console/store/returns".to_owned(), "store-returns"),
        (
            "/console/store/aisle?contact=%2B34600111222".to_owned(),
            "store-aisle",
        ),
        ("/console/account".to_owned(), "account"),
        ("/console/admin/users".to_owned(), "admin-users"),
        ("/console/admin/keys".to_owned(), "admin-keys"),
        ("/console/admin/channels".to_owned(), "admin-channels"),
        ("/console/admin/canned".to_owned(), "admin-canned"),
        ("/console/admin/teams".to_owned(), "admin-teams"),
        ("/console/admin/settings".to_owned(), "admin-settings"),
        ("/console/admin/webhooks".to_owned(), "admin-webhooks"),
        ("/console/admin/jobs".to_owned(), "admin-jobs"),
    ];
    for (path, name) in pages {
        browser.open(&app.url(&path)).await;
        assert_eq!(
            browser.eval("location.pathname").await,
            path.split('?').next().unwrap_or(""),
            "{path} is shown, not a sign-in page"
        );
        browser.screenshot(&format!("console-{name}-768")).await;
        let wide = browser.eval("document.documentElement.scrollWidth").await;
        assert!(
            wide.as_u64().unwrap_or(u64::MAX) <= 768,
            "{path} is {wide} px wide"
        );
        let unlabelled = browser
            .eval(
                "Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))\
                 .map(e => e.name || e.outerHTML.slice(0, 80))",
            )
            .await;
        assert_eq!(unlabelled, json!([]), "{path}: fields without a label");
    }
}
