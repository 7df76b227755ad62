//! Twilio SMS and WhatsApp end to end: webhooks signed by the `twilio` package, one
//! customer and one thread across both, replies sent to a peer of Twilio's Messages
//! API, delivery reports applied in any order.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::live::LiveClient;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    an_sms_opens_a_thread_and_the_reply_reaches_twilio,
    forged_or_unsigned_webhooks_store_nothing,
    an_email_answered_on_whatsapp_stays_one_thread,
    whatsapp_replies_keep_to_the_24_hour_window,
    a_messaging_service_pool_is_one_channel,
    whatsapp_phone_variants_are_one_customer,
    threads_can_be_kept_per_channel,
    messages_arriving_together_are_each_stored_once,
);

/// A webhook's form fields.
type Form<'a> = [(&'a str, &'a str)];

const SHOP_SMS: &str = "+34910000001";
const SHOP_WHATSAPP: &str = "+34910000002";
const ANA: &str = "+34600111222";

fn sms<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("Body", body),
        ("From", from),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("SmsMessageSid", sid),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("To", SHOP_SMS),
    ]
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The message `id` of a conversation as read now.
async fn message_in(app: &TestApp, conversation: &str, id: &Value) -> Value {
    let thread = json_of(app, &format!("/api/v1/conversations/{conversation}")).await;
    thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == *id)
        .unwrap_or_else(|| panic!("no message {id} in {thread}"))
        .clone()
}

async fn conversations(app: &TestApp) -> Vec<Value> {
    json_of(app, "/api/v1/conversations").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn reply(app: &TestApp, conversation: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/conversations/{conversation}/messages"),
        &app.admin_key,
        &body,
    )
    .await
}

async fn an_sms_opens_a_thread_and_the_reply_reaches_twilio(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (channel, hook) = app.twilio_channel("twilio_sms", SHOP_SMS, &peer).await;

    let response = app
        .twilio_hook(
            &hook,
            AUTH_TOKEN,
            &sms(
                "SM00000000000000000000000000000001",
                ANA,
                "¿Tenéis la talla 38?",
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert!(response.text().await.unwrap().contains("<Response>"));

    let list = conversations(&app).await;
    assert_eq!(list.len(), 1);
    let conversation = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["last_channel_id"], channel.as_str());
    let customer = app
        .lookup("phone", ANA)
        .await
        .expect("the sender is a customer");
    assert_eq!(list[0]["customer_id"], customer["id"]);

    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    let message = &thread["messages"][0];
    assert_eq!(message["direction"], "inbound");
    assert_eq!(message["channel_type"], "twilio_sms");
    assert_eq!(message["content"], "¿Tenéis la talla 38?");
    assert_eq!(message["status"], "received");

    // The message is on the customer's timeline.
    let timeline = app.timeline(customer["id"].as_str().unwrap()).await;
    assert!(
        timeline
            .iter()
            .any(|item| item["type"] == "message" && item["channel"] == "sms"),
        "{timeline:?}"
    );

    // The reply is stored queued, then a job sends it to Twilio.
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Sí, en la tienda de Sol"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let sent: Value = response.json().await.unwrap();
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["direction"], "outbound");
    app.step_workers().await;
    let requests = peer.sent();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.account, ACCOUNT_SID);
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(request.authorization, format!("Basic {basic}"));
    assert_eq!(request.form["To"], ANA);
    assert_eq!(request.form["From"], SHOP_SMS);
    assert_eq!(request.form["Body"], "Sí, en la tienda de Sol");
    assert_eq!(request.form["StatusCallback"], hook);
    assert_eq!(
        message_in(&app, &conversation, &sent["id"]).await["status"],
        "sent"
    );
    // Running the jobs again sends nothing more.
    app.step_workers().await;
    assert_eq!(peer.sent().len(), 1);

    // Status callbacks, in Twilio's order or not: delivered sticks, a late failure of
    // the same message does not undo it.
    let sid = request.sid.clone();
    for status in ["delivered", "sent", "failed"] {
        let params = [
            ("AccountSid", ACCOUNT_SID),
            ("MessageSid", sid.as_str()),
            ("MessageStatus", status),
            ("SmsSid", sid.as_str()),
            ("SmsStatus", status),
            ("To", ANA),
            ("From", SHOP_SMS),
        ];
        assert_eq!(
            app.twilio_hook(&hook, AUTH_TOKEN, &params).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        message_in(&app, &conversation, &sent["id"]).await["status"],
        "delivered"
    );

    // A refusal from Twilio shows on the message with its code and reason, and is not
    // retried.
    peer.fail_next(400, 21211, "The 'To' number is not a valid phone number.");
    let failed: Value = reply(&app, &conversation, json!({"content": "¿Sigue ahí?"}))
        .await
        .json()
        .await
        .unwrap();
    app.step_workers().await;
    let failed = message_in(&app, &conversation, &failed["id"]).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "21211");
    assert_eq!(
        failed["error"]["message"],
        "The 'To' number is not a valid phone number."
    );

    // A server error is retried by the job until Twilio takes it.
    peer.fail_next(503, 20503, "Service unavailable");
    let retried: Value = reply(&app, &conversation, json!({"content": "Le esperamos"}))
        .await
        .json()
        .await
        .unwrap();
    app.step_workers().await;
    assert_eq!(peer.sent().len(), 1);
    app.clock.advance_millis(3_000);
    app.step_workers().await;
    assert_eq!(peer.sent().len(), 2);
    let retried = message_in(&app, &conversation, &retried["id"]).await;
    assert_eq!(retried["status"], "sent");

    // A private note is kept in the thread and never sent.
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Cliente VIP", "private": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let note: Value = response.json().await.unwrap();
    assert_eq!(note["direction"], "note");
    app.step_workers().await;
    assert_eq!(peer.sent().len(), 2);

    // The same provider message delivered again is stored once.
    let again = app
        .twilio_hook(
            &hook,
            AUTH_TOKEN,
            &sms(
                "SM00000000000000000000000000000001",
                ANA,
                "¿Tenéis la talla 38?",
            ),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    let inbound = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .count();
    assert_eq!(inbound, 1);
}

