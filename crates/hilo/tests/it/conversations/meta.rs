//! WhatsApp Cloud API, Messenger and Instagram end to end: the subscription handshake,
//! events signed with X-Hub-Signature-256, replies through a Graph API peer, delivery
//! reports.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::meta::{ACCESS_TOKEN, APP_SECRET, GraphPeer, VERIFY_TOKEN};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    whatsapp_cloud_messages_come_in_and_replies_go_out,
    messenger_and_instagram_threads_reply_by_page_scoped_id,
    meta_webhooks_without_the_right_signature_store_nothing,
);

const NUMBER_ID: &str = "106540352242922";

fn whatsapp_event(value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
}

fn whatsapp_text(id: &str, from: &str, text: &str) -> Value {
    whatsapp_event(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000002", "phone_number_id": NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1795435200", "type": "text", "text": {"body": text}}],
    }))
}

fn whatsapp_status(id: &str, status: &str, error: Option<Value>) -> Value {
    let mut entry = json!({"id": id, "status": status, "timestamp": "1795435300", "recipient_id": "34600111222"});
    if let Some(error) = error {
        entry["errors"] = json!([error]);
    }
    whatsapp_event(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000002", "phone_number_id": NUMBER_ID},
        "statuses": [entry],
    }))
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn only_conversation(app: &TestApp) -> Value {
    let list = json_of(app, "/api/v1/conversations").await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{list}");
    let id = data[0]["id"].as_str().unwrap();
    json_of(app, &format!("/api/v1/conversations/{id}")).await
}

