//! Corrections when a link was wrong: a conversation moved to the customer it belongs
//! to (with its timeline items), two conversations of one customer merged, and both
//! undone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    agents_move_and_merge_conversations_and_undo_them,
    an_agent_moves_one_message_to_its_customer_and_undoes_it,
);

async fn message(app: &TestApp, hook: &str, sid: &str, from: &str, to: &str) {
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "hola"),
        ("From", from),
        ("MessageSid", sid),
        ("SmsStatus", "received"),
        ("To", to),
    ];
    assert_eq!(
        app.twilio_hook(hook, AUTH_TOKEN, &params).await.status(),
        StatusCode::OK
    );
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn conversations_of(app: &TestApp, customer: &str) -> Vec<Value> {
    json_of(
        app,
        &format!("/api/v1/conversations?customer_id={customer}"),
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn message_items(timeline: &[Value]) -> usize {
    timeline.iter().filter(|i| i["type"] == "message").count()
}

async fn agents_move_and_merge_conversations_and_undo_them(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, sms) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let (_, wa) = app
        .twilio_channel("twilio_whatsapp", "+34910000002", &peer)
        .await;
    message(
        &app,
        &sms,
        "SM70000000000000000000000000000001",
        "+34600111222",
        "+34910000001",
    )
    .await;
    message(
        &app,
        &sms,
        "SM70000000000000000000000000000002",
        "+34600333444",
        "+34910000001",
    )
    .await;
    let ana = app.lookup("phone", "+34600111222").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bo = app.lookup("phone", "+34600333444").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversation = conversations_of(&app, &ana).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Ana's conversation was Bo's all along: it moves, with its timeline item.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/move"),
            &app.admin_key,
            &json!({"customer_id": bo}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["conversation"]["customer_id"], bo.as_str());
    assert!(conversations_of(&app, &ana).await.is_empty());
    assert_eq!(conversations_of(&app, &bo).await.len(), 2);
    assert_eq!(message_items(&app.timeline(&ana).await), 0);
    assert_eq!(message_items(&app.timeline(&bo).await), 2);
    // Moving it to whom it belongs already changes nothing.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/move"),
            &app.admin_key,
            &json!({"customer_id": bo}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Undone: back to Ana, timeline and all; a second undo is a conflict.
    let undo = format!(
        "/api/v1/conversation-moves/{}/undo",
        moved["move_id"].as_str().unwrap()
    );
    let response = app
        .request(Method::POST, &undo, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(conversations_of(&app, &ana).await.len(), 1);
    assert_eq!(message_items(&app.timeline(&ana).await), 1);
    assert_eq!(message_items(&app.timeline(&bo).await), 1);
    let response = app
        .request(Method::POST, &undo, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Two conversations of Ana's (threads kept per channel) become one.
    let response = app
        .request(Method::PUT, "/api/v1/threading", Some(&app.admin_key))
        .json(&json!({"mode": "per_channel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    message(
        &app,
        &wa,
        "SM70000000000000000000000000000003",
        "whatsapp:+34600111222",
        "whatsapp:+34910000002",
    )
    .await;
    let threads = conversations_of(&app, &ana).await;
    assert_eq!(threads.len(), 2);
    let whatsapp = threads[0]["id"].as_str().unwrap().to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/merge"),
            &app.admin_key,
            &json!({"conversation_id": whatsapp}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let merged: Value = response.json().await.unwrap();
    let kinds: Vec<&str> = merged["conversation"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["channel_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["twilio_sms", "twilio_whatsapp"]);
    let emptied = json_of(&app, &format!("/api/v1/conversations/{whatsapp}")).await;
    assert_eq!(emptied["status"], "resolved");
    assert!(emptied["messages"].as_array().unwrap().is_empty());
    // Bo's conversation is not Ana's: no merge across customers.
    let bos = conversations_of(&app, &bo).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/merge"),
            &app.admin_key,
            &json!({"conversation_id": bos}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Undone: the WhatsApp message goes back, and its conversation opens again.
    let undo = format!(
        "/api/v1/conversation-moves/{}/undo",
        merged["move_id"].as_str().unwrap()
    );
    let response = app
        .request(Method::POST, &undo, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let restored = json_of(&app, &format!("/api/v1/conversations/{whatsapp}")).await;
    assert_eq!(restored["status"], "open");
    assert_eq!(restored["messages"].as_array().unwrap().len(), 1);
    let kept = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(kept["messages"].as_array().unwrap().len(), 1);
    let events = json_of(
        &app,
        &format!("/api/v1/conversations/{conversation}/events"),
    )
    .await;
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["moved", "move_undone", "merged", "merge_undone"]);
    // Erasing a customer whose conversations were corrected takes the corrections too.
    for customer in [&ana, &bo] {
        let response = app
            .request(
                Method::POST,
                &format!("/api/v1/customers/{customer}/erase"),
                Some(&app.admin_key),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app
        .request(Method::POST, &undo, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .request(
            Method::POST,
            "/api/v1/conversation-moves/0190f000-0000-7000-8000-000000000000/undo",
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn an_agent_moves_one_message_to_its_customer_and_undoes_it(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, sms) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    // Ana's phone; one of the messages was her brother Bo's, on her phone.
    message(
        &app,
        &sms,
        "SM71000000000000000000000000000001",
        "+34600111222",
        "+34910000001",
    )
    .await;
    message(
        &app,
        &sms,
        "SM71000000000000000000000000000002",
        "+34600111222",
        "+34910000001",
    )
    .await;
    let bo = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "email", "value": "bo@example.com"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let bo_id = bo["id"].as_str().unwrap().to_owned();
    let ana = app.lookup("phone", "+34600111222").await.unwrap();
    let ana_id = ana["id"].as_str().unwrap().to_owned();
    let ana_thread = conversations_of(&app, &ana_id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let messages = app.thread(&ana_thread).await;
    let wrong = messages[1]["id"].as_str().unwrap().to_owned();

    let response = app
        .post_json(
            &format!("/api/v1/messages/{wrong}/move"),
            &app.admin_key,
            &json!({"customer_id": bo_id}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    let move_id = moved["move_id"].as_str().unwrap().to_owned();
    assert_eq!(moved["conversation"]["customer_id"], bo_id.as_str());
    assert_eq!(moved["conversation"]["messages"][0]["id"], wrong.as_str());
    assert_eq!(app.thread(&ana_thread).await.len(), 1);
    assert_eq!(message_items(&app.timeline(&ana_id).await), 1);
    assert_eq!(message_items(&app.timeline(&bo_id).await), 1);
    // Moving it again to the same customer, or a note, is refused.
    let again = app
        .post_json(
            &format!("/api/v1/messages/{wrong}/move"),
            &app.admin_key,
            &json!({"customer_id": bo_id}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let note = app
        .reply(&ana_thread, json!({"content": "revisar", "private": true}))
        .await;
    let response = app
        .post_json(
            &format!("/api/v1/messages/{}/move", note["id"].as_str().unwrap()),
            &app.admin_key,
            &json!({"customer_id": bo_id}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Undone: back in Ana's thread and on her timeline.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/conversation-moves/{move_id}/undo"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ids: Vec<String> = app
        .thread(&ana_thread)
        .await
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&wrong));
    assert_eq!(message_items(&app.timeline(&ana_id).await), 2);
    assert_eq!(message_items(&app.timeline(&bo_id).await), 0);
    let events = json_of(&app, &format!("/api/v1/conversations/{ana_thread}/events")).await;
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"message_moved") && kinds.contains(&"message_move_undone"));
}
