//! The web chat widget: visitors over a real WebSocket, anonymous ones resuming with
//! their token, verified ones linked to the customer on every device, replies reaching
//! open widgets live and closed ones on their next connection, and no visitor reading
//! another's chat.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::customers::privacy::find_anywhere;
use crate::support::live::LiveClient;
use crate::support::web_chat::{ChatChannel, Visitor};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    an_anonymous_visitor_chats_on_the_profile_of_their_browsing,
    a_visitor_resumes_with_their_token_and_gets_what_was_sent_while_away,
    no_visitor_reads_another_visitors_chat,
    a_verified_visitor_is_the_customer_on_every_device,
    a_channel_may_require_verification_and_list_its_origins,
    an_erased_visitor_leaves_nothing,
    a_reply_reaches_a_visitor_on_another_node,
);

/// The hash a site's server computes, with another HMAC implementation than Hilo's.
fn hash(secret: &str, identifier: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, identifier.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The status the API shows for one message of a conversation.
async fn status_of(app: &TestApp, conversation_id: &str, message_id: &str) -> String {
    app.thread(conversation_id)
        .await
        .iter()
        .find(|m| m["id"] == message_id)
        .map(|m| m["status"].as_str().unwrap().to_owned())
        .expect("the message is in the conversation")
}

/// The one conversation of the customer holding `kind:value`, and the customer.
async fn conversation_of(app: &TestApp, kind: &str, value: &str) -> (Value, String) {
    let customer = app.lookup(kind, value).await.expect("the customer exists");
    let list = app.conversations_of(kind, value).await;
    assert_eq!(list.len(), 1, "{list:?}");
    (customer, list[0]["id"].as_str().unwrap().to_owned())
}

/// The texts of the messages a `ready` frame gives, in order.
fn contents(ready: &Value) -> Vec<&str> {
    ready["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().expect("content"))
        .collect()
}

/// Frames about the message `id` until one shows it `status`.
async fn until_status(visitor: &mut Visitor, id: &str, status: &str) {
    while frame_about(visitor, id).await["status"] != status {}
}

/// The next `message` frame about the message `id`.
async fn frame_about(visitor: &mut Visitor, id: &str) -> Value {
    loop {
        let frame = visitor.next("message").await;
        if frame["message"]["id"] == id {
            return frame["message"].clone();
        }
    }
}

async fn an_anonymous_visitor_chats_on_the_profile_of_their_browsing(app: TestApp) {
    let (_, write_key) = app.create_source("Website", "web").await;
    let browsing = json!({"anonymousId": "anon-web-1", "event": "Product Viewed",
                          "properties": {"sku": "TSHIRT-M"}});
    assert_eq!(
        app.collect("/v1/track", &write_key, &browsing)
            .await
            .status(),
        StatusCode::OK
    );
    let channel = app
        .web_chat_channel(json!({"welcome_message": "¡Hola! ¿En qué te ayudamos?"}))
        .await;
    let mut visitor = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = visitor.hello(json!({"anonymous_id": "anon-web-1"})).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["visitor_id"], Value::Null);
    assert_eq!(ready["verified"], false);
    assert_eq!(ready["messages"], json!([]));
    assert_eq!(ready["welcome_message"], "¡Hola! ¿En qué te ayudamos?");

    let ack = visitor.say("c-1", "¿Tenéis la talla M?").await;
    assert_eq!(ack["client_id"], "c-1");
    let token = ack["token"].as_str().expect("a new visitor gets a token");
    assert!(token.starts_with("hilo_cv_") && token.len() > 40);
    assert!(ack["visitor_id"].is_string());
    assert_eq!(ack["message"]["direction"], "inbound");
    assert_eq!(ack["message"]["content"], "¿Tenéis la talla M?");
    let first = ack["message"]["id"].as_str().unwrap().to_owned();
    // The same message sent again after a reconnect is stored once.
    let again = visitor.say("c-1", "¿Tenéis la talla M?").await;
    assert_eq!(again["message"]["id"], first.as_str());
    assert_eq!(again["token"], Value::Null);

    // Chat and browsing are one customer, and the chat is on their timeline.
    let (customer, conversation_id) = conversation_of(&app, "anonymous_id", "anon-web-1").await;
    let timeline = app.timeline(customer["id"].as_str().unwrap()).await;
    assert!(timeline.iter().any(|i| i["name"] == "Product Viewed"));
    assert!(
        timeline
            .iter()
            .any(|i| i["type"] == "message" && i["channel"] == "web_chat"),
        "{timeline:?}"
    );
    let messages = app.thread(&conversation_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["channel_type"], "web_chat");
    assert_eq!(messages[0]["channel_id"], channel.id.as_str());

    // The agent's reply goes to the chat the visitor wrote on, and arrives live.
    let sent = app
        .reply(&conversation_id, json!({"content": "Sí, nos quedan tres."}))
        .await;
    assert_eq!(sent["channel_id"], channel.id.as_str());
    let reply_id = sent["id"].as_str().unwrap().to_owned();
    app.step_workers().await;
    let shown = frame_about(&mut visitor, &reply_id).await;
    assert_eq!(shown["direction"], "outbound");
    assert_eq!(shown["content"], "Sí, nos quedan tres.");
    assert_eq!(
        shown.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["content", "created_at", "direction", "id", "status"],
        "a visitor sees no staff names or internal ids"
    );
    // Shown in an open widget: delivered; seen by the visitor: read.
    until_status(&mut visitor, &reply_id, "delivered").await;
    assert_eq!(
        status_of(&app, &conversation_id, &reply_id).await,
        "delivered"
    );
    visitor
        .send(json!({"type": "read", "message_id": reply_id}))
        .await;
    assert_eq!(frame_about(&mut visitor, &reply_id).await["status"], "read");
    assert_eq!(status_of(&app, &conversation_id, &reply_id).await, "read");

    // A private note never reaches the visitor.
    app.reply(
        &conversation_id,
        json!({"content": "Cliente habitual", "private": true}),
    )
    .await;
    app.step_workers().await;
    assert_eq!(visitor.quiet_for(Duration::from_millis(300)).await, None);

    // Frames that are not the widget's are refused with the reason, and the socket
    // stays open.
    visitor
        .send(json!({"type": "message", "client_id": "c-2", "content": "   "}))
        .await;
    let error = visitor.next("error").await;
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["field"], "content");
    visitor.send(json!({"type": "shout"})).await;
    assert_eq!(visitor.next("error").await["field"], "frame");
    visitor
        .send(json!({"type": "hello", "anonymous_id": "x"}))
        .await;
    assert_eq!(visitor.next("error").await["code"], "already_hello");
    let ack = visitor.say("c-3", "Gracias").await;
    assert_eq!(ack["message"]["content"], "Gracias");

    // Typing, both ways: the agent's reaches the widget, the visitor's the agents.
    let mut live = LiveClient::connect(&app, &app.base, &app.admin_key).await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/conversations/{conversation_id}/typing"),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    visitor.next("typing").await;
    visitor.send(json!({"type": "typing"})).await;
    let typing = live.next("conversation.typing").await;
    let typing = if typing["who"] == "agent" {
        live.next("conversation.typing").await
    } else {
        typing
    };
    assert_eq!(typing["who"], "customer");
    assert_eq!(typing["conversation_id"], conversation_id.as_str());
    visitor.close().await;
}