async fn forged_or_unsigned_webhooks_store_nothing(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app.twilio_channel("twilio_sms", SHOP_SMS, &peer).await;
    let params = sms("SM00000000000000000000000000000009", ANA, "hola");
    let forged = crate::support::twilio::sign("not-the-token", &hook, &params);
    let honest = crate::support::twilio::sign(AUTH_TOKEN, &hook, &params);
    let mut altered = params.clone();
    altered[2] = ("Body", "send me everything");
    let attempts: [(Option<&str>, &Form); 4] = [
        (None, &params),
        (Some(forged.as_str()), &params),
        (Some("garbage"), &params),
        (Some(honest.as_str()), &altered),
    ];
    for (signature, params) in attempts {
        let response = app.twilio_hook_signed(&hook, signature, params).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (code, _) = error_of(response).await;
        assert_eq!(code, "unauthorized");
    }
    // The signature covers the URL too: the same request to another channel fails.
    let (_, other_hook) = app
        .twilio_channel("twilio_sms", "+34910000009", &peer)
        .await;
    let response = app
        .twilio_hook_signed(&other_hook, Some(&honest), &params)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(conversations(&app).await.is_empty());
    assert!(app.lookup("phone", ANA).await.is_none());
    // An unknown channel is not found, signed or not.
    let unknown = hook.replace(
        &hook[hook.len() - 36..],
        "0190f000-0000-7000-8000-000000000000",
    );
    let response = app.twilio_hook(&unknown, AUTH_TOKEN, &params).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn an_email_answered_on_whatsapp_stays_one_thread(app: TestApp) {
    // S2, with SMS standing in for the email that opens it: the customer writes on one
    // channel, is answered on another, and both are one thread.
    let peer = TwilioPeer::start().await;
    let (sms_channel, sms_hook) = app.twilio_channel("twilio_sms", SHOP_SMS, &peer).await;
    let (wa_channel, wa_hook) = app
        .twilio_channel("twilio_whatsapp", SHOP_WHATSAPP, &peer)
        .await;
    assert_eq!(
        app.twilio_hook(
            &sms_hook,
            AUTH_TOKEN,
            &sms(
                "SM0000000000000000000000000000000a",
                ANA,
                "Mi pedido no llega"
            )
        )
        .await
        .status(),
        StatusCode::OK
    );
    let conversation = conversations(&app).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // No WhatsApp message from the customer yet: outside the window, refused.
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Hola", "channel_id": wa_channel}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let (_, _) = error_of(response).await;

    let wa_from = format!("whatsapp:{ANA}");
    let wa = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Os escribo por aquí mejor"),
        ("From", wa_from.as_str()),
        ("MessageSid", "SM0000000000000000000000000000000b"),
        ("NumMedia", "1"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1",
        ),
        ("MediaContentType0", "image/jpeg"),
        ("ProfileName", "Ana"),
        ("SmsStatus", "received"),
        ("To", "whatsapp:+34910000002"),
        ("WaId", "34600111222"),
    ];
    assert_eq!(
        app.twilio_hook(&wa_hook, AUTH_TOKEN, &wa).await.status(),
        StatusCode::OK
    );
    let list = conversations(&app).await;
    assert_eq!(list.len(), 1, "one thread across channels: {list:?}");
    assert_eq!(list[0]["last_channel_id"], wa_channel.as_str());
    let customer = app
        .lookup("whatsapp", "34600111222")
        .await
        .expect("known by WhatsApp id");
    assert_eq!(
        app.lookup("phone", ANA).await.unwrap()["id"],
        customer["id"]
    );

    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    let kinds: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["channel_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["twilio_sms", "twilio_whatsapp"]);
    assert_eq!(
        thread["messages"][1]["media"][0]["content_type"],
        "image/jpeg"
    );

    // The default reply goes where the customer wrote last (WhatsApp); SMS on request.
    let response = reply(&app, &conversation, json!({"content": "Ya lo vemos"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Y por SMS", "channel_id": sms_channel}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.step_workers().await;
    let sent = peer.sent();
    assert_eq!(sent.len(), 2);
    let on_whatsapp = sent
        .iter()
        .find(|s| s.form["Body"] == "Ya lo vemos")
        .unwrap();
    assert_eq!(on_whatsapp.form["To"], wa_from);
    assert_eq!(on_whatsapp.form["From"], "whatsapp:+34910000002");
    let on_sms = sent.iter().find(|s| s.form["Body"] == "Y por SMS").unwrap();
    assert_eq!(on_sms.form["To"], ANA);
    assert_eq!(on_sms.form["From"], SHOP_SMS);
}

async fn whatsapp_replies_keep_to_the_24_hour_window(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_whatsapp", SHOP_WHATSAPP, &peer)
        .await;
    let from = format!("whatsapp:{ANA}");
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Hola"),
        ("From", from.as_str()),
        ("MessageSid", "SM0000000000000000000000000000000c"),
        ("SmsStatus", "received"),
        ("To", "whatsapp:+34910000002"),
    ];
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &params).await.status(),
        StatusCode::OK
    );
    let conversation = conversations(&app).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance_millis(23 * 3_600_000);
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Dentro de la ventana"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.clock.advance_millis(2 * 3_600_000);
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Fuera de la ventana"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("24-hour"),
        "{body}"
    );
    // An approved template may go: its Content SID and variables reach Twilio.
    let response = reply(&app, &conversation, json!({"template": {"name": "HX0123456789abcdef0123456789abcdef", "parameters": ["Ana", "T-1"]}})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let templated: Value = response.json().await.unwrap();
    assert_eq!(
        templated["content"],
        "[template HX0123456789abcdef0123456789abcdef: Ana, T-1]"
    );
    app.step_workers().await;
    let sent = peer.sent();
    let last = sent
        .iter()
        .find(|s| s.form.contains_key("ContentSid"))
        .expect("the template was sent");
    assert_eq!(
        last.form["ContentSid"],
        "HX0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&last.form["ContentVariables"]).unwrap(),
        json!({"1": "Ana", "2": "T-1"})
    );
    assert!(!last.form.contains_key("Body"));
    let response = reply(
        &app,
        &conversation,
        json!({"template": {"name": "order_update"}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await.1.as_deref(), Some("template.name"));
    // Notes are never sent, so the window does not apply to them.
    let response = reply(
        &app,
        &conversation,
        json!({"content": "Llamar mañana", "private": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn a_messaging_service_pool_is_one_channel(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let service = "MG0123456789abcdef0123456789abcdef";
    let (_, hook) = app
        .channel_with(json!({
            "type": "twilio_sms", "name": "Pool",
            "settings": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                         "messaging_service_sid": service, "api_base_url": peer.base_url},
        }))
        .await;
    // A message to any number of the pool carries the service's SID.
    for (sid, to) in [
        ("SM0000000000000000000000000000000d", "+34910000077"),
        ("SM0000000000000000000000000000000e", "+34910000078"),
    ] {
        let params = [
            ("AccountSid", ACCOUNT_SID),
            ("Body", "hola"),
            ("From", ANA),
            ("MessageSid", sid),
            ("MessagingServiceSid", service),
            ("SmsStatus", "received"),
            ("To", to),
        ];
        assert_eq!(
            app.twilio_hook(&hook, AUTH_TOKEN, &params).await.status(),
            StatusCode::OK
        );
    }
    // Another service's message is not this channel's.
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "hola"),
        ("From", ANA),
        ("MessageSid", "SM0000000000000000000000000000000f"),
        ("MessagingServiceSid", "MG9999999999999999999999999999999f"),
        ("SmsStatus", "received"),
        ("To", "+34910000079"),
    ];
    let response = app.twilio_hook(&hook, AUTH_TOKEN, &params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let list = conversations(&app).await;
    assert_eq!(list.len(), 1);
    let conversation = list[0]["id"].as_str().unwrap();
    let thread = json_of(&app, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 2);
    // Replies go out through the service, which picks the number.
    assert_eq!(
        reply(&app, conversation, json!({"content": "Gracias"}))
            .await
            .status(),
        StatusCode::CREATED
    );
    app.step_workers().await;
    let sent = peer.sent();
    assert_eq!(sent[0].form["MessagingServiceSid"], service);
    assert!(!sent[0].form.contains_key("From"));
}

async fn whatsapp_phone_variants_are_one_customer(app: TestApp) {
    // Brazil's ninth digit, Mexico's 1 and Argentina's 9: the customer registered in
    // the store with one form writes on WhatsApp with the other.
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_whatsapp", SHOP_WHATSAPP, &peer)
        .await;
    let cases = [
        (
            "+55 11 98765-4321",
            "whatsapp:+551187654321",
            "551187654321",
        ),
        (
            "+52 55 1234 5678",
            "whatsapp:+5215512345678",
            "5215512345678",
        ),
        (
            "+54 11 1234-5678",
            "whatsapp:+5491112345678",
            "5491112345678",
        ),
    ];
    for (index, (registered, from, wa_id)) in cases.into_iter().enumerate() {
        let response = app
            .post_json(
                "/api/v1/customers",
                &app.admin_key,
                &json!({"identifiers": [{"type": "phone", "value": registered}], "channel": "pos"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let registered: Value = response.json().await.unwrap();
        let sid = format!("SM{index:032}");
        let params = [
            ("AccountSid", ACCOUNT_SID),
            ("Body", "hola"),
            ("From", from),
            ("MessageSid", sid.as_str()),
            ("SmsStatus", "received"),
            ("To", "whatsapp:+34910000002"),
            ("WaId", wa_id),
        ];
        assert_eq!(
            app.twilio_hook(&hook, AUTH_TOKEN, &params).await.status(),
            StatusCode::OK
        );
        let by_wa_id = app.lookup("whatsapp", wa_id).await.expect("linked");
        assert_eq!(by_wa_id["id"], registered["id"], "{from}");
    }
    assert_eq!(conversations(&app).await.len(), 3);
}

async fn threads_can_be_kept_per_channel(app: TestApp) {
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/threading",
            Some(&app.admin_key),
        )
        .json(&json!({"mode": "per_channel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let shown: Value = app
        .get("/api/v1/threading", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["mode"], "per_channel");
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/threading",
            Some(&app.admin_key),
        )
        .json(&json!({"mode": "sometimes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let peer = TwilioPeer::start().await;
    let (sms_channel, sms_hook) = app.twilio_channel("twilio_sms", SHOP_SMS, &peer).await;
    let (wa_channel, wa_hook) = app
        .twilio_channel("twilio_whatsapp", SHOP_WHATSAPP, &peer)
        .await;
    assert_eq!(
        app.twilio_hook(
            &sms_hook,
            AUTH_TOKEN,
            &sms("SM60000000000000000000000000000001", ANA, "por SMS")
        )
        .await
        .status(),
        StatusCode::OK
    );
    let from = format!("whatsapp:{ANA}");
    let wa = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "por WhatsApp"),
        ("From", from.as_str()),
        ("MessageSid", "SM60000000000000000000000000000002"),
        ("SmsStatus", "received"),
        ("To", "whatsapp:+34910000002"),
    ];
    assert_eq!(
        app.twilio_hook(&wa_hook, AUTH_TOKEN, &wa).await.status(),
        StatusCode::OK
    );
    let list = conversations(&app).await;
    assert_eq!(list.len(), 2, "one thread per channel: {list:?}");
    let channels: Vec<&str> = list
        .iter()
        .map(|c| c["last_channel_id"].as_str().unwrap())
        .collect();
    assert!(channels.contains(&sms_channel.as_str()) && channels.contains(&wa_channel.as_str()));
    assert_eq!(
        list[0]["customer_id"], list[1]["customer_id"],
        "still one customer"
    );
    // The next SMS joins the SMS thread.
    assert_eq!(
        app.twilio_hook(
            &sms_hook,
            AUTH_TOKEN,
            &sms("SM60000000000000000000000000000003", ANA, "otra vez")
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(conversations(&app).await.len(), 2);
}

/// A burst of webhooks at once, some delivered twice at the same moment: each message
/// is stored once, every sender has one customer and one conversation, each is
/// answered 200 and reaches the live stream once. Inbound messages arriving together
/// are stored in shared transactions; a message delivered twice within one of them,
/// or in two at once, must not be stored twice nor fail the others.
async fn messages_arriving_together_are_each_stored_once(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_channel, hook) = app.twilio_channel("twilio_sms", SHOP_SMS, &peer).await;
    let mut live = LiveClient::connect(&app, &app.base, &app.admin_key).await;
    const SENDERS: usize = 12;
    const EACH: usize = 4;
    let mut forms = Vec::new();
    for sender in 0..SENDERS {
        for n in 0..EACH {
            let sid = format!("SM{:032}", sender * 100 + n);
            let from = format!("+3461000{sender:04}");
            let body = format!("message {n} from {sender}");
            forms.push((sid, from, body));
        }
    }
    // Every third message is delivered twice, both at once.
    let twice: Vec<_> = forms.iter().step_by(3).cloned().collect();
    forms.extend(twice);
    // Signed here rather than by the `twilio` package (one process each): the
    // signatures are not what this test is about, and other tests check them.
    let requests = forms.iter().map(|(sid, from, body)| {
        let params = sms(sid, from, body);
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signature = hilo_domain::conversations::twilio::signature(AUTH_TOKEN, &hook, &owned);
        let app = &app;
        let hook = &hook;
        async move {
            app.twilio_hook_signed(hook, Some(&signature), &params)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );

    let list = json_of(&app, "/api/v1/conversations?limit=100").await["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        list.len(),
        SENDERS,
        "one conversation per sender: {list:#?}"
    );
    let mut customers = std::collections::BTreeSet::new();
    for conversation in &list {
        assert!(customers.insert(conversation["customer_id"].to_string()));
        let id = conversation["id"].as_str().unwrap();
        let thread = json_of(&app, &format!("/api/v1/conversations/{id}")).await;
        let messages = thread["messages"].as_array().unwrap();
        assert_eq!(messages.len(), EACH, "{thread:#}");
        let mut contents: Vec<&str> = messages
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        contents.sort_unstable();
        contents.dedup();
        assert_eq!(contents.len(), EACH, "no message twice: {contents:?}");
    }
    for sender in 0..SENDERS {
        assert!(
            app.lookup("phone", &format!("+3461000{sender:04}"))
                .await
                .is_some()
        );
    }

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..SENDERS * EACH {
        let event = live.next("message.created").await;
        assert!(
            seen.insert(event["message"]["id"].to_string()),
            "each message once on the live stream: {event}"
        );
    }
}
