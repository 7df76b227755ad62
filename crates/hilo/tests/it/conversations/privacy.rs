//! Erasure and export reach conversations: the person's threads, messages and calls
//! are exported with the rest and erased with the rest, and another customer's message
//! that quotes them keeps the message without them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::customers::privacy::find_anywhere;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(an_erased_customer_leaves_nothing_in_conversations);

const PERSONAL: [&str; 4] = [
    "ana.secreta@example.com",
    "+34611222333",
    "611 222 333",
    "zapatillas rojas de Ana",
];

async fn sms(app: &TestApp, hook: &str, sid: &str, from: &str, body: &str) {
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", body),
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

async fn an_erased_customer_leaves_nothing_in_conversations(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let (pbx, _) = app
        .channel_with(json!({"type": "voice", "name": "PBX"}))
        .await;
    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "email", "value": "ana.secreta@example.com"},
                                    {"type": "phone", "value": "+34611222333"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ana: Value = response.json().await.unwrap();
    let id = ana["id"].as_str().unwrap().to_owned();
    sms(
        &app,
        &hook,
        "SM30000000000000000000000000000001",
        "+34611222333",
        "Guardadme las zapatillas rojas de Ana, escribid a ana.secreta@example.com",
    )
    .await;
    let response = app
        .post_json("/api/v1/calls", &app.admin_key, &json!({"channel_id": pbx, "external_id": "pbx-1",
            "from": "+34611222333", "status": "completed", "notes": "Llamó por las zapatillas rojas de Ana"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let call: Value = response.json().await.unwrap();
    let conversation = call["conversation_id"].as_str().unwrap().to_owned();
    let response = app
        .request(Method::PUT, "/api/v1/teams/Sol", Some(&app.admin_key))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/conversations/{conversation}"),
            Some(&app.admin_key),
        )
        .json(&json!({"labels": ["vip"], "team": "Sol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let reply = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Guardadas, 611 222 333 confirmado"}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    app.step_workers().await;
    // Bo's message quotes Ana's number.
    sms(
        &app,
        &hook,
        "SM30000000000000000000000000000002",
        "+34622333444",
        "Soy Bo, el amigo del 611 222 333",
    )
    .await;

    // Her export holds the thread, its messages and the call.
    let export: Value = app
        .get(&format!("/api/v1/customers/{id}/export"), &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let threads = export["conversations"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["messages"].as_array().unwrap().len(), 3);
    assert_eq!(
        threads[0]["calls"][0]["notes"],
        "Llamó por las zapatillas rojas de Ana"
    );
    let before = find_anywhere(app.store(), &PERSONAL).await;
    for table in [
        "messages.content",
        "calls.notes",
        "messages.customer_address",
        "calls.from_number",
    ] {
        assert!(
            before.iter().any(|f| f.starts_with(table)),
            "{table} holds her before: {before:?}"
        );
    }

    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{id}/erase"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let after = find_anywhere(app.store(), &PERSONAL).await;
    assert!(after.is_empty(), "personal data left: {after:?}");
    let response = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Bo keeps his message, without her.
    let bo = app.lookup("phone", "+34622333444").await.unwrap();
    let list: Value = app
        .get(
            &format!(
                "/api/v1/conversations?customer_id={}",
                bo["id"].as_str().unwrap()
            ),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let bo_conversation = list["data"][0]["id"].as_str().unwrap().to_owned();
    let thread: Value = app
        .get(
            &format!("/api/v1/conversations/{bo_conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        thread["messages"][0]["content"],
        "Soy Bo, el amigo del [erased]"
    );
    let all: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
}