async fn a_visitor_resumes_with_their_token_and_gets_what_was_sent_while_away(app: TestApp) {
    let channel = app.web_chat_channel(json!({})).await;
    let mut visitor = Visitor::connect(&app.base, &channel.id, None).await;
    visitor.hello(json!({"anonymous_id": "anon-away"})).await;
    let ack = visitor.say("m1", "¿Dónde está mi pedido?").await;
    let token = ack["token"].as_str().unwrap().to_owned();
    let visitor_id = ack["visitor_id"].clone();
    visitor.close().await;

    let (_, conversation_id) = conversation_of(&app, "anonymous_id", "anon-away").await;
    let sent = app
        .reply(&conversation_id, json!({"content": "Sale mañana."}))
        .await;
    let reply_id = sent["id"].as_str().unwrap().to_owned();
    app.step_workers().await;
    assert_eq!(status_of(&app, &conversation_id, &reply_id).await, "sent");

    // Back on the site: the same visitor, with the reply sent while away.
    let mut visitor = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = visitor
        .hello(json!({"anonymous_id": "anon-away", "token": token}))
        .await;
    assert_eq!(ready["visitor_id"], visitor_id);
    let contents = contents(&ready);
    assert_eq!(contents, ["¿Dónde está mi pedido?", "Sale mañana."]);
    let mut delivered = false;
    for _ in 0..50 {
        if status_of(&app, &conversation_id, &reply_id).await == "delivered" {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(delivered, "a reply shown on reconnection is delivered");
    // Still the same visitor: no new token, the same conversation.
    let ack = visitor.say("m2", "¡Genial!").await;
    assert_eq!(ack["token"], Value::Null);
    assert_eq!(ack["visitor_id"], visitor_id);
    assert_eq!(app.thread(&conversation_id).await.len(), 3);
    visitor.close().await;
}

async fn no_visitor_reads_another_visitors_chat(app: TestApp) {
    let channel = app.web_chat_channel(json!({})).await;
    let mut ana = Visitor::connect(&app.base, &channel.id, None).await;
    ana.hello(json!({"anonymous_id": "anon-ana"})).await;
    let ack = ana.say("a1", "Mi dirección es Calle Mayor 1").await;
    let ana_token = ack["token"].as_str().unwrap().to_owned();
    let (_, conversation_id) = conversation_of(&app, "anonymous_id", "anon-ana").await;
    let sent = app
        .reply(&conversation_id, json!({"content": "Gracias, Ana."}))
        .await;
    let to_ana = sent["id"].as_str().unwrap().to_owned();
    app.step_workers().await;
    until_status(&mut ana, &to_ana, "delivered").await;

    // Someone who copied Ana's anonymous id, with no token or a made-up one, sees nothing.
    for token in [
        None,
        Some("hilo_cv_000000000000000000000000000000000000000000000000"),
    ] {
        let mut mallory = Visitor::connect(&app.base, &channel.id, None).await;
        let mut hello = json!({"anonymous_id": "anon-ana"});
        if let Some(token) = token {
            hello["token"] = json!(token);
        }
        let ready = mallory.hello(hello).await;
        assert_eq!(ready["messages"], json!([]), "{ready}");
        assert_eq!(ready["visitor_id"], Value::Null);
        mallory.close().await;
    }
    // Another channel's widget does not take Ana's token either.
    let other = app.web_chat_channel(json!({})).await;
    let mut elsewhere = Visitor::connect(&app.base, &other.id, None).await;
    let ready = elsewhere
        .hello(json!({"anonymous_id": "anon-ana", "token": ana_token}))
        .await;
    assert_eq!(ready["messages"], json!([]));
    elsewhere.close().await;

    // Mallory writes as that anonymous id: her message joins the customer's thread,
    // but the reply to her goes to her alone, and Ana's chat stays Ana's.
    let mut mallory = Visitor::connect(&app.base, &channel.id, None).await;
    mallory.hello(json!({"anonymous_id": "anon-ana"})).await;
    mallory.say("m1", "¿Cuál es mi dirección?").await;
    let sent = app
        .reply(&conversation_id, json!({"content": "Por privacidad, no."}))
        .await;
    let to_mallory = sent["id"].as_str().unwrap().to_owned();
    app.step_workers().await;
    assert_eq!(
        frame_about(&mut mallory, &to_mallory).await["content"],
        "Por privacidad, no."
    );
    assert_eq!(
        ana.quiet_for(Duration::from_millis(300)).await,
        None,
        "a reply to another visitor reaches Ana's widget"
    );
    // Mallory cannot mark Ana's messages read.
    let before = status_of(&app, &conversation_id, &to_ana).await;
    mallory
        .send(json!({"type": "read", "message_id": to_ana}))
        .await;
    mallory
        .send(json!({"type": "read", "message_id": "not-an-id"}))
        .await;
    assert_eq!(mallory.next("error").await["field"], "message_id");
    assert_eq!(status_of(&app, &conversation_id, &to_ana).await, before);
    // Reconnecting with her token, Ana sees her chat and nothing of Mallory's.
    ana.close().await;
    let mut ana = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = ana
        .hello(json!({"anonymous_id": "anon-ana", "token": ana_token}))
        .await;
    let contents = contents(&ready);
    assert_eq!(contents, ["Mi dirección es Calle Mayor 1", "Gracias, Ana."]);
    ana.close().await;
    mallory.close().await;
}

async fn a_verified_visitor_is_the_customer_on_every_device(app: TestApp) {
    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "user_id", "value": "u-77"},
                                    {"type": "email", "value": "lucia@example.com"}],
                    "traits": {"name": "Lucía"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lucia: Value = response.json().await.unwrap();
    let channel: ChatChannel = app.web_chat_channel(json!({})).await;
    let proof = hash(&channel.identity_secret, "u-77");

    // An anonymous chat on the laptop, before signing in.
    let mut laptop = Visitor::connect(&app.base, &channel.id, None).await;
    laptop.hello(json!({"anonymous_id": "laptop"})).await;
    let ack = laptop.say("l1", "Hola, antes de entrar").await;
    let laptop_token = ack["token"].as_str().unwrap().to_owned();
    laptop.close().await;

    // Signed in on the phone: the customer, linked.
    let mut phone = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = phone
        .hello(json!({"anonymous_id": "phone", "user_id": "u-77", "identifier_hash": proof}))
        .await;
    assert_eq!(ready["verified"], true);
    assert_eq!(ready["messages"], json!([]));
    let ack = phone.say("p1", "Quiero cambiar la talla").await;
    assert_eq!(
        ack["token"],
        Value::Null,
        "a verified visitor needs no token"
    );
    let (customer, _) = conversation_of(&app, "user_id", "u-77").await;
    assert_eq!(customer["id"], lucia["id"]);
    assert_eq!(
        app.lookup("anonymous_id", "phone").await.unwrap()["id"],
        lucia["id"]
    );
    phone.close().await;

    // Signing in on the laptop brings its anonymous chat along, and the phone's.
    let mut laptop = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = laptop
        .hello(json!({"anonymous_id": "laptop", "token": laptop_token,
                      "user_id": "u-77", "identifier_hash": proof}))
        .await;
    assert_eq!(ready["verified"], true);
    let contents = contents(&ready);
    assert_eq!(
        contents,
        ["Hola, antes de entrar", "Quiero cambiar la talla"]
    );
    laptop.say("l2", "Ya he entrado").await;
    assert_eq!(
        app.lookup("anonymous_id", "laptop").await.unwrap()["id"],
        lucia["id"]
    );
    laptop.close().await;

    // A claim without the right hash is not Lucía: no history, not linked to her.
    for wrong in [
        json!({"anonymous_id": "tablet", "user_id": "u-77"}),
        json!({"anonymous_id": "tablet", "user_id": "u-77", "identifier_hash": hash("guess", "u-77")}),
        json!({"anonymous_id": "tablet", "email": "lucia@example.com", "identifier_hash": proof}),
    ] {
        let mut tablet = Visitor::connect(&app.base, &channel.id, None).await;
        let ready = tablet.hello(wrong).await;
        assert_eq!(ready["verified"], false);
        assert_eq!(ready["identity_refused"], true);
        assert_eq!(ready["messages"], json!([]));
        tablet.close().await;
    }
    let mut tablet = Visitor::connect(&app.base, &channel.id, None).await;
    tablet
        .hello(json!({"anonymous_id": "tablet", "user_id": "u-77"}))
        .await;
    tablet.say("t1", "Soy Lucía, dame sus pedidos").await;
    let stranger = app.lookup("anonymous_id", "tablet").await.unwrap();
    assert_ne!(stranger["id"], lucia["id"]);
    tablet.close().await;
    // An email is proved by its own hash, as the site wrote it.
    let mut other = Visitor::connect(&app.base, &channel.id, None).await;
    let ready = other
        .hello(
            json!({"anonymous_id": "desktop", "email": "Lucia@Example.com",
                      "identifier_hash": hash(&channel.identity_secret, "Lucia@Example.com")}),
        )
        .await;
    assert_eq!(ready["verified"], true);
    other.close().await;
}

async fn a_channel_may_require_verification_and_list_its_origins(app: TestApp) {
    let channel = app
        .web_chat_channel(json!({"require_identity_verification": true,
                                 "allowed_origins": ["https://shop.example"]}))
        .await;
    for origin in [None, Some("https://evil.example")] {
        let refused = Visitor::try_connect(&app.base, &channel.id, origin).await;
        assert_eq!(refused.err(), Some(403), "{origin:?}");
    }
    let origin = Some("https://shop.example");
    let mut visitor = Visitor::connect(&app.base, &channel.id, origin).await;
    let refused = visitor
        .hello(json!({"anonymous_id": "a", "user_id": "u-1", "identifier_hash": "00"}))
        .await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "identity_not_verified");
    assert_eq!(refused["field"], "identifier_hash");
    assert_eq!(visitor.next_frame().await["type"], "closed");
    // Anonymous visitors may still chat.
    let mut visitor = Visitor::connect(&app.base, &channel.id, origin).await;
    assert_eq!(
        visitor.hello(json!({"anonymous_id": "a"})).await["type"],
        "ready"
    );
    visitor.close().await;
    // The first frame must say hello, and say it right.
    let mut visitor = Visitor::connect(&app.base, &channel.id, origin).await;
    visitor.send(json!({"type": "typing"})).await;
    assert_eq!(visitor.next_frame().await["code"], "hello_first");
    let mut visitor = Visitor::connect(&app.base, &channel.id, origin).await;
    let error = visitor.hello(json!({"anonymous_id": ""})).await;
    assert_eq!(error["field"], "anonymous_id");

    // Only web chat channels have a socket; ids that are not one are not found.
    let (sms, _) = app
        .channel_with(json!({"type": "twilio_sms", "name": "SMS",
            "settings": {"account_sid": format!("AC{}", "0".repeat(32)),
                         "auth_token": "t", "phone_number": "+34910000009"}}))
        .await;
    for id in [
        sms.as_str(),
        "not-an-id",
        "0190c5d2-0000-7000-8000-000000000000",
    ] {
        assert_eq!(
            Visitor::try_connect(&app.base, id, origin).await.err(),
            Some(404)
        );
    }
    // A deleted channel's widget is gone too.
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/channels/{}", channel.id),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        Visitor::try_connect(&app.base, &channel.id, origin)
            .await
            .err(),
        Some(404)
    );

    // The script sites embed.
    let script = app.client.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let text = script.text().await.unwrap();
    assert!(text.contains("/socket") && text.contains("\"hello\""));
    check_script_syntax(&text);
}

