//! Auto-assignment: waiting conversations go to the agents online with room, oldest
//! first, in turn or to the least loaded; an agent going offline gives theirs back; a
//! bot's hand-off is assigned; each assignment is in the audit trail.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::platform::console::console_session;
use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    waiting_conversations_go_to_agents_online_in_turn_and_come_back_when_they_leave,
    the_least_loaded_agent_gets_the_next_and_a_bots_handoff_is_assigned,
    agents_set_their_own_availability_and_admins_the_rest,
    queue_runs_at_once_never_fill_an_agent_past_capacity,
);

const PASSWORD: &str = "a long password 1";

/// An SMS from the `n`th customer's number.
pub(super) async fn sms(app: &TestApp, hook: &str, n: u32) {
    let from = format!("+3460000{n:04}");
    let sid = format!("SM{n:032}");
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "hola"),
        ("From", from.as_str()),
        ("MessageSid", sid.as_str()),
        ("To", "+34910000001"),
    ];
    assert_eq!(
        app.twilio_hook(hook, AUTH_TOKEN, &params).await.status(),
        StatusCode::OK
    );
}

/// The agents by email: (id, availability, open conversations).
async fn agents(app: &TestApp) -> Vec<(String, String, String, u64)> {
    let body: Value = app
        .get("/api/v1/agents", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_owned(),
                a["id"].as_str().unwrap().to_owned(),
                a["availability"].as_str().unwrap().to_owned(),
                a["open_conversations"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn agent_id(app: &TestApp, email: &str) -> String {
    agents(app)
        .await
        .into_iter()
        .find(|a| a.0 == email)
        .expect("an agent")
        .1
}

async fn patch_agent(app: &TestApp, key: &str, id: &str, body: Value) -> reqwest::Response {
    app.request(Method::PATCH, &format!("/api/v1/agents/{id}"), Some(key))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn set_assignment(app: &TestApp, strategy: &str, capacity: u32) {
    let response = app
        .request(Method::PUT, "/api/v1/assignment", Some(&app.admin_key))
        .json(&json!({"enabled": true, "strategy": strategy, "default_capacity": capacity}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// The conversations, oldest first, with their assignee.
async fn assignees(app: &TestApp) -> Vec<(String, Option<String>)> {
    let body: Value = app
        .get("/api/v1/conversations?limit=100", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let mut list: Vec<(String, Option<String>)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["assignee_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    list.reverse();
    list
}

async fn waiting_conversations_go_to_agents_online_in_turn_and_come_back_when_they_leave(
    app: TestApp,
) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    for email in [
        "lucia@shop.example",
        "marcos@shop.example",
        "nora@shop.example",
    ] {
        app.create_user(email, "agent", PASSWORD).await;
    }
    let lucia = agent_id(&app, "lucia@shop.example").await;
    let marcos = agent_id(&app, "marcos@shop.example").await;
    let nora = agent_id(&app, "nora@shop.example").await;
    for (id, availability) in [(&lucia, "online"), (&marcos, "online"), (&nora, "busy")] {
        let response = patch_agent(
            &app,
            &app.admin_key,
            id,
            json!({"availability": availability}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Before assignment is on, conversations wait.
    sms(&app, &hook, 1).await;
    app.step_workers().await;
    assert_eq!(assignees(&app).await[0].1, None);

    set_assignment(&app, "round_robin", 2).await;
    for n in 2..=5 {
        sms(&app, &hook, n).await;
    }
    app.step_workers().await;
    let given = assignees(&app).await;
    let owners: Vec<Option<&str>> = given.iter().map(|(_, a)| a.as_deref()).collect();
    // Oldest first, in turn, two each: the fifth waits; Nora is busy.
    assert_eq!(
        owners,
        [
            Some(lucia.as_str()),
            Some(marcos.as_str()),
            Some(lucia.as_str()),
            Some(marcos.as_str()),
            None
        ]
    );
    let events: Value = app
        .get(
            &format!("/api/v1/conversations/{}/events", given[0].0),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let assigned = &events["data"][0];
    assert_eq!(assigned["kind"], "assignee");
    assert_eq!(assigned["actor"], "system");
    assert_eq!(assigned["data"]["to"], lucia.as_str());

    // Lucía resolves one: room for the fifth.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/conversations/{}", given[0].0),
            Some(&app.admin_key),
        )
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.step_workers().await;
    assert_eq!(assignees(&app).await[4].1.as_deref(), Some(lucia.as_str()));

    // Marcos leaves: his conversations go back to the queue, then to whoever has room.
    let response = patch_agent(&app, &app.admin_key, &lucia, json!({"capacity": 5})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = patch_agent(
        &app,
        &app.admin_key,
        &marcos,
        json!({"availability": "offline"}),
    )
    .await;
    let marcos_now: Value = response.json().await.unwrap();
    assert_eq!(marcos_now["open_conversations"], 0);
    app.step_workers().await;
    let given = assignees(&app).await;
    for (_, owner) in &given[1..] {
        assert_eq!(owner.as_deref(), Some(lucia.as_str()));
    }
    let events: Value = app
        .get(
            &format!("/api/v1/conversations/{}/events", given[1].0),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["data"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["went offline"]);
    let list = agents(&app).await;
    let lucia_row = list.iter().find(|a| a.1 == lucia).unwrap();
    assert_eq!((lucia_row.2.as_str(), lucia_row.3), ("online", 4));
}

async fn the_least_loaded_agent_gets_the_next_and_a_bots_handoff_is_assigned(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    let lucia = agent_id(&app, "lucia@shop.example").await;
    let marcos = agent_id(&app, "marcos@shop.example").await;
    patch_agent(
        &app,
        &app.admin_key,
        &lucia,
        json!({"availability": "online"}),
    )
    .await;
    sms(&app, &hook, 1).await;
    sms(&app, &hook, 2).await;
    set_assignment(&app, "least_loaded", 10).await;
    app.step_workers().await;
    // Only Lucía is online: both are hers.
    assert!(
        assignees(&app)
            .await
            .iter()
            .all(|(_, a)| a.as_deref() == Some(lucia.as_str()))
    );
    patch_agent(
        &app,
        &app.admin_key,
        &marcos,
        json!({"availability": "online"}),
    )
    .await;

    // With bots on, a conversation starts with the bot and waits for no agent...
    let response = app
        .request(Method::PUT, "/api/v1/bot", Some(&app.admin_key))
        .json(&json!({"enabled": true, "timeout_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sms(&app, &hook, 3).await;
    app.step_workers().await;
    let third = assignees(&app).await[2].clone();
    assert_eq!(third.1, None);
    // ...until the bot hands it off: then the least loaded agent, Marcos, has it.
    let response = app
        .post_json(
            &format!("/api/v1/conversations/{}/handoff", third.0),
            &app.admin_key,
            &json!({"reason": "pide una persona"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.step_workers().await;
    assert_eq!(assignees(&app).await[2].1.as_deref(), Some(marcos.as_str()));
}

async fn agents_set_their_own_availability_and_admins_the_rest(app: TestApp) {
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("mara@shop.example", "marketer", PASSWORD)
        .await;
    let lucia = agent_id(&app, "lucia@shop.example").await;
    let marcos = agent_id(&app, "marcos@shop.example").await;
    // Marketers do not answer customers: not listed.
    assert!(
        agents(&app)
            .await
            .iter()
            .all(|a| a.0 != "mara@shop.example")
    );
    let (session, csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let as_lucia = |id: &str, body: Value| {
        app.request(Method::PATCH, &format!("/api/v1/agents/{id}"), None)
            .header("cookie", format!("hilo_session={session}"))
            .header("x-csrf-token", csrf.clone())
            .json(&body)
            .send()
    };
    let own = as_lucia(&lucia, json!({"availability": "online"}))
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["availability"], "online");
    // Not someone else's, and not her own capacity.
    let other = as_lucia(&marcos, json!({"availability": "online"}))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let capacity = as_lucia(&lucia, json!({"capacity": 50})).await.unwrap();
    assert_eq!(capacity.status(), StatusCode::FORBIDDEN);
    // An agent's API key is nobody's: it sets no one's availability.
    let key = app.key_for("agent").await;
    let response = patch_agent(&app, &key, &lucia, json!({"availability": "busy"})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let marketer = app.key_for("marketer").await;
    assert_eq!(
        app.get("/api/v1/agents", &marketer).await.status(),
        StatusCode::FORBIDDEN
    );
    // Bad values name the field.
    let response = patch_agent(
        &app,
        &app.admin_key,
        &lucia,
        json!({"availability": "away"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await.1.as_deref(), Some("availability"));
    let response = patch_agent(&app, &app.admin_key, &lucia, json!({"capacity": 0})).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("capacity"));
    // A capacity set goes back to the default with null.
    let response = patch_agent(&app, &app.admin_key, &lucia, json!({"capacity": 3})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["capacity"], 3);
    let response = patch_agent(&app, &app.admin_key, &lucia, json!({"capacity": null})).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["capacity"],
        Value::Null
    );
    // A user who answers nobody is not found.
    let mara = "0190c5d2-0000-7000-8000-000000000000";
    let response = patch_agent(
        &app,
        &app.admin_key,
        mara,
        json!({"availability": "online"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .request(Method::PUT, "/api/v1/assignment", Some(&app.admin_key))
        .json(&json!({"enabled": true, "strategy": "random", "default_capacity": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1.as_deref(), Some("strategy"));
    let settings: Value = app
        .get("/api/v1/assignment", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings,
        json!({"enabled": false, "strategy": "round_robin", "default_capacity": 10})
    );
}

async fn queue_runs_at_once_never_fill_an_agent_past_capacity(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    for n in 1..=12 {
        sms(&app, &hook, n).await;
    }
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    for email in ["lucia@shop.example", "marcos@shop.example"] {
        let id = agent_id(&app, email).await;
        patch_agent(&app, &app.admin_key, &id, json!({"availability": "online"})).await;
    }
    let response = app
        .request(Method::PUT, "/api/v1/assignment", Some(&app.admin_key))
        .json(&json!({"enabled": true, "strategy": "least_loaded", "default_capacity": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Eight runs of the queue at once (on PostgreSQL, half on another node).
    let second = app.second_node().await;
    let mut runs = Vec::new();
    for n in 0..8 {
        let hilo = match (&second, n % 2) {
            (Some((_, server, _)), 1) => server.hilo.clone(),
            _ => app.hilo().clone(),
        };
        runs.push(tokio::spawn(async move {
            hilo.conversations()
                .assign_waiting()
                .await
                .expect("queue runs")
        }));
    }
    let mut given = 0;
    for run in runs {
        given += run.await.unwrap();
    }
    assert_eq!(given, 6);
    let loads: Vec<u64> = agents(&app).await.iter().map(|a| a.3).collect();
    assert_eq!(loads, [3, 3]);
}
