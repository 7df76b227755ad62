//! Teams and search in the console: admins make a team with its members and change
//! them; agents give a conversation to a team from its page, and find conversations by
//! team and by the words of their messages.

use reqwest::StatusCode;
use serde_json::Value;

use super::{PASSWORD, message};
use crate::platform::console::console_session;
use crate::support::twilio::{AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(admins_keep_teams_and_agents_find_conversations_by_team_and_words);

async fn admins_keep_teams_and_agents_find_conversations_by_team_and_words(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    app.create_user("marcos@shop.example", "agent", PASSWORD)
        .await;
    let lucia = app.user_id("lucia@shop.example").await;
    let marcos = app.user_id("marcos@shop.example").await;
    let (agent, agent_csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;

    // Agents may not keep teams.
    assert_eq!(
        super::page(&app, &agent, "/console/admin/teams")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let team = [
        ("name", "Tienda Sol"),
        ("description", "Mostrador de Sol"),
        ("members", lucia.as_str()),
        ("members", marcos.as_str()),
    ];
    let mut refused = team.to_vec();
    refused.push(("csrf", &agent_csrf));
    let answer = super::send(&app, Some(&agent), "/console/admin/teams", &refused).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // Nor may a form without the session's token.
    let answer = super::send(&app, Some(&admin), "/console/admin/teams", &team).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);

    let mut good = team.to_vec();
    good.push(("csrf", &csrf));
    let made = super::send(&app, Some(&admin), "/console/admin/teams", &good).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let listed: Value = app
        .get("/api/v1/teams", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0]["name"], "Tienda Sol");
    assert_eq!(
        listed["data"][0]["members"].as_array().map(Vec::len),
        Some(2)
    );
    // Marcos is taken off: the boxes left unticked are the members no longer.
    let change = [
        ("csrf", csrf.as_str()),
        ("name", "Tienda Sol"),
        ("description", "Mostrador de Sol"),
        ("members", lucia.as_str()),
    ];
    let changed = super::send(&app, Some(&admin), "/console/admin/teams", &change).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let html = super::page(&app, &admin, "/console/admin/teams")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Tienda Sol") && html.contains("Mostrador de Sol"));
    assert_eq!(html.matches(" checked").count(), 1, "{html}");
    let bad = [("csrf", csrf.as_str()), ("name", " ")];
    let answer = super::send(&app, Some(&admin), "/console/admin/teams", &bad).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text().await.expect("html").contains("name"));

    // Two conversations; one is given to the team from its page.
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    for (from, sid, body) in [
        (
            "+34600111222",
            "SM00000000000000000000000000000041",
            "¿Tenéis las botas <b>marrones</b> en el 40?",
        ),
        (
            "+34600333444",
            "SM00000000000000000000000000000042",
            "Quiero devolver un abrigo",
        ),
    ] {
        let form = message(from, "+34910000001", sid, body);
        assert_eq!(
            app.twilio_hook(&hook, AUTH_TOKEN, &form).await.status(),
            StatusCode::OK
        );
    }
    let all: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let boots = all["data"][1]["id"].as_str().expect("id").to_owned();
    let page = super::page(&app, &agent, &format!("/console/conversations/{boots}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<option value=\"Tienda Sol\">Tienda Sol</option>"),
        "{page}"
    );
    let work = [("csrf", agent_csrf.as_str()), ("team", "Tienda Sol")];
    let saved = super::send(
        &app,
        Some(&agent),
        &format!("/console/conversations/{boots}/work"),
        &work,
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let thread: Value = app
        .get(&format!("/api/v1/conversations/{boots}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(thread["team"], "Tienda Sol");

    // The inbox by team, and by the words of the messages.
    let rows = |html: &str| html.matches("<li class=\"conversation ").count();
    for (query, expected) in [
        ("/console/inbox?team=Tienda+Sol", 1),
        ("/console/inbox?q=botas+marr", 1),
        ("/console/inbox?q=abrigo", 1),
        ("/console/inbox?q=%3Cb%3E", 1),
        ("/console/inbox?q=zapatos", 0),
    ] {
        let html = super::page(&app, &agent, query)
            .await
            .text()
            .await
            .expect("html");
        assert_eq!(rows(&html), expected, "{query}: {html}");
    }
    let found = super::page(&app, &agent, "/console/inbox?q=botas")
        .await
        .text()
        .await
        .expect("html");
    assert!(found.contains(&format!("/console/conversations/{boots}")));
    assert!(
        found.contains("value=\"botas\""),
        "the search box keeps the words"
    );

    // Deleting the team takes it off its conversation.
    let delete = [("csrf", csrf.as_str()), ("name", "Tienda Sol")];
    let deleted = super::send(&app, Some(&admin), "/console/admin/teams/delete", &delete).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let thread: Value = app
        .get(&format!("/api/v1/conversations/{boots}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(thread["team"], Value::Null);
}
