//! Console accounts: an admin invites a user with a one-time link that sets the
//! password, changes roles (never leaving no admin); a user changes their password and
//! language.

use reqwest::StatusCode;

use super::{PASSWORD, page, send};
use crate::platform::console::console_session;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    admins_invite_users_and_change_roles,
    users_change_their_password_and_language,
    agents_set_their_availability,
    a_label_change_leaves_a_bot_conversation_with_the_bot
);

async fn admins_invite_users_and_change_roles(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (agent, agent_csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    assert_eq!(
        page(&app, &agent, "/console/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    let invite = [
        ("email", "nuevo@shop.example"),
        ("name", "Nuevo"),
        ("role", "agent"),
    ];
    let mut refused = invite.to_vec();
    refused.push(("csrf", &agent_csrf));
    assert_eq!(
        send(&app, Some(&agent), "/console/admin/users", &refused)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    let users = page(&app, &admin, "/console/admin/users").await;
    assert_eq!(users.status(), StatusCode::OK);
    assert!(
        users
            .text()
            .await
            .expect("html")
            .contains("lucia@shop.example")
    );
    // Without the form's token nothing is made.
    assert_eq!(
        send(&app, Some(&admin), "/console/admin/users", &invite)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mut sent = invite.to_vec();
    sent.push(("csrf", &csrf));
    let made = send(&app, Some(&admin), "/console/admin/users", &sent).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let html = made.text().await.expect("html");
    let start = html
        .find("/console/invitations/")
        .expect("the link, shown once");
    let link = html[start..].split('"').next().expect("link").to_owned();
    assert!(
        !page(&app, &admin, "/console/admin/users")
            .await
            .text()
            .await
            .expect("html")
            .contains(&link),
        "shown only once"
    );

    // The invitee sets a password with the link, once; no session is needed.
    let form = app
        .client
        .get(app.url(&link))
        .send()
        .await
        .expect("request");
    assert_eq!(form.status(), StatusCode::OK);
    assert!(
        form.text()
            .await
            .expect("html")
            .contains("nuevo@shop.example")
    );
    let chosen = "a brand new password";
    let differ = choose(&app, &link, chosen, "another one entirely").await;
    assert_eq!(differ, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        choose(&app, &link, "short", "short").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        choose(&app, &link, chosen, chosen).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        choose(&app, &link, chosen, chosen).await,
        StatusCode::NOT_FOUND,
        "a link works once"
    );
    let (newcomer, _) = console_session(&app, "nuevo@shop.example", "a brand new password").await;
    assert_eq!(
        page(&app, &newcomer, "/console/inbox").await.status(),
        StatusCode::OK
    );

    // Roles: the newcomer becomes a marketer and loses the inbox; the last admin stays one.
    let html = page(&app, &admin, "/console/admin/users")
        .await
        .text()
        .await
        .expect("html");
    let id_of = |email: &str| {
        let row = html.find(email).expect("listed");
        let marker = "/console/admin/users/";
        let start = html[row..].find(marker).expect("role form") + row + marker.len();
        html[start..].split('/').next().expect("id").to_owned()
    };
    let newcomer_id = id_of("nuevo@shop.example");
    let admin_id = id_of("admin@shop.example");
    let changed = send(
        &app,
        Some(&admin),
        &format!("/console/admin/users/{newcomer_id}/role"),
        &[("csrf", &csrf), ("role", "marketer")],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page(&app, &newcomer, "/console/inbox").await.status(),
        StatusCode::FORBIDDEN
    );
    let last = send(
        &app,
        Some(&admin),
        &format!("/console/admin/users/{admin_id}/role"),
        &[("csrf", &csrf), ("role", "agent")],
    )
    .await;
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert_eq!(
        page(&app, &admin, "/console/admin/users").await.status(),
        StatusCode::OK,
        "still an admin"
    );
}

async fn users_change_their_password_and_language(app: TestApp) {
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (session, csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let home = page(&app, &session, "/console")
        .await
        .text()
        .await
        .expect("html");
    assert!(home.contains("Inbox"), "English, as the browser asks");

    // Spanish, chosen in the account, wins over the browser's English.
    let chosen = send(
        &app,
        Some(&session),
        "/console/account",
        &[("csrf", &csrf), ("change", "language"), ("language", "es")],
    )
    .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let home = page(&app, &session, "/console")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        home.contains("Bandeja") && home.contains("lang=\"es\""),
        "{home}"
    );
    let bad = send(
        &app,
        Some(&session),
        "/console/account",
        &[("csrf", &csrf), ("change", "language"), ("language", "fr")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The password: the current one must be right; then every session ends.
    let wrong = send(
        &app,
        Some(&session),
        "/console/account",
        &[
            ("csrf", &csrf),
            ("change", "password"),
            ("current_password", "not the password"),
            ("new_password", "a better password 2026"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let forged = send(
        &app,
        Some(&session),
        "/console/account",
        &[
            ("change", "password"),
            ("current_password", PASSWORD),
            ("new_password", "a better password 2026"),
        ],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let changed = send(
        &app,
        Some(&session),
        "/console/account",
        &[
            ("csrf", &csrf),
            ("change", "password"),
            ("current_password", PASSWORD),
            ("new_password", "a better password 2026"),
        ],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page(&app, &session, "/console").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let (session, _) = console_session(&app, "lucia@shop.example", "a better password 2026").await;
    assert!(
        page(&app, &session, "/console")
            .await
            .text()
            .await
            .expect("html")
            .contains("Bandeja"),
        "the language is the user's"
    );
}

/// Sends an invitation's form; the status it answers.
async fn choose(app: &TestApp, link: &str, password: &str, repeat: &str) -> StatusCode {
    send(
        app,
        None,
        link,
        &[("password", password), ("repeat", repeat)],
    )
    .await
    .status()
}

/// An agent sets their own availability from the inbox; the queue sees it.
async fn agents_set_their_availability(app: TestApp) {
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (session, csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let inbox = page(&app, &session, "/console/inbox")
        .await
        .text()
        .await
        .expect("html");
    assert!(inbox.contains("name=\"availability\""), "{inbox}");
    for (availability, expected) in [
        ("busy", StatusCode::SEE_OTHER),
        ("nonsense", StatusCode::NOT_FOUND),
    ] {
        let sent = send(
            &app,
            Some(&session),
            "/console/inbox/availability",
            &[("csrf", &csrf), ("availability", availability)],
        )
        .await;
        assert_eq!(sent.status(), expected, "{availability}");
    }
    let agents: serde_json::Value = app
        .get("/api/v1/agents", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let me = agents["data"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["email"] == "lucia@shop.example"))
        .expect("listed")
        .clone();
    assert_eq!(me["availability"], "busy");
    let forged = send(
        &app,
        Some(&session),
        "/console/inbox/availability",
        &[("availability", "offline")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

/// The conversation form sends its status with every change: a conversation with the
/// bot offers "bot" as its status, so changing its labels leaves it with the bot.
async fn a_label_change_leaves_a_bot_conversation_with_the_bot(app: TestApp) {
    use crate::support::twilio::{AUTH_TOKEN, TwilioPeer};
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let bot = app
        .request(reqwest::Method::PUT, "/api/v1/bot", Some(&app.admin_key))
        .json(&serde_json::json!({"enabled": true, "timeout_seconds": 600}))
        .send()
        .await
        .expect("request");
    assert_eq!(bot.status(), StatusCode::OK);
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let form = super::message(
        "+34600123123",
        "+34910000001",
        "SM00000000000000000000000000000099",
        "Hola",
    );
    assert_eq!(
        app.twilio_hook(&hook, AUTH_TOKEN, &form).await.status(),
        StatusCode::OK
    );
    let conversation = app.conversations_of("phone", "+34600123123").await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (session, csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let path = format!("/console/conversations/{conversation}");
    let html = page(&app, &session, &path)
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("<option value=\"bot\" selected>"), "{html}");
    let sent = send(
        &app,
        Some(&session),
        &format!("{path}/work"),
        &[
            ("csrf", &csrf),
            ("status", "bot"),
            ("assignee", ""),
            ("labels", "talla"),
        ],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let shown: serde_json::Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["status"], "bot");
    assert_eq!(shown["labels"][0], "talla");
}
