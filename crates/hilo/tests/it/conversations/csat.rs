//! Satisfaction surveys: resolving a conversation asks its customer for a rating on
//! their channel; a rating in answer rates that conversation (which stays resolved)
//! and goes on the customer's timeline.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(a_resolved_conversation_is_rated_by_its_customer);

async fn sms(app: &TestApp, hook: &str, sid: u32, body: &str) {
    let sid = format!("SM{sid:032}");
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", body),
        ("From", "+34600111222"),
        ("MessageSid", sid.as_str()),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(hook, AUTH_TOKEN, &params).await.status(),
        StatusCode::OK
    );
}

async fn resolve(app: &TestApp, conversation: &str) {
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/conversations/{conversation}"),
            Some(&app.admin_key),
        )
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.step_workers().await;
    app.step_workers().await;
}

async fn show(app: &TestApp, conversation: &str) -> Value {
    app.get(
        &format!("/api/v1/conversations/{conversation}"),
        &app.admin_key,
    )
    .await
    .json()
    .await
    .unwrap()
}

async fn a_resolved_conversation_is_rated_by_its_customer(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    // Off by default: resolving asks nothing.
    sms(&app, &hook, 1, "¿Llegó mi pedido?").await;
    let first = app.conversations_of("phone", "+34600111222").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resolve(&app, &first).await;
    assert!(peer.sent().is_empty());
    assert_eq!(show(&app, &first).await["csat"], Value::Null);

    let response = app
        .request(Method::PUT, "/api/v1/csat", Some(&app.admin_key))
        .json(&json!({"enabled": true, "question": "Del 1 al 5, ¿qué tal?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sms(&app, &hook, 2, "Otra pregunta").await;
    let list = app.conversations_of("phone", "+34600111222").await;
    let second = list[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    resolve(&app, &second).await;
    let sent = peer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].form["Body"], "Del 1 al 5, ¿qué tal?");
    assert_eq!(sent[0].form["To"], "+34600111222");
    assert!(show(&app, &second).await["csat"]["requested_at"].is_string());

    // Her answer rates it; it stays resolved, and no conversation opens.
    sms(&app, &hook, 3, "5 estrellas").await;
    let view = show(&app, &second).await;
    assert_eq!(view["status"], "resolved");
    assert_eq!(view["csat"]["rating"], 5);
    assert_eq!(
        view["messages"].as_array().unwrap().last().unwrap()["content"],
        "5 estrellas"
    );
    assert_eq!(app.conversations_of("phone", "+34600111222").await.len(), 2);
    let customer = app.lookup("phone", "+34600111222").await.unwrap();
    let timeline = app.timeline(customer["id"].as_str().unwrap()).await;
    let survey = timeline
        .iter()
        .find(|i| i["type"] == "survey")
        .expect("the rating is on her timeline");
    assert_eq!(survey["kind"], "csat");
    // Rated once: another number is a message like any other, in a new conversation.
    sms(&app, &hook, 4, "3").await;
    assert_eq!(show(&app, &second).await["csat"]["rating"], 5);
    let list = app.conversations_of("phone", "+34600111222").await;
    assert_eq!(list.len(), 3);
    let third = list[0]["id"].as_str().unwrap().to_owned();

    // Asked, but answered after three days: not a rating.
    resolve(&app, &third).await;
    app.clock.advance_millis(73 * 3_600_000);
    sms(&app, &hook, 5, "4").await;
    assert_eq!(show(&app, &third).await["csat"]["rating"], Value::Null);
    assert_eq!(app.conversations_of("phone", "+34600111222").await.len(), 4);
}