/// Has Node.js parse the widget, where it is installed (CI installs it).
fn check_script_syntax(text: &str) {
    let Ok(status) = std::process::Command::new("node").arg("--version").output() else {
        assert!(std::env::var("CI").is_err(), "CI must have node");
        return;
    };
    assert!(status.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("widget.js");
    std::fs::write(&path, text).unwrap();
    let checked = std::process::Command::new("node")
        .arg("--check")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

async fn an_erased_visitor_leaves_nothing(app: TestApp) {
    let channel = app.web_chat_channel(json!({})).await;
    let proof = hash(&channel.identity_secret, "erase-me-77");
    let mut visitor = Visitor::connect(&app.base, &channel.id, None).await;
    visitor
        .hello(
            json!({"anonymous_id": "anon-erase-77", "user_id": "erase-me-77",
                      "identifier_hash": proof}),
        )
        .await;
    let ack = visitor.say("e1", "Borradme, por favor").await;
    let visitor_id = ack["visitor_id"].as_str().unwrap().to_owned();
    visitor.close().await;
    let needles = ["erase-me-77", "anon-erase-77", visitor_id.as_str()];
    assert!(!find_anywhere(app.store(), &needles).await.is_empty());
    let customer = app.lookup("user_id", "erase-me-77").await.unwrap();
    let response = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/customers/{}/erase",
                customer["id"].as_str().unwrap()
            ),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let left = find_anywhere(app.store(), &needles).await;
    assert!(left.is_empty(), "left after erasure: {left:?}");
}

async fn a_reply_reaches_a_visitor_on_another_node(app: TestApp) {
    let Some((other_base, _server, _dir)) = app.second_node().await else {
        return; // one node on SQLite
    };
    let channel = app.web_chat_channel(json!({})).await;
    let mut visitor = Visitor::connect(&other_base, &channel.id, None).await;
    visitor.hello(json!({"anonymous_id": "anon-node-2"})).await;
    visitor.say("n1", "¿Hay alguien?").await;
    let (_, conversation_id) = conversation_of(&app, "anonymous_id", "anon-node-2").await;
    let sent = app
        .reply(&conversation_id, json!({"content": "¡Aquí estamos!"}))
        .await;
    app.step_workers().await;
    let shown = frame_about(&mut visitor, sent["id"].as_str().unwrap()).await;
    assert_eq!(shown["content"], "¡Aquí estamos!");
    visitor.close().await;
}
