//! Canned replies filled from the customer's profile and the agent, and notes that
//! mention agents, who are told live.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::platform::console::console_session;
use crate::support::live::LiveClient;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    canned_replies_are_filled_for_the_customer_and_the_agent,
    a_note_that_mentions_an_agent_tells_them,
);

const PASSWORD: &str = "a long password 1";

/// Ana's SMS conversation; its id.
async fn anas_conversation(app: &TestApp) -> String {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "phone", "value": "+34600111222"},
                                    {"type": "email", "value": "ana@example.com"}],
                    "traits": {"name": "Ana García", "tier": "oro"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "¿Hay descuento?"),
        ("From", "+34600111222"),
        ("MessageSid", "SM30000000000000000000000000000001"),
        ("To", "+34910000001"),
    ];
    app.twilio_hook(&hook, AUTH_TOKEN, &params).await;
    app.conversations_of("phone", "+34600111222").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn canned_replies_are_filled_for_the_customer_and_the_agent(app: TestApp) {
    let conversation = anas_conversation(&app).await;
    let body = json!({"shortcut": "/Saludo", "content":
        "Hola {{customer.first_name|cliente}}, soy {{agent.name|el equipo}}. Tu nivel: {{customer.traits.tier}}. Te escribimos a {{customer.email}}."});
    let response = app
        .post_json("/api/v1/canned-replies", &app.admin_key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["shortcut"], "saludo");
    let id = created["id"].as_str().unwrap().to_owned();
    app.post_json(
        "/api/v1/canned-replies",
        &app.admin_key,
        &json!({"shortcut": "gracias", "content": "¡Gracias!"}),
    )
    .await;

    // What the agent has typed narrows the list; a conversation fills it.
    let list: Value = app
        .get(
            &format!("/api/v1/canned-replies?q=sal&conversation_id={conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        list["data"][0]["rendered"],
        "Hola Ana, soy el equipo. Tu nivel: oro. Te escribimos a ana@example.com."
    );
    // Signed in, the agent is named.
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (session, _) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let list: Value = app
        .request(
            Method::GET,
            &format!("/api/v1/canned-replies?q=saludo&conversation_id={conversation}"),
            None,
        )
        .header("cookie", format!("hilo_session={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["data"][0]["rendered"]
            .as_str()
            .unwrap()
            .starts_with("Hola Ana, soy Test.")
    );
    let all: Value = app
        .get("/api/v1/canned-replies", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let shortcuts: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap())
        .collect();
    assert_eq!(shortcuts, ["gracias", "saludo"]);
    assert!(all["data"][0].get("rendered").is_none());

    // Mistakes name their field; shortcuts are one each; only admins write.
    let response = app
        .post_json(
            "/api/v1/canned-replies",
            &app.admin_key,
            &json!({"shortcut": "x", "content": "Hola {{customer.password}}"}),
        )
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("content"));
    let response = app
        .post_json(
            "/api/v1/canned-replies",
            &app.admin_key,
            &json!({"shortcut": "saludo", "content": "otra"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let agent = app.key_for("agent").await;
    let response = app
        .post_json(
            "/api/v1/canned-replies",
            &agent,
            &json!({"shortcut": "mio", "content": "hola"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/canned-replies", &agent).await.status(),
        StatusCode::OK
    );
    let response = app
        .get(
            "/api/v1/canned-replies?conversation_id=0190c5d2-0000-7000-8000-000000000000",
            &agent,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/canned-replies/{id}"),
            Some(&app.admin_key),
        )
        .json(&json!({"content": "Buenas, {{customer.name}}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = app
        .get(
            &format!("/api/v1/canned-replies?q=saludo&conversation_id={conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["rendered"], "Buenas, Ana García");
    for expected in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let response = app
            .request(
                Method::DELETE,
                &format!("/api/v1/canned-replies/{id}"),
                Some(&app.admin_key),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
}

async fn a_note_that_mentions_an_agent_tells_them(app: TestApp) {
    let conversation = anas_conversation(&app).await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    let agents: Value = app
        .get("/api/v1/agents", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let lucia = agents["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "lucia@shop.example")
        .unwrap()["id"]
        .clone();
    let mut live = LiveClient::connect(&app, &app.base, &app.admin_key).await;
    let note = app
        .reply(
            &conversation,
            json!({"content": "@lucia ¿le damos el descuento de oro?", "private": true}),
        )
        .await;
    let told = live.next("mention.created").await;
    assert_eq!(told["user_id"], lucia);
    assert_eq!(told["conversation_id"], conversation.as_str());
    assert_eq!(told["message_id"], note["id"]);
    let thread = app.thread(&conversation).await;
    let stored = thread.iter().find(|m| m["id"] == note["id"]).unwrap();
    assert_eq!(stored["direction"], "note");
    assert_eq!(stored["mentions"], json!([lucia]));
    // A reply to the customer mentions nobody, whatever it says.
    let reply = app
        .reply(
            &conversation,
            json!({"content": "Escribe a @lucia si quieres"}),
        )
        .await;
    let thread = app.thread(&conversation).await;
    let stored = thread.iter().find(|m| m["id"] == reply["id"]).unwrap();
    assert!(stored.get("mentions").is_none());
}
