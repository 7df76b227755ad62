//! Administration of channels from the console: created with the provider's own
//! setting names, credentials never shown back in full, the webhook URL to copy,
//! changed and deleted; other roles get none of it.

use reqwest::StatusCode;
use serde_json::Value;

use super::PASSWORD;
use crate::platform::console::console_session;
use crate::support::{TestApp, form_encode, on_both_engines};

on_both_engines!(
    admins_manage_channels_in_the_console,
    admins_retry_dead_jobs_and_read_webhook_deliveries,
    admins_make_and_revoke_keys,
    admins_manage_canned_replies,
    admins_edit_rules_as_documents
);

const TOKEN: &str = "twilio-secret-auth-token-0123456789";

async fn admins_manage_channels_in_the_console(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let send = |session: String, path: String, form: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.client
            .post(app.url(&path))
            .header("cookie", format!("hilo_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&pairs))
            .send()
    };
    let (agent, agent_csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    let page = super::page(&app, &agent, "/console/admin/channels").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let settings = format!(
        "account_sid = AC0123456789abcdef0123456789abcdef\nauth_token = {TOKEN}\nphone_number = +34910000009"
    );
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("kind", "twilio_sms".to_owned()),
            ("name", "Tienda SMS".to_owned()),
            ("settings", settings.clone()),
        ]
    };
    let refused = send(agent, "/console/admin/channels".into(), form(&agent_csrf))
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    // A line that is not key = value, and settings the provider needs left out.
    for settings in ["no equals sign", ""] {
        let form = vec![
            ("csrf", csrf.clone()),
            ("kind", "twilio_sms".to_owned()),
            ("name", "x".to_owned()),
            ("settings", settings.to_owned()),
        ];
        let refused = send(admin.clone(), "/console/admin/channels".into(), form)
            .await
            .expect("request");
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{settings:?}"
        );
    }
    let made = send(admin.clone(), "/console/admin/channels".into(), form(&csrf))
        .await
        .expect("request");
    assert_eq!(made.status(), StatusCode::CREATED);
    let html = made.text().await.expect("html");
    assert!(
        html.contains("Tienda SMS") && html.contains("/webhooks/twilio/"),
        "the webhook URL to copy"
    );
    assert!(
        !html.contains(TOKEN),
        "credentials are never shown back in full"
    );

    let listed: Value = app
        .get("/api/v1/channels", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let channel = listed["data"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "Tienda SMS"))
        .expect("the channel exists")
        .clone();
    let id = channel["id"].as_str().expect("id").to_owned();

    let renamed = send(
        admin.clone(),
        format!("/console/admin/channels/{id}"),
        vec![
            ("csrf", csrf.clone()),
            ("name", "Tienda Sol".into()),
            ("settings", String::new()),
        ],
    )
    .await
    .expect("request");
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let shown: Value = app
        .get(&format!("/api/v1/channels/{id}"), &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["name"], "Tienda Sol");
    let forged = send(
        admin.clone(),
        format!("/console/admin/channels/{id}/delete"),
        Vec::new(),
    )
    .await
    .expect("request");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let deleted = send(
        admin,
        format!("/console/admin/channels/{id}/delete"),
        vec![("csrf", csrf)],
    )
    .await
    .expect("request");
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/channels/{id}"), &app.admin_key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// Dead jobs are listed with their error and retried from the console; the webhooks'
/// page lists endpoints with their delivery log; neither is open to other roles.
async fn admins_retry_dead_jobs_and_read_webhook_deliveries(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let mut tx = app.store().begin().await.expect("begin");
    crate::platform::jobs::enqueue(&mut tx, &app, None).await;
    tx.commit().await.expect("commit");
    assert_eq!(
        app.step_workers().await,
        1,
        "the delivery dies: its message is gone"
    );

    let (agent, _) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    for path in ["/console/admin/jobs", "/console/admin/webhooks"] {
        let page = super::page(&app, &agent, path).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{path}");
    }

    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    let read = |path: &'static str| {
        app.client
            .get(app.url(path))
            .header("cookie", format!("hilo_session={admin}"))
            .send()
    };
    let html = read("/console/admin/jobs")
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("webhook.delivery") && html.contains("deleted"),
        "{html}"
    );
    let marker = "/console/admin/jobs/";
    let start = html.find(marker).expect("a retry form") + marker.len();
    let id = html[start..].split('/').next().expect("job id").to_owned();
    let retried = super::send(
        &app,
        Some(&admin),
        &format!("/console/admin/jobs/{id}/retry"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    let pending: Value = app
        .get("/api/v1/jobs?status=pending", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(pending["data"][0]["id"], id.as_str(), "back in the queue");

    let hooks = read("/console/admin/webhooks").await.expect("request");
    assert_eq!(hooks.status(), StatusCode::OK);
    assert!(
        hooks
            .text()
            .await
            .expect("html")
            .contains("POST /api/v1/webhooks")
    );

    // An endpoint's deliveries, as they were answered.
    let receiver = crate::support::receiver::Receiver::start().await;
    let (endpoint, _) = app
        .create_webhook(&receiver.url, &["customer.created"])
        .await;
    let test = app
        .post_json(
            &format!("/api/v1/webhooks/{endpoint}/test"),
            &app.admin_key,
            &serde_json::json!({}),
        )
        .await;
    assert!(test.status().is_success(), "{}", test.status());
    while app.step_workers().await > 0 {}
    let html = read("/console/admin/webhooks")
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(&receiver.url) && html.contains("webhook.test"),
        "{html}"
    );
    assert!(html.contains("<td>200</td>"), "{html}");
}

/// API keys and write keys made from the console work at once and are shown once;
/// revoking a key and deleting a source stop them.
async fn admins_make_and_revoke_keys(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    let make = |form: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, &str)> = form;
        form.push(("csrf", &csrf));
        let body = form_encode(&form);
        app.client
            .post(app.url("/console/admin/keys"))
            .header("cookie", format!("hilo_session={admin}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let secret_of = |html: &str| {
        let marker = "id=\"new-secret\"";
        let at = html.find(marker).expect("the secret, shown once");
        let before = &html[..at];
        let start = before.rfind("value=\"").expect("value") + 7;
        before[start..]
            .split('"')
            .next()
            .expect("secret")
            .to_owned()
    };
    let made = make(vec![
        ("what", "key"),
        ("name", "BI export"),
        ("role", "read_only"),
    ])
    .await
    .expect("request");
    assert_eq!(made.status(), StatusCode::CREATED);
    let key = secret_of(&made.text().await.expect("html"));
    assert_eq!(app.get("/api/v1/me", &key).await.status(), StatusCode::OK);
    let bad = make(vec![("what", "key"), ("name", "x"), ("role", "emperor")])
        .await
        .expect("request");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let made = make(vec![
        ("what", "source"),
        ("name", "Kiosco Sol"),
        ("channel", "kiosk"),
    ])
    .await
    .expect("request");
    assert_eq!(made.status(), StatusCode::CREATED);
    let write_key = secret_of(&made.text().await.expect("html"));
    let event = serde_json::json!({"userId": "u-kiosk", "event": "Viewed", "messageId": "k1"});
    assert_eq!(
        app.collect("/v1/track", &write_key, &event).await.status(),
        200
    );

    let page = super::page(&app, &admin, "/console/admin/keys")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        !page.contains(&key) && !page.contains(&write_key),
        "shown only when made"
    );
    // The action on the row that names it (the tests' own admin key is listed too).
    let action = |name: &str, marker: &str| {
        let row = page.find(name).expect("listed");
        let start = page[row..].find(marker).expect("an action") + row;
        page[start..].split('"').next().expect("action").to_owned()
    };
    for path in [
        action("BI export", "/console/admin/keys/"),
        action("Kiosco Sol", "/console/admin/sources/"),
    ] {
        let done = super::send(&app, Some(&admin), &path, &[("csrf", &csrf)]).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(
        app.get("/api/v1/me", &key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let event = serde_json::json!({"userId": "u-kiosk", "event": "Viewed", "messageId": "k2"});
    assert_eq!(
        app.collect("/v1/track", &write_key, &event).await.status(),
        401
    );
}

/// Canned replies are made and deleted from the console; a bad shortcut is refused
/// with the reason; agents use them but do not manage them.
async fn admins_manage_canned_replies(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    app.create_user("lucia@shop.example", "agent", PASSWORD)
        .await;
    let (agent, agent_csrf) = console_session(&app, "lucia@shop.example", PASSWORD).await;
    assert_eq!(
        super::page(&app, &agent, "/console/admin/canned")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let form = [
        ("shortcut", "/horario"),
        ("content", "Abrimos de 10 a 21 h."),
    ];
    let mut refused = form.to_vec();
    refused.push(("csrf", &agent_csrf));
    assert_eq!(
        super::send(&app, Some(&agent), "/console/admin/canned", &refused)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("shortcut", "no spaces allowed"),
        ("content", "x"),
    ];
    let answer = super::send(&app, Some(&admin), "/console/admin/canned", &bad).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text().await.expect("html").contains("shortcut"));
    let mut good = form.to_vec();
    good.push(("csrf", &csrf));
    let made = super::send(&app, Some(&admin), "/console/admin/canned", &good).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let listed: Value = app
        .get("/api/v1/canned-replies", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0]["shortcut"], "horario");
    let id = listed["data"][0]["id"].as_str().expect("id").to_owned();
    let html = super::page(&app, &admin, "/console/admin/canned")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("/horario") && html.contains("Abrimos de 10 a 21 h."));
    let deleted = super::send(
        &app,
        Some(&admin),
        &format!("/console/admin/canned/{id}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let listed: Value = app
        .get("/api/v1/canned-replies", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(0));
}

/// The rules Hilo works by, edited as their JSON documents: a document that does not
/// hold is refused with the reason and the draft kept; a good one takes effect.
async fn admins_edit_rules_as_documents(app: TestApp) {
    app.create_user("admin@shop.example", "admin", PASSWORD)
        .await;
    let (admin, csrf) = console_session(&app, "admin@shop.example", PASSWORD).await;
    let page = super::page(&app, &admin, "/console/admin/settings").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("default_limit") && html.contains("round_robin"),
        "{html}"
    );

    let save = |name: &'static str, json: &'static str| {
        let path = format!("/console/admin/settings/{name}");
        let (app, admin, csrf) = (&app, admin.clone(), csrf.clone());
        async move {
            let answer =
                super::send(app, Some(&admin), &path, &[("csrf", &csrf), ("json", json)]).await;
            (answer.status(), answer.text().await.expect("body"))
        }
    };
    let app = &app;
    let read = |path: &'static str| async move {
        app.get(path, &app.admin_key)
            .await
            .json::<Value>()
            .await
            .expect("json")
    };

    let sla = r#"{"first_response_minutes": 30, "resolution_minutes": 480,
                  "business_hours": {"time_zone": "Europe/Madrid",
                                     "days": {"mon": [["09:00", "14:00"]]}}}"#;
    assert_eq!(save("sla", sla).await.0, StatusCode::SEE_OTHER);
    let shown = read("/api/v1/sla").await;
    assert_eq!(shown["first_response_minutes"], 30);
    assert_eq!(shown["business_hours"]["time_zone"], "Europe/Madrid");

    let wrong = r#"{"first_response_minutes": 30, "business_hours": {"time_zone": "Mars/Olympus", "days": {}}}"#;
    let (status, html) = save("sla", wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Mars/Olympus"), "the draft is kept");
    let shown = read("/api/v1/sla").await;
    assert_eq!(
        shown["business_hours"]["time_zone"], "Europe/Madrid",
        "nothing changed"
    );

    assert_eq!(
        save("assignment", "{not json").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let on = r#"{"enabled": true, "strategy": "least_loaded"}"#;
    assert_eq!(save("assignment", on).await.0, StatusCode::SEE_OTHER);
    assert_eq!(read("/api/v1/assignment").await["strategy"], "least_loaded");
    let forged = super::send(
        app,
        Some(&admin),
        "/console/admin/settings/assignment",
        &[("json", r#"{"enabled": false}"#)],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
