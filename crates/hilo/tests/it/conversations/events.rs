//! Conversations reach outbound webhooks: `conversation.created`, `message.created`,
//! `message.updated`, `conversation.updated`, `call.started`, `call.ended`, signed like
//! every delivery and carrying ids and states, never a message's text.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::receiver::{Receiver, verify_with_standard_webhooks};
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(conversation_events_reach_subscribed_endpoints);

async fn conversation_events_reach_subscribed_endpoints(app: TestApp) {
    app.clock_to_real_time();
    let receiver = Receiver::start().await;
    let events = [
        "conversation.created",
        "conversation.updated",
        "message.created",
        "message.updated",
        "call.started",
        "call.ended",
    ];
    let (_, secret) = app.create_webhook(&receiver.url, &events).await;
    let peer = TwilioPeer::start().await;
    let (channel, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let (pbx, _) = app
        .channel_with(json!({"type": "voice", "name": "PBX"}))
        .await;
    let sms = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Mi número de pedido es el T-1"),
        ("From", "+34600111222"),
        ("MessageSid", "SM40000000000000000000000000000001"),
        ("SmsStatus", "received"),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &sms).await.status(),
        StatusCode::OK
    );
    let list: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let conversation = list["data"][0]["id"].as_str().unwrap().to_owned();
    let customer = list["data"][0]["customer_id"].as_str().unwrap().to_owned();
    let reply = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Lo miramos"}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/conversations/{conversation}"),
            Some(&app.admin_key),
        )
        .json(&json!({"status": "pending"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let call = app
        .post_json("/api/v1/calls", &app.admin_key, &json!({"channel_id": pbx, "external_id": "c-1", "from": "+34600111222", "status": "completed", "duration_seconds": 30}))
        .await;
    assert_eq!(call.status(), StatusCode::CREATED);
    // The send job, the feed, the deliveries.
    for _ in 0..3 {
        app.step_workers().await;
    }
    let received = receiver.received();
    let bodies: Vec<Value> = received.iter().map(|r| r.json()).collect();
    let kinds: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    for kind in events {
        assert!(kinds.contains(&kind), "{kind} delivered: {kinds:?}");
    }
    let inbound = bodies
        .iter()
        .find(|b| b["type"] == "message.created" && b["data"]["direction"] == "inbound")
        .unwrap();
    assert_eq!(inbound["data"]["conversation_id"], conversation.as_str());
    assert_eq!(inbound["data"]["customer_id"], customer.as_str());
    assert_eq!(inbound["data"]["channel_id"], channel.as_str());
    let sent = bodies
        .iter()
        .find(|b| b["type"] == "message.updated" && b["data"]["status"] == "sent")
        .expect("the reply's delivery");
    assert_eq!(sent["data"]["direction"], "outbound");
    let updated = bodies
        .iter()
        .find(|b| b["type"] == "conversation.updated")
        .unwrap();
    assert_eq!(updated["data"]["status"], "pending");
    assert_eq!(updated["data"]["changed"], json!(["status"]));
    let ended = bodies.iter().find(|b| b["type"] == "call.ended").unwrap();
    assert_eq!(ended["data"]["duration_seconds"], 30);
    // No text or address of the customer travels in a webhook.
    for body in &bodies {
        let text = body.to_string();
        assert!(
            !text.contains("T-1") && !text.contains("Lo miramos") && !text.contains("600111222"),
            "{text}"
        );
    }
    verify_with_standard_webhooks(&secret, &received);
}
