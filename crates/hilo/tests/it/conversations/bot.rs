//! The seam for bots (S6): with bots on, a new conversation starts with the bot, which
//! hears of messages by webhook and answers with its own key; it or an agent hands off,
//! and a bot that stays silent past its timeout hands off anyway.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(a_bot_answers_first_and_hands_off_to_people);

async fn sms(app: &TestApp, hook: &str, sid: &str, from: &str) {
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "hola"),
        ("From", from),
        ("MessageSid", sid),
        ("SmsStatus", "received"),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(hook, AUTH_TOKEN, &params).await.status(),
        StatusCode::OK
    );
}

async fn conversation_of(app: &TestApp, phone: &str) -> Value {
    let customer = app.lookup("phone", phone).await.unwrap();
    let list: Value = app
        .get(
            &format!(
                "/api/v1/conversations?customer_id={}",
                customer["id"].as_str().unwrap()
            ),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    list["data"][0].clone()
}

async fn a_bot_answers_first_and_hands_off_to_people(app: TestApp) {
    app.clock_to_real_time();
    let put = |body: Value, key: String| {
        let app = &app;
        async move {
            app.request(Method::PUT, "/api/v1/bot", Some(&key))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let agent = app.key_for("agent").await;
    assert_eq!(
        put(
            json!({"enabled": true, "timeout_seconds": 30}),
            agent.clone()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let response = put(
        json!({"enabled": true, "timeout_seconds": 1}),
        app.admin_key.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(response).await.1.as_deref(),
        Some("timeout_seconds")
    );
    assert_eq!(
        put(
            json!({"enabled": true, "timeout_seconds": 30}),
            app.admin_key.clone()
        )
        .await
        .status(),
        StatusCode::OK
    );
    let shown: Value = app
        .get("/api/v1/bot", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown, json!({"enabled": true, "timeout_seconds": 30}));

    // The bot: a key of its own, and a webhook that tells it of messages.
    let bot = app.key_for("agent").await;
    let hears = Receiver::start().await;
    app.create_webhook(&hears.url, &["message.created"]).await;
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;

    sms(
        &app,
        &hook,
        "SM50000000000000000000000000000001",
        "+34600111222",
    )
    .await;
    let conversation = conversation_of(&app, "+34600111222").await;
    assert_eq!(conversation["status"], "bot");
    let id = conversation["id"].as_str().unwrap().to_owned();
    app.step_workers().await;
    let heard: Vec<Value> = hears.received().iter().map(|r| r.json()).collect();
    assert!(
        heard
            .iter()
            .any(|h| h["data"]["conversation_id"] == id.as_str()),
        "{heard:?}"
    );

    // The bot answers in time: nobody takes over.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{id}/messages"),
            &bot,
            &json!({"content": "Hola, soy el asistente"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.clock.advance_millis(31_000);
    app.step_workers().await;
    assert_eq!(conversation_of(&app, "+34600111222").await["status"], "bot");

    // The customer writes again and the bot stays silent: people take over.
    sms(
        &app,
        &hook,
        "SM50000000000000000000000000000002",
        "+34600111222",
    )
    .await;
    app.clock.advance_millis(20_000);
    app.step_workers().await;
    assert_eq!(conversation_of(&app, "+34600111222").await["status"], "bot");
    app.clock.advance_millis(11_000);
    app.step_workers().await;
    assert_eq!(
        conversation_of(&app, "+34600111222").await["status"],
        "open"
    );
    let events: Value = app
        .get(
            &format!("/api/v1/conversations/{id}/events"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let handoff = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "handoff")
        .unwrap()
        .clone();
    assert_eq!(handoff["actor"], "system");
    assert_eq!(
        handoff["data"]["reason"],
        "the bot did not answer within 30 s"
    );

    // The bot hands off itself, with its reason; a second hand-off is a conflict.
    sms(
        &app,
        &hook,
        "SM50000000000000000000000000000003",
        "+34600333444",
    )
    .await;
    let other = conversation_of(&app, "+34600333444").await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    assert_eq!(other["status"], "bot");
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{other_id}/handoff"),
            &bot,
            &json!({"reason": "Pide hablar con una persona"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let handed: Value = response.json().await.unwrap();
    assert_eq!(handed["status"], "open");
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{other_id}/handoff"),
            &bot,
            &json!({"reason": "otra vez"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let events: Value = app
        .get(
            &format!("/api/v1/conversations/{other_id}/events"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        events["data"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("api_key:")
    );
    assert_eq!(
        events["data"][0]["data"]["reason"],
        "Pide hablar con una persona"
    );
    // Its timeout, later, changes nothing.
    app.clock.advance_millis(31_000);
    app.step_workers().await;
    assert_eq!(
        conversation_of(&app, "+34600333444").await["status"],
        "open"
    );

    // Bots off: conversations start with people.
    assert_eq!(
        put(
            json!({"enabled": false, "timeout_seconds": 30}),
            app.admin_key.clone()
        )
        .await
        .status(),
        StatusCode::OK
    );
    sms(
        &app,
        &hook,
        "SM50000000000000000000000000000004",
        "+34600555666",
    )
    .await;
    assert_eq!(
        conversation_of(&app, "+34600555666").await["status"],
        "open"
    );
}
