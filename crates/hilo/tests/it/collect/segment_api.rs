//! The collection API as Segment and RudderStack SDKs speak it.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of, identities, on_both_engines};

on_both_engines!(
    identify_and_track_reach_one_profile_at_once,
    write_keys_are_accepted_where_sdks_send_them,
    gzip_and_text_plain_bodies_are_accepted,
    retries_are_stored_once,
    invalid_messages_are_named_and_valid_ones_kept,
    limits_are_enforced_with_clear_errors,
    client_clock_skew_is_corrected,
    gzip_with_bytes_after_its_end_is_refused,
);

async fn identify_and_track_reach_one_profile_at_once(app: TestApp) {
    let (source_id, key) = app.create_source("Web shop", "web").await;
    let identify = json!({
        "userId": "u-1", "anonymousId": "anon-1", "messageId": "m-identify",
        "traits": {"email": "Ana@Example.com", "name": "Ana García", "phone": "612 34 56 78"},
        "timestamp": "2026-11-23T11:00:00Z"
    });
    let response = app.collect("/v1/identify", &key, &identify).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"success": true})
    );

    // A read right after the 200 reflects the message.
    let customer = app
        .lookup("email", "ana@example.com")
        .await
        .expect("known by email");
    assert_eq!(customer["traits"]["name"], "Ana García");
    let identities = identities(&customer);
    for expected in [
        "user_id:u-1",
        "anonymous_id:anon-1",
        "email:ana@example.com",
        "phone:+34612345678",
    ] {
        assert!(identities.contains(&expected.to_owned()), "{identities:?}");
    }
    assert_eq!(customer["identities"][0]["sources"], json!([source_id]));

    let track = json!({"userId": "u-1", "event": "Product Viewed", "messageId": "m-track",
                       "properties": {"sku": "STROLLER-1"}, "timestamp": "2026-11-23T11:05:00Z"});
    assert_eq!(app.collect("/v1/t", &key, &track).await.status(), 200);
    let by_phone = app
        .lookup("phone", "+34 612 345 678")
        .await
        .expect("known by phone");
    assert_eq!(by_phone["id"], customer["id"]);
    assert_eq!(by_phone["computed"]["event_count"], 2);
    assert_eq!(by_phone["computed"]["channels"], json!(["web"]));

    let timeline = app.timeline(customer["id"].as_str().expect("id")).await;
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline[0]["name"], "Product Viewed", "newest first");
    assert_eq!(timeline[0]["channel"], "web");
    assert_eq!(timeline[0]["source_id"], source_id.as_str());
    assert_eq!(timeline[0]["body"]["properties"]["sku"], "STROLLER-1");
    assert_eq!(timeline[1]["kind"], "identify");
    assert!(timeline[0]["body"].get("writeKey").is_none());
}

