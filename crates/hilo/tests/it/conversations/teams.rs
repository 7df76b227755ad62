//! Teams: admins keep them and their members over `/api/v1/teams`; a conversation can
//! only be given to a team that exists; auto-assignment gives a team's conversations to
//! its members only; deleting a team takes it off its conversations.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::assignment::sms;
use crate::support::twilio::TwilioPeer;
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(
    admins_keep_teams_and_agents_give_conversations_to_them,
    a_teams_conversation_goes_to_its_members,
);

const PASSWORD: &str = "a long password 1";

async fn put_team(app: &TestApp, key: &str, name: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/v1/teams/{}", urlencoding(name));
    app.request(Method::PUT, &path, Some(key))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
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

/// The conversations, oldest first: (id, assignee, team).
async fn conversations(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    let body: Value = app
        .get("/api/v1/conversations?status=open", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    let mut list: Vec<_> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["assignee_id"].as_str().map(str::to_owned),
                c["team"].as_str().map(str::to_owned),
            )
        })
        .collect();
    list.reverse();
    list
}

async fn admins_keep_teams_and_agents_give_conversations_to_them(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    sms(&app, &hook, 1).await;
    let conversation = conversations(&app).await[0].0.clone();
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("ines@shop.example", "marketer", PASSWORD)
        .await;
    let lucia = app.user_id("lucia@shop.example").await;
    let ines = app.user_id("ines@shop.example").await;

    // A team must exist before a conversation is given to it.
    let response = patch(&app, &conversation, json!({"team": "Tienda Sol"})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await.1.as_deref(), Some("team"));

    let response = put_team(
        &app,
        &app.admin_key,
        " Tienda Sol ",
        json!({"description": "La tienda de Sol", "members": [lucia, lucia]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let team: Value = response.json().await.unwrap();
    assert_eq!(team["name"], "Tienda Sol");
    assert_eq!(team["members"], json!([lucia]));
    // Written again: replaced, not made.
    let response = put_team(
        &app,
        &app.admin_key,
        "Tienda Sol",
        json!({"members": [lucia]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let team: Value = response.json().await.unwrap();
    assert_eq!(team["description"], "");

    // Only agents and admins are members; only admins write teams; agents read them.
    let response = put_team(&app, &app.admin_key, "Soporte", json!({"members": [ines]})).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(response).await.0, "conflict");
    let response = put_team(
        &app,
        &app.admin_key,
        "Soporte",
        json!({"members": ["nope"]}),
    )
    .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("members"));
    let response = put_team(&app, &app.admin_key, "\u{7}", json!({})).await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("name"));
    let agent_key = app.key_for("agent").await;
    let response = put_team(&app, &agent_key, "Soporte", json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let list: Value = app
        .get("/api/v1/teams", &agent_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["name"], "Tienda Sol");
    let response = app.get("/api/v1/teams/Tienda%20Sol", &agent_key).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get("/api/v1/teams/Nadie", &agent_key).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .request(Method::GET, "/api/v1/teams", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = patch(&app, &conversation, json!({"team": "Tienda Sol"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = app
        .get("/api/v1/conversations?team=Tienda%20Sol", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"][0]["id"], conversation.as_str());

    // Deleting the team takes it off its conversations.
    let response = app
        .request(
            Method::DELETE,
            "/api/v1/teams/Tienda%20Sol",
            Some(&agent_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .request(
            Method::DELETE,
            "/api/v1/teams/Tienda%20Sol",
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(conversations(&app).await[0].2, None);
    let response = app
        .request(
            Method::DELETE,
            "/api/v1/teams/Tienda%20Sol",
            Some(&app.admin_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn set_online(app: &TestApp, id: &str) {
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            Some(&app.admin_key),
        )
        .json(&json!({"availability": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.step_workers().await;
}

async fn a_teams_conversation_goes_to_its_members(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    let lucia = app.user_id("lucia@shop.example").await;
    let marcos = app.user_id("marcos@shop.example").await;
    let response = app
        .request(Method::PUT, "/api/v1/assignment", Some(&app.admin_key))
        .json(&json!({"enabled": true, "strategy": "least_loaded", "default_capacity": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = put_team(
        &app,
        &app.admin_key,
        "Tienda Sol",
        json!({"members": [marcos]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Nobody is online: both wait; the first is given to the team.
    sms(&app, &hook, 1).await;
    sms(&app, &hook, 2).await;
    app.step_workers().await;
    let waiting = conversations(&app).await;
    let response = patch(&app, &waiting[0].0, json!({"team": "Tienda Sol"})).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Lucía comes online: she gets the other one, never the team's.
    set_online(&app, &lucia).await;
    let now = conversations(&app).await;
    assert_eq!(
        now[0].1, None,
        "the team's conversation waits for its members"
    );
    assert_eq!(now[1].1.as_deref(), Some(lucia.as_str()));

    // Marcos, a member, comes online and gets it.
    set_online(&app, &marcos).await;
    let now = conversations(&app).await;
    assert_eq!(now[0].1.as_deref(), Some(marcos.as_str()));
    assert_eq!(now[0].2.as_deref(), Some("Tienda Sol"));
}
