//! The API channel: another system posts its customers' messages and receives the
//! replies, both signed as Standard Webhooks sign, checked with the published
//! `standardwebhooks` package on the other side.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::receiver::{Receiver, verify_with_standard_webhooks};
use crate::support::{TestApp, on_both_engines, run_python};

on_both_engines!(another_system_posts_messages_and_receives_signed_replies);

const SIGN: &str = r#"
import json, sys
from datetime import datetime, timezone
from standardwebhooks import Webhook
given = json.load(sys.stdin)
print(Webhook(given["secret"]).sign(given["id"], datetime.fromtimestamp(given["timestamp"], tz=timezone.utc), given["body"]))
"#;

/// `webhook-signature` for a message, made by the `standardwebhooks` package where
/// `HILO_TEST_PYTHON` has it, by Hilo's own signer elsewhere.
fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let input = json!({"secret": secret, "id": id, "timestamp": timestamp, "body": body});
    match run_python(SIGN, &input) {
        Some(signature) => signature.trim().to_owned(),
        None => {
            let secret = hilo_domain::webhooks::SigningSecret::parse(secret).unwrap();
            hilo_domain::webhooks::sign(&secret, id, timestamp, body.as_bytes())
        }
    }
}

async fn post_signed(
    app: &TestApp,
    hook: &str,
    secret: &str,
    id: &str,
    at: i64,
    body: &Value,
) -> reqwest::Response {
    let text = body.to_string();
    let path = hook.strip_prefix("http://127.0.0.1").unwrap();
    app.client
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header("webhook-signature", signature(secret, id, at, &text))
        .body(text)
        .send()
        .await
        .unwrap()
}

async fn another_system_posts_messages_and_receives_signed_replies(app: TestApp) {
    app.clock_to_real_time();
    let now = hilo_app::Clock::now(&app.clock).millis() / 1000;
    let receiver = Receiver::start().await;
    let response = app
        .post_json(
            "/api/v1/channels",
            &app.admin_key,
            &json!({"type": "api", "name": "CRM", "settings": {"outbound_url": receiver.url}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let channel: Value = response.json().await.unwrap();
    let secret = channel["generated_secrets"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook = channel["webhook_url"].as_str().unwrap().to_owned();
    assert!(hook.contains("/webhooks/api/"));

    let message = json!({"id": "crm-msg-1", "contact": {"id": "42", "email": "Rosa@Example.com", "name": "Rosa"},
                         "content": "Hola, escribo desde vuestra app de citas"});
    let response = post_signed(&app, &hook, &secret, "msg_1", now, &message).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rosa = app
        .lookup("email", "rosa@example.com")
        .await
        .expect("the contact is a customer");
    let list: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let conversation = list["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["data"][0]["customer_id"], rosa["id"]);

    // Forged, altered, or too old: refused, nothing stored.
    let other = json!({"id": "crm-msg-2", "contact": {"id": "43"}, "content": "x"});
    let path = hook.strip_prefix("http://127.0.0.1").unwrap().to_owned();
    let forged = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/json")
        .header("webhook-id", "msg_2")
        .header("webhook-timestamp", now.to_string())
        .header(
            "webhook-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .body(other.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let stale = post_signed(&app, &hook, &secret, "msg_3", now - 600, &other).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let unsigned = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/json")
        .body(other.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let all: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);

    // The reply goes to the other system, signed.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Tu cita es el martes a las 10"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reply: Value = response.json().await.unwrap();
    app.step_workers().await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let delivery = received[0].json();
    assert_eq!(delivery["type"], "message.created");
    assert_eq!(delivery["data"]["contact_id"], "42");
    assert_eq!(delivery["data"]["content"], "Tu cita es el martes a las 10");
    assert_eq!(delivery["data"]["message_id"], reply["id"]);
    assert_eq!(
        received[0].header("webhook-id"),
        reply["id"].as_str().unwrap()
    );
    verify_with_standard_webhooks(&secret, &received);

    // The other system reports the delivery.
    let report = json!({"status": {"message_id": reply["id"], "status": "delivered"}});
    assert_eq!(
        post_signed(&app, &hook, &secret, "msg_4", now, &report)
            .await
            .status(),
        StatusCode::OK
    );
    let thread: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let sent = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["id"])
        .unwrap()
        .clone();
    assert_eq!(sent["status"], "delivered");

    // A refusal is the message's failure, with the status the receiver gave.
    receiver.answer(422);
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "¿Confirmas?"}),
        )
        .await;
    let refused: Value = response.json().await.unwrap();
    app.step_workers().await;
    let thread: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let failed = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == refused["id"])
        .unwrap()
        .clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "422");
}
