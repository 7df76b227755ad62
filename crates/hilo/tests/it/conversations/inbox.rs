//! Working the inbox over the API: status, snooze, assignment, teams, labels, the
//! list's filters and the audit trail.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    agents_assign_label_snooze_and_resolve_with_an_audit_trail,
    the_inbox_is_for_the_roles_that_answer_customers,
    conversations_are_found_by_the_words_of_their_messages,
    a_rare_word_is_found_beyond_the_newest_conversations,
);

async fn sms_from(app: &TestApp, hook: &str, sid: &str, from: &str) {
    sms_saying(app, hook, sid, from, "hola").await;
}

async fn sms_saying(app: &TestApp, hook: &str, sid: &str, from: &str, body: &str) {
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

async fn list(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/conversations{query}"), &app.admin_key)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

async fn patch(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.request(
        Method::PATCH,
        &format!("/api/v1/conversations/{id}"),
        Some(&app.admin_key),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn agents_assign_label_snooze_and_resolve_with_an_audit_trail(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    sms_from(
        &app,
        &hook,
        "SM10000000000000000000000000000001",
        "+34600111222",
    )
    .await;
    sms_from(
        &app,
        &hook,
        "SM10000000000000000000000000000002",
        "+34600333444",
    )
    .await;
    let all = list(&app, "").await;
    assert_eq!(all.len(), 2);
    // Most recent activity first.
    let ana = app.lookup("phone", "+34600111222").await.unwrap();
    assert_eq!(all[1]["customer_id"], ana["id"]);
    let conversation = all[1]["id"].as_str().unwrap().to_owned();

    app.create_user("lucia@shop.example", "agent", "a long password 1")
        .await;
    let users: Value = app
        .get("/api/v1/users", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let lucia = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "lucia@shop.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .request(
            Method::PUT,
            "/api/v1/teams/Tienda%20Sol",
            Some(&app.admin_key),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = patch(
        &app,
        &conversation,
        json!({"assignee_id": lucia, "team": "Tienda Sol", "labels": ["VIP", "talla"]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["assignee_id"], lucia.as_str());
    assert_eq!(changed["team"], "Tienda Sol");
    assert_eq!(changed["labels"], json!(["talla", "vip"]));

    // The list's filters.
    let ids = |rows: Vec<Value>| {
        rows.iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(list(&app, &format!("?assignee={lucia}")).await),
        std::slice::from_ref(&conversation)
    );
    assert_eq!(
        ids(list(&app, "?label=VIP").await),
        std::slice::from_ref(&conversation)
    );
    assert_eq!(
        ids(list(&app, "?team=Tienda%20Sol").await),
        std::slice::from_ref(&conversation)
    );
    assert_eq!(list(&app, "?unassigned=true").await.len(), 1);
    assert_ne!(
        ids(list(&app, "?unassigned=true").await),
        std::slice::from_ref(&conversation)
    );
    assert_eq!(
        ids(list(
            &app,
            &format!("?customer_id={}", ana["id"].as_str().unwrap())
        )
        .await),
        std::slice::from_ref(&conversation)
    );
    assert!(list(&app, "?label=nadie").await.is_empty());
    assert_eq!(list(&app, "?status=open").await.len(), 2);
    // A page of one, then the next.
    let page: Value = app
        .get("/api/v1/conversations?limit=1", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = app
        .get(
            &format!("/api/v1/conversations?limit=1&cursor={cursor}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["data"][0]["id"], conversation.as_str());
    assert_eq!(next["next_cursor"], Value::Null);

    // Snoozed for an hour; it opens again by itself when the hour is up.
    let until =
        hilo_domain::Timestamp::from_millis(hilo_app::Clock::now(&app.clock).millis() + 3_600_000)
            .to_rfc3339();
    let response = patch(&app, &conversation, json!({"snoozed_until": until})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let snoozed: Value = response.json().await.unwrap();
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(snoozed["snoozed_until"], until.as_str());
    app.step_workers().await;
    assert_eq!(list(&app, "?status=snoozed").await.len(), 1);
    app.clock.advance_millis(3_600_001);
    app.step_workers().await;
    assert_eq!(ids(list(&app, "?status=open").await).len(), 2);

    // Pending, then the customer writes: open again.
    assert_eq!(
        patch(
            &app,
            &conversation,
            json!({"status": "pending", "assignee_id": null})
        )
        .await
        .status(),
        StatusCode::OK
    );
    sms_from(
        &app,
        &hook,
        "SM10000000000000000000000000000003",
        "+34600111222",
    )
    .await;
    let thread: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(thread["status"], "open");
    assert_eq!(thread["assignee_id"], Value::Null);

    // Resolved: the customer's next message opens a new conversation.
    assert_eq!(
        patch(&app, &conversation, json!({"status": "resolved"}))
            .await
            .status(),
        StatusCode::OK
    );
    sms_from(
        &app,
        &hook,
        "SM10000000000000000000000000000004",
        "+34600111222",
    )
    .await;
    let mine = list(
        &app,
        &format!("?customer_id={}", ana["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["status"], "open");
    assert_eq!(mine[1]["status"], "resolved");

    // Who did what, in order.
    let events: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}/events"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let trail: Vec<(String, String)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let kinds: Vec<&str> = trail.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "assignee", "team", "labels", "status", "status", "status", "assignee", "status"
        ]
    );
    assert!(trail[0].1.starts_with("api_key:"));
    assert_eq!(trail[4].1, "system", "the snooze ended by itself");
    assert_eq!(
        events["data"][4]["data"],
        json!({"from": "snoozed", "to": "open", "snoozed_until": null})
    );

    // Bad changes name their field.
    for (body, field) in [
        (json!({"status": "snoozed"}), "snoozed_until"),
        (
            json!({"snoozed_until": "2020-01-01T00:00:00Z"}),
            "snoozed_until",
        ),
        (json!({"status": "closed"}), "status"),
        (
            json!({"assignee_id": "0190f000-0000-7000-8000-000000000000"}),
            "assignee_id",
        ),
        (json!({"labels": ["no spaces please"]}), "labels[0]"),
        (json!({"team": ""}), "team"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let response = patch(&app, &conversation, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(response).await.1.as_deref(), Some(field), "{body}");
    }
    let response = patch(
        &app,
        "0190f000-0000-7000-8000-000000000000",
        json!({"status": "open"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn the_inbox_is_for_the_roles_that_answer_customers(app: TestApp) {
    let agent = app.key_for("agent").await;
    assert_eq!(
        app.get("/api/v1/conversations", &agent).await.status(),
        StatusCode::OK
    );
    for role in ["marketer", "store", "read_only"] {
        let key = app.key_for(role).await;
        assert_eq!(
            app.get("/api/v1/conversations", &key).await.status(),
            StatusCode::FORBIDDEN,
            "{role}"
        );
        let response = app
            .request(
                Method::PATCH,
                "/api/v1/conversations/0190f000-0000-7000-8000-000000000000",
                Some(&key),
            )
            .json(&json!({"bad": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        let response = app
            .post_json(
                "/api/v1/conversations/0190f000-0000-7000-8000-000000000000/messages",
                &key,
                &json!({}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let response = app
        .request(Method::GET, "/api/v1/conversations", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    for bad in [
        "?status=closed",
        "?assignee=nobody",
        "?unassigned=maybe",
        "?channel_id=x",
        "?customer_id=1",
        "?cursor=garbage",
    ] {
        let response = app
            .get(&format!("/api/v1/conversations{bad}"), &agent)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn conversations_are_found_by_the_words_of_their_messages(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    sms_saying(
        &app,
        &hook,
        "SM20000000000000000000000000000001",
        "+34600111222",
        "¿Dónde está mi pedido 4521? Las zapatillas rojas no llegan",
    )
    .await;
    sms_saying(
        &app,
        &hook,
        "SM20000000000000000000000000000002",
        "+34600333444",
        "Quiero cambiar la talla de las zapatillas",
    )
    .await;
    let ana = app.lookup("phone", "+34600111222").await.unwrap();
    let customer_of = |rows: Vec<Value>| {
        rows.iter()
            .map(|c| c["customer_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Every word, in any case, each as a prefix; symbols are not syntax.
    assert_eq!(list(&app, "?q=zapatillas").await.len(), 2);
    assert_eq!(
        customer_of(list(&app, "?q=PEDIDO%204521").await),
        [ana["id"].as_str().unwrap()]
    );
    assert_eq!(
        customer_of(list(&app, "?q=zapa%20roj").await),
        [ana["id"].as_str().unwrap()]
    );
    // Accents count for nothing, either way.
    assert_eq!(list(&app, "?q=donde%20esta").await.len(), 1);
    assert_eq!(list(&app, "?q=D%C3%93NDE").await.len(), 1);
    assert_eq!(list(&app, "?q=t%C3%A1lla").await.len(), 1);
    assert_eq!(list(&app, "?q=rojas%22%20%2A%28").await.len(), 1);
    assert_eq!(list(&app, "?q=talla%20rojas").await.len(), 0);
    assert_eq!(list(&app, "?q=zapatillas&status=resolved").await.len(), 0);

    // An agent's reply and a private note are found too.
    let conversation = list(&app, "?q=talla").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &app.admin_key,
            &json!({"content": "Nota: cliente frecuente", "private": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        list(&app, "?q=frecuente").await[0]["id"],
        conversation.as_str()
    );

    // Punctuation alone searches for nothing: the plain list.
    let plain = list(&app, "").await.len();
    assert!(plain > 0);
    assert_eq!(list(&app, "?q=%2A%2A%2A").await.len(), plain);
    for query in ["?q=", &format!("?q={}", "x".repeat(201))] {
        let response = app
            .get(&format!("/api/v1/conversations{query}"), &app.admin_key)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(error_of(response).await.1.as_deref(), Some("q"));
    }
    let nine = "?q=a%20b%20c%20d%20e%20f%20g%20h%20i";
    let response = app
        .get(&format!("/api/v1/conversations{nine}"), &app.admin_key)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Erased, she is no longer found by her words.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/customers/{}/erase", ana["id"].as_str().unwrap()),
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(list(&app, "?q=rojas").await.len(), 0);
    assert_eq!(list(&app, "?q=zapatillas").await.len(), 1);
}

/// Beyond the newest thousand conversations a search reaches through the full-text
/// index; a word in every message is found among the newest.
async fn a_rare_word_is_found_beyond_the_newest_conversations(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (channel, _) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    app.create_user("lucia@shop.example", "agent", "a long password 1")
        .await;
    let lucia = app.user_id("lucia@shop.example").await;
    // Conversation n says "… de la conversación n: ¿tenéis la talla M en tienda?"; the
    // newest has the highest n.
    app.store()
        .load_sample_inbox(&hilo_store::conversations::SampleInbox {
            customers: 100,
            conversations: 1_200,
            messages_per_conversation: 1,
            channel: channel.parse().unwrap(),
            agents: vec![lucia.parse().unwrap()],
            now: app.hilo().now(),
        })
        .await
        .unwrap();
    // "42" begins 42 (among the oldest) and 420 to 429 (among the newest thousand).
    let found = list(&app, "?q=42&limit=50").await;
    assert_eq!(found.len(), 11);
    assert_eq!(
        found[10]["id"], "01900000-0002-7000-8000-00000000002a",
        "conversation 42, the oldest of them, last"
    );
    let common = list(&app, "?q=talla%20tienda&limit=50").await;
    assert_eq!(common.len(), 50);
    assert_eq!(
        common[0]["id"], "01900000-0002-7000-8000-0000000004af",
        "conversation 1199, the newest, first"
    );
    // The next page goes on where the first ended.
    let body: Value = app
        .get("/api/v1/conversations?q=talla&limit=50", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let next = body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let body: Value = app
        .get(
            &format!("/api/v1/conversations?q=talla&limit=50&cursor={next}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"][0]["id"],
        "01900000-0002-7000-8000-00000000047d"
    );
}