async fn write_keys_are_accepted_where_sdks_send_them(app: TestApp) {
    let (_, key) = app.create_source("App", "app").await;
    let message =
        |id: &str| json!({"type": "track", "event": "Opened", "anonymousId": "a", "messageId": id});

    // In the body, as the Python SDK sends it.
    let mut in_body = json!({"batch": [message("m1")], "writeKey": key});
    let response = app
        .client
        .post(app.url("/v1/batch"))
        .json(&in_body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // As a query parameter.
    let response = app
        .client
        .post(app.url(&format!("/v1/batch?writeKey={key}")))
        .json(&json!({"batch": [message("m2")]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // As a bearer token.
    let response = app
        .client
        .post(app.url("/v1/track"))
        .bearer_auth(&key)
        .json(&message("m3"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    // Missing, unknown, or a secret API key instead of a write key: 401.
    let response = app
        .client
        .post(app.url("/v1/track"))
        .json(&message("m4"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(error_of(response).await.0, "unauthorized");
    for wrong in [
        "hilo_wk_0000000000000000000000000000000000000000000000000",
        app.admin_key.as_str(),
    ] {
        in_body["writeKey"] = json!(wrong);
        let response = app
            .client
            .post(app.url("/v1/batch"))
            .json(&in_body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{wrong}");
    }
    let customer = app.lookup("anonymous_id", "a").await.expect("customer");
    assert_eq!(customer["computed"]["event_count"], 3);
}

async fn gzip_and_text_plain_bodies_are_accepted(app: TestApp) {
    let (_, key) = app.create_source("Kiosk", "kiosk").await;
    let body = json!({"batch": [
        {"type": "identify", "userId": "k-1", "traits": {"loyalty": "gold"}, "messageId": "g1"},
        {"type": "track", "userId": "k-1", "event": "Kiosk Purchase", "messageId": "g2"}
    ]});
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(body.to_string().as_bytes())
        .expect("gzip");
    let compressed = encoder.finish().expect("gzip");
    let response = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    let response = app
        .client
        .post(app.url("/v1/p"))
        .basic_auth(&key, Some(""))
        .header("content-type", "text/plain")
        .body(json!({"userId": "k-1", "name": "Home", "messageId": "g3"}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let customer = app.lookup("user_id", "k-1").await.expect("customer");
    assert_eq!(customer["computed"]["event_count"], 3);
    assert_eq!(customer["computed"]["channels"], json!(["kiosk"]));

    let broken = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&key, Some(""))
        .header("content-encoding", "gzip")
        .body("not gzip at all")
        .send()
        .await
        .expect("request");
    assert_eq!(broken.status(), 400);
    assert_eq!(error_of(broken).await.1.as_deref(), Some("body"));
    let form = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .expect("request");
    assert_eq!(form.status(), 415);

    // Browsers may post from the shop's origin.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/t"))
        .header("origin", "https://shop.example.com")
        .send()
        .await
        .expect("request");
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
}

async fn retries_are_stored_once(app: TestApp) {
    let (_, key) = app.create_source("Server", "server").await;
    let batch = json!({"batch": [
        {"type": "track", "userId": "r-1", "event": "Order Completed", "messageId": "order-1"},
        {"type": "track", "userId": "r-1", "event": "Order Completed", "messageId": "order-1"}
    ]});
    assert_eq!(app.collect("/v1/batch", &key, &batch).await.status(), 200);
    // A retry a day later is still a duplicate.
    app.clock.advance_millis(24 * 3600 * 1000);
    assert_eq!(app.collect("/v1/batch", &key, &batch).await.status(), 200);
    let customer = app.lookup("user_id", "r-1").await.expect("customer");
    assert_eq!(customer["computed"]["event_count"], 1);
    assert_eq!(
        app.timeline(customer["id"].as_str().expect("id"))
            .await
            .len(),
        1
    );

    // The same message id from another source is another message.
    let (_, other) = app.create_source("POS", "pos").await;
    assert_eq!(app.collect("/v1/batch", &other, &batch).await.status(), 200);
    let customer = app.lookup("user_id", "r-1").await.expect("customer");
    assert_eq!(customer["computed"]["event_count"], 2);
}

async fn invalid_messages_are_named_and_valid_ones_kept(app: TestApp) {
    let (_, key) = app.create_source("Web", "web").await;
    let batch = json!({"batch": [
        {"type": "track", "userId": "v-1", "event": "Good", "messageId": "ok-1"},
        {"type": "track", "userId": "v-1", "messageId": "no-event"},
        {"type": "page", "messageId": "nobody"},
        {"type": "identify", "userId": "v-1", "timestamp": "last tuesday"}
    ]});
    let response = app.collect("/v1/batch", &key, &batch).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_message");
    assert_eq!(body["error"]["field"], "batch[1].event");
    let rejected: Vec<(u64, String)> = body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(99),
                r["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "event".into()),
            (2, "userId".into()),
            (3, "timestamp".into())
        ]
    );
    let customer = app
        .lookup("user_id", "v-1")
        .await
        .expect("the valid message was kept");
    assert_eq!(customer["computed"]["event_count"], 1);

    for (body, field) in [
        (json!({"batch": "nope"}), "batch"),
        (json!({"sentAt": "whenever", "batch": []}), "sentAt"),
        (json!([1, 2]), "body"),
    ] {
        let response = app.collect("/v1/batch", &key, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
}

async fn limits_are_enforced_with_clear_errors(app: TestApp) {
    let (_, key) = app.create_source("Web", "web").await;
    let small = json!({"type": "track", "anonymousId": "x", "event": "E"});
    let too_many = json!({"batch": vec![small.clone(); 2501]});
    let response = app.collect("/v1/batch", &key, &too_many).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(response).await.0 == "payload_too_large");

    let big = json!({"type": "track", "anonymousId": "big", "event": "E", "messageId": "big-1",
                     "properties": {"blob": "x".repeat(33 * 1024)}});
    let response = app
        .collect("/v1/batch", &key, &json!({"batch": [small.clone(), big]}))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["field"], "batch[1].message");
    assert!(
        app.lookup("anonymous_id", "big").await.is_none(),
        "never half a message"
    );

    let huge = json!({"batch": vec![json!({"type": "track", "anonymousId": "h", "event": "E",
        "properties": {"blob": "y".repeat(20 * 1024)}}); 30]});
    let response = app.collect("/v1/batch", &key, &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(app.lookup("anonymous_id", "h").await.is_none());
}

async fn client_clock_skew_is_corrected(app: TestApp) {
    let (_, key) = app.create_source("App", "app").await;
    // The server clock reads 2026-11-23T12:00:00Z. The phone's clock is an hour fast:
    // it recorded the event at 13:00:00 and sent it at 13:00:30 by its own clock.
    let batch = json!({
        "sentAt": "2026-11-23T13:00:30Z",
        "batch": [{"type": "screen", "anonymousId": "phone", "name": "Cart",
                   "originalTimestamp": "2026-11-23T13:00:00Z", "messageId": "s1"}]
    });
    assert_eq!(app.collect("/v1/batch", &key, &batch).await.status(), 200);
    let customer = app.lookup("anonymous_id", "phone").await.expect("customer");
    let timeline = app.timeline(customer["id"].as_str().expect("id")).await;
    assert_eq!(timeline[0]["at"], "2026-11-23T11:59:30.000Z");
    assert_eq!(timeline[0]["received_at"], "2026-11-23T12:00:00.000Z");
    assert_eq!(timeline[0]["body"]["timestamp"], "2026-11-23T11:59:30.000Z");
}

async fn gzip_with_bytes_after_its_end_is_refused(app: TestApp) {
    let (_, key) = app.create_source("Kiosk", "kiosk").await;
    let body =
        json!({"batch": [{"type": "track", "userId": "t-1", "event": "Tap", "messageId": "t1"}]});
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(body.to_string().as_bytes())
        .expect("gzip");
    let mut compressed = encoder.finish().expect("gzip");
    compressed.extend_from_slice(b"{\"smuggled\": true}");
    let response = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&key, Some(""))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await.1.as_deref(), Some("body"));
    assert!(
        app.lookup("user_id", "t-1").await.is_none(),
        "nothing stored"
    );
}