async fn whatsapp_cloud_messages_come_in_and_replies_go_out(app: TestApp) {
    let peer = GraphPeer::start().await;
    let (_, hook) = app
        .meta_channel("whatsapp_cloud", ("phone_number_id", NUMBER_ID), &peer)
        .await;
    assert!(hook.contains("/webhooks/meta/"));

    // Meta's subscription handshake.
    let path = hook.strip_prefix("http://127.0.0.1").unwrap();
    let handshake = |token: &str| {
        format!("{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")
    };
    let response = app
        .client
        .get(app.url(&handshake(VERIFY_TOKEN)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "1158201444");
    let response = app
        .client
        .get(app.url(&handshake("guess")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let event = whatsapp_text(
        "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQz",
        "34600111222",
        "Hola, ¿abrís el domingo?",
    );
    assert_eq!(
        app.meta_hook(&hook, APP_SECRET, &event).await.status(),
        StatusCode::OK
    );
    // Delivered again (Meta retries when unsure): stored once.
    assert_eq!(
        app.meta_hook(&hook, APP_SECRET, &event).await.status(),
        StatusCode::OK
    );
    let thread = only_conversation(&app).await;
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["channel_type"], "whatsapp_cloud");
    assert_eq!(messages[0]["content"], "Hola, ¿abrís el domingo?");
    // Known by WhatsApp id and by phone.
    let by_wa = app.lookup("whatsapp", "34600111222").await.unwrap();
    assert_eq!(
        app.lookup("phone", "+34600111222").await.unwrap()["id"],
        by_wa["id"]
    );

    // An image arrives as a media id with its type.
    let image = whatsapp_event(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000002", "phone_number_id": NUMBER_ID},
        "messages": [{"from": "34600111222", "id": "wamid.image1", "timestamp": "1795435201", "type": "image",
                      "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "esta"}}],
    }));
    assert_eq!(
        app.meta_hook(&hook, APP_SECRET, &image).await.status(),
        StatusCode::OK
    );
    let thread = only_conversation(&app).await;
    assert_eq!(thread["messages"][1]["content"], "esta");
    assert_eq!(
        thread["messages"][1]["media"][0]["content_type"],
        "image/jpeg"
    );
    assert!(
        thread["messages"][1]["media"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/1479537139650973")
    );

    // The reply goes to the Graph API as the channel's number, with its token.
    let conversation = thread["id"].as_str().unwrap().to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Sí, de 10 a 14"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reply: Value = response.json().await.unwrap();
    app.step_workers().await;
    let requests = peer.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].sender, NUMBER_ID);
    assert_eq!(requests[0].authorization, format!("Bearer {ACCESS_TOKEN}"));
    assert_eq!(requests[0].body["messaging_product"], "whatsapp");
    assert_eq!(requests[0].body["to"], "34600111222");
    assert_eq!(requests[0].body["text"]["body"], "Sí, de 10 a 14");

    let status_of = |thread: &Value, id: &Value| {
        thread["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == *id)
            .unwrap()
            .clone()
    };
    for status in ["read", "delivered"] {
        let event = whatsapp_status(&requests[0].id, status, None);
        assert_eq!(
            app.meta_hook(&hook, APP_SECRET, &event).await.status(),
            StatusCode::OK
        );
    }
    let thread = only_conversation(&app).await;
    assert_eq!(status_of(&thread, &reply["id"])["status"], "read");

    // A message WhatsApp could not deliver says why, in its words.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "¿Algo más?"}),
        )
        .await;
    let second: Value = response.json().await.unwrap();
    app.step_workers().await;
    let sent_id = peer.requests()[1].id.clone();
    let error = json!({"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                       "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}});
    let event = whatsapp_status(&sent_id, "failed", Some(error));
    assert_eq!(
        app.meta_hook(&hook, APP_SECRET, &event).await.status(),
        StatusCode::OK
    );
    let thread = only_conversation(&app).await;
    let failed = status_of(&thread, &second["id"]);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "131047");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("24 hours")
    );

    // A refusal of the Graph API itself shows too.
    peer.fail_next(400, 100, "Invalid parameter");
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "¿Hola?"}),
        )
        .await;
    let third: Value = response.json().await.unwrap();
    app.step_workers().await;
    let thread = only_conversation(&app).await;
    let refused = status_of(&thread, &third["id"]);
    assert_eq!(refused["status"], "failed");
    assert_eq!(refused["error"]["message"], "Invalid parameter");

    // A day later only an approved template may go, in its language, with its values.
    app.clock.advance_millis(25 * 3_600_000);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let response = app
        .post_json(&path, &app.admin_key, &json!({"content": "¿Sigues ahí?"}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = app
        .post_json(
            &path,
            &app.admin_key,
            &json!({"template": {"name": "order_ready", "language": "es", "parameters": ["Sol"]}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.step_workers().await;
    let template = peer
        .requests()
        .into_iter()
        .find(|r| r.body["type"] == "template")
        .expect("the template was sent")
        .body;
    assert_eq!(template["type"], "template");
    assert_eq!(template["template"]["name"], "order_ready");
    assert_eq!(template["template"]["language"]["code"], "es");
    assert_eq!(
        template["template"]["components"][0]["parameters"][0],
        json!({"type": "text", "text": "Sol"})
    );
    let response = app
        .post_json(
            &path,
            &app.admin_key,
            &json!({"template": {"name": "order_ready"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(response).await.1.as_deref(),
        Some("template.language")
    );

    // An event for another number of the business is not this channel's.
    let mut other = whatsapp_text("wamid.other", "34600111222", "x");
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    let response = app.meta_hook(&hook, APP_SECRET, &other).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn messenger_and_instagram_threads_reply_by_page_scoped_id(app: TestApp) {
    let peer = GraphPeer::start().await;
    let (_, messenger) = app
        .meta_channel("messenger", ("page_id", "1234567890"), &peer)
        .await;
    let (_, instagram) = app
        .meta_channel("instagram", ("page_id", "17841400000000000"), &peer)
        .await;
    let event = |object: &str, page: &str, sender: &str, mid: &str, text: &str, echo: bool| {
        json!({"object": object, "entry": [{"id": page, "time": 1795435200000_i64, "messaging": [{
            "sender": {"id": sender}, "recipient": {"id": page}, "timestamp": 1795435200000_i64,
            "message": {"mid": mid, "text": text, "is_echo": echo}}]}]})
    };
    let response = app
        .meta_hook(
            &messenger,
            APP_SECRET,
            &event(
                "page",
                "1234567890",
                "6789012345",
                "m_1",
                "¿Hacéis envíos?",
                false,
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The page's own message echoed back is not the customer's.
    let response = app
        .meta_hook(
            &messenger,
            APP_SECRET,
            &event("page", "1234567890", "1234567890", "m_2", "Eco", true),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let thread = only_conversation(&app).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
    assert!(app.lookup("messenger_psid", "6789012345").await.is_some());

    let conversation = thread["id"].as_str().unwrap().to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Sí, a toda España"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reply: Value = response.json().await.unwrap();
    app.step_workers().await;
    let sent = peer.requests();
    assert_eq!(sent[0].sender, "1234567890");
    assert_eq!(sent[0].body["recipient"]["id"], "6789012345");
    assert_eq!(sent[0].body["message"]["text"], "Sí, a toda España");
    assert_eq!(sent[0].body["messaging_type"], "RESPONSE");
    let delivery = json!({"object": "page", "entry": [{"id": "1234567890", "time": 1795435300000_i64, "messaging": [{
        "sender": {"id": "6789012345"}, "recipient": {"id": "1234567890"},
        "delivery": {"mids": [sent[0].id], "watermark": 1795435300000_i64}}]}]});
    assert_eq!(
        app.meta_hook(&messenger, APP_SECRET, &delivery)
            .await
            .status(),
        StatusCode::OK
    );
    let thread = only_conversation(&app).await;
    let message = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply["id"])
        .unwrap()
        .clone();
    assert_eq!(message["status"], "delivered");

    // Instagram: its own object name and scoped id; a Messenger payload is refused.
    let response = app
        .meta_hook(
            &instagram,
            APP_SECRET,
            &event(
                "instagram",
                "17841400000000000",
                "9900000000000001",
                "ig_1",
                "Hola",
                false,
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        app.lookup("instagram_id", "9900000000000001")
            .await
            .is_some()
    );
    let response = app
        .meta_hook(
            &instagram,
            APP_SECRET,
            &event(
                "page",
                "17841400000000000",
                "9900000000000001",
                "ig_2",
                "Hola",
                false,
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await.1.as_deref(), Some("object"));
}

async fn meta_webhooks_without_the_right_signature_store_nothing(app: TestApp) {
    let peer = GraphPeer::start().await;
    let (_, hook) = app
        .meta_channel("whatsapp_cloud", ("phone_number_id", NUMBER_ID), &peer)
        .await;
    let body = whatsapp_text("wamid.forged", "34600111222", "dame todo").to_string();
    let honest = crate::support::meta::sign(APP_SECRET, &body);
    let tampered = body.replace("dame todo", "dame más");
    for (signature, body) in [
        (None, body.as_str()),
        (
            Some("sha256=0000000000000000000000000000000000000000000000000000000000000000"),
            body.as_str(),
        ),
        (Some(honest.as_str()), tampered.as_str()),
        (Some(&honest[7..]), body.as_str()),
        (
            Some(crate::support::meta::sign("another-app", &body).as_str()),
            body.as_str(),
        ),
    ] {
        let response = app.meta_hook_signed(&hook, signature, body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let list = json_of(&app, "/api/v1/conversations").await;
    assert!(list["data"].as_array().unwrap().is_empty());
    assert!(app.lookup("whatsapp", "34600111222").await.is_none());
}
