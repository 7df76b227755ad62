//! Calls and live events (S1): a customer chats in the morning and calls in the
//! afternoon; the agents' live feed announces the call with the customer and the
//! conversation that holds the chat, and the call shows in the thread as a call.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::live::LiveClient;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    a_call_after_a_chat_reaches_the_agent_with_the_chat,
    any_phone_system_reports_calls_through_the_api,
    live_events_reach_every_node,
);

const ANA: &str = "+34600111222";
const VOICE_NUMBER: &str = "+34910000003";

fn call_event<'a>(
    sid: &'a str,
    status: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Called", VOICE_NUMBER),
        ("Caller", ANA),
        ("Direction", "inbound"),
        ("From", ANA),
        ("To", VOICE_NUMBER),
    ];
    form.extend_from_slice(extra);
    form
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn a_call_after_a_chat_reaches_the_agent_with_the_chat(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, chat_hook) = app
        .twilio_channel("twilio_whatsapp", "+34910000002", &peer)
        .await;
    let (voice, voice_hook) = app
        .channel_with(json!({"type": "voice", "name": "Centralita",
            "settings": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_number": VOICE_NUMBER}}))
        .await;
    assert!(voice_hook.contains("/webhooks/twilio/"));
    let agent = app.key_for("agent").await;
    let mut live = LiveClient::connect(&app, &app.base, &agent).await;

    // The morning's chat.
    let from = format!("whatsapp:{ANA}");
    let chat = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "¿Me guardáis las zapatillas en la talla 38?"),
        ("From", from.as_str()),
        ("MessageSid", "SM20000000000000000000000000000001"),
        ("SmsStatus", "received"),
        ("To", "whatsapp:+34910000002"),
        ("WaId", "34600111222"),
    ];
    assert_eq!(
        app.twilio_hook(&chat_hook, AUTH_TOKEN, &chat)
            .await
            .status(),
        StatusCode::OK
    );
    let created = live.next("message.created").await;
    let conversation = created["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["message"]["content"],
        "¿Me guardáis las zapatillas en la talla 38?"
    );
    assert_eq!(created["new_conversation"], true);

    // The afternoon's call: the agents hear of it ringing, with the customer and the
    // conversation that holds the chat.
    app.clock.advance_millis(5 * 3_600_000);
    let response = app
        .twilio_hook(
            &voice_hook,
            AUTH_TOKEN,
            &call_event("CA20000000000000000000000000000001", "ringing", &[]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("<Response>"));
    let started = live.next("call.started").await;
    assert_eq!(started["conversation_id"], conversation.as_str());
    assert_eq!(started["customer_id"], created["customer_id"]);
    assert_eq!(started["call"]["status"], "ringing");
    assert_eq!(started["call"]["from"], ANA);
    let identities = started["customer"]["identities"].as_array().unwrap();
    assert!(
        identities
            .iter()
            .any(|i| i["type"] == "phone" && i["value"] == ANA)
    );

    for (status, extra) in [
        ("in-progress", vec![]),
        ("completed", vec![("CallDuration", "125")]),
    ] {
        let form = call_event("CA20000000000000000000000000000001", status, &extra);
        assert_eq!(
            app.twilio_hook(&voice_hook, AUTH_TOKEN, &form)
                .await
                .status(),
            StatusCode::OK
        );
    }
    let ended = live.next("call.ended").await;
    assert_eq!(ended["call"]["status"], "completed");
    assert_eq!(ended["call"]["duration_seconds"], 125);
    // The recording arrives after the end, in its own callback.
    let recording = [
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", "CA20000000000000000000000000000001"),
        ("RecordingDuration", "120"),
        ("RecordingSid", "RE20000000000000000000000000000001"),
        ("RecordingStatus", "completed"),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE2",
        ),
    ];
    assert_eq!(
        app.twilio_hook(&voice_hook, AUTH_TOKEN, &recording)
            .await
            .status(),
        StatusCode::OK
    );
    // A late "ringing" does not undo the end.
    let late = call_event("CA20000000000000000000000000000001", "ringing", &[]);
    assert_eq!(
        app.twilio_hook(&voice_hook, AUTH_TOKEN, &late)
            .await
            .status(),
        StatusCode::OK
    );

    // One thread: the chat, then the call, shown as a call.
    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{thread}");
    assert_eq!(messages[0]["channel_type"], "twilio_whatsapp");
    assert_eq!(messages[0]["call"], Value::Null);
    let call = &messages[1];
    assert_eq!(call["channel_type"], "voice");
    assert_eq!(call["channel_id"], voice.as_str());
    assert_eq!(call["call"]["status"], "completed");
    assert_eq!(call["call"]["duration_seconds"], 125);
    assert_eq!(
        call["call"]["recording_url"],
        "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE2"
    );
    assert!(call["call"]["answered_at"].is_string());
    // On the customer's timeline as a call.
    let timeline = app.timeline(created["customer_id"].as_str().unwrap()).await;
    assert!(
        timeline
            .iter()
            .any(|i| i["type"] == "message" && i["channel"] == "voice"),
        "{timeline:?}"
    );

    // A voice reply makes no sense: refused, naming the channel.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "x", "channel_id": voice}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await.1.as_deref(), Some("channel_id"));

    // A forged call webhook stores nothing.
    let forged = call_event("CA20000000000000000000000000000009", "ringing", &[]);
    let signature = crate::support::twilio::sign("not-the-token", &voice_hook, &forged);
    let response = app
        .twilio_hook_signed(&voice_hook, Some(&signature), &forged)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 2);

    // The live feed is for the roles that answer customers.
    let marketer = app.key_for("marketer").await;
    assert_eq!(
        app.get("/api/v1/live", &marketer).await.status(),
        StatusCode::FORBIDDEN
    );
    let response = app
        .client
        .get(app.url("/api/v1/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn any_phone_system_reports_calls_through_the_api(app: TestApp) {
    // A voice channel of another phone system: no Twilio credentials, so its calls
    // come only through the API (and Twilio-style webhooks to it are refused).
    let (pbx, pbx_hook) = app
        .channel_with(json!({"type": "voice", "name": "PBX"}))
        .await;
    let agent = app.key_for("agent").await;
    let report = |body: Value| {
        let agent = agent.clone();
        let app = &app;
        async move { app.post_json("/api/v1/calls", &agent, &body).await }
    };
    let response = report(
        json!({"channel_id": pbx, "external_id": "pbx-7781", "direction": "inbound",
        "from": "+34 600 999 888", "to": "100", "status": "ringing"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["call"]["status"], "ringing");
    let customer = app
        .lookup("phone", "+34600999888")
        .await
        .expect("the caller is a customer");
    assert_eq!(started["customer_id"], customer["id"]);

    let response = report(
        json!({"channel_id": pbx, "external_id": "pbx-7781", "status": "completed",
        "duration_seconds": 42, "notes": "Quiere cambiar la talla del pedido"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ended: Value = response.json().await.unwrap();
    assert_eq!(ended["call"]["status"], "completed");
    assert_eq!(ended["call"]["duration_seconds"], 42);
    assert_eq!(ended["conversation_id"], started["conversation_id"]);
    let thread = json_of(
        &app,
        &format!(
            "/api/v1/conversations/{}",
            started["conversation_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        thread["messages"][0]["call"]["notes"],
        "Quiere cambiar la talla del pedido"
    );

    // An outbound call made by an agent to the same customer joins the same thread.
    let response = report(
        json!({"channel_id": pbx, "external_id": "pbx-7790", "direction": "outbound",
        "from": "100", "to": "+34600999888", "status": "completed", "duration_seconds": 10}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let outbound: Value = response.json().await.unwrap();
    assert_eq!(outbound["conversation_id"], started["conversation_id"]);

    for (body, field) in [
        (
            json!({"channel_id": "0190f000-0000-7000-8000-000000000000", "external_id": "x", "from": "+34600999888"}),
            "channel_id",
        ),
        (
            json!({"channel_id": pbx, "external_id": "pbx-1", "from": "not a phone"}),
            "from",
        ),
        (
            json!({"channel_id": pbx, "external_id": "pbx-1", "from": "+34600999888", "status": "exploded"}),
            "status",
        ),
        (
            json!({"channel_id": pbx, "external_id": "pbx-1", "direction": "sideways"}),
            "direction",
        ),
        (
            json!({"channel_id": pbx, "external_id": "pbx-1", "status": "ringing"}),
            "from",
        ),
        (
            json!({"channel_id": pbx, "external_id": "pbx-1", "direction": "outbound"}),
            "to",
        ),
    ] {
        let response = report(body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    let marketer = app.key_for("marketer").await;
    let response = app.post_json("/api/v1/calls", &marketer, &json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // No Twilio credentials: no webhook can be verified, so none is taken.
    let form = call_event("CA20000000000000000000000000000002", "ringing", &[]);
    let response = app.twilio_hook(&pbx_hook, AUTH_TOKEN, &form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn live_events_reach_every_node(app: TestApp) {
    // With several nodes on one PostgreSQL, an agent connected to one node hears what
    // a webhook did on another. SQLite serves one node.
    let Some((second, _node, _dir)) = app.second_node().await else {
        return;
    };
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let agent = app.key_for("agent").await;
    let mut here = LiveClient::connect(&app, &app.base, &agent).await;
    let mut there = LiveClient::connect(&app, &second, &agent).await;
    let sms = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "hola"),
        ("From", ANA),
        ("MessageSid", "SM20000000000000000000000000000005"),
        ("SmsStatus", "received"),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &sms).await.status(),
        StatusCode::OK
    );
    let on_first = here.next("message.created").await;
    let on_second = there.next("message.created").await;
    assert_eq!(on_first, on_second);
    assert_eq!(on_second["message"]["content"], "hola");
    // Each node hears each event once: the node that stored the message delivers it to
    // its own subscribers and skips its own notification.
    let sms = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "adiós"),
        ("From", ANA),
        ("MessageSid", "SM20000000000000000000000000000006"),
        ("SmsStatus", "received"),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &sms).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        here.next("message.created").await["message"]["content"],
        "adiós"
    );
    assert_eq!(
        there.next("message.created").await["message"]["content"],
        "adiós"
    );
}
