//! Service levels: a new conversation gets its first response and resolution due
//! times (in business hours when set), shows whether each was missed, and the inbox
//! lists the breached.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::twilio::{ACCOUNT_SID, AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, error_of, on_both_engines};

on_both_engines!(conversations_are_held_to_their_targets_in_business_hours);

async fn sms(app: &TestApp, hook: &str, n: u32) -> String {
    let from = format!("+3460011{n:04}");
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
    app.conversations_of("phone", &from).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn put_sla(app: &TestApp, body: Value) -> reqwest::Response {
    app.request(Method::PUT, "/api/v1/sla", Some(&app.admin_key))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn sla(app: &TestApp, conversation: &str) -> Value {
    let view: Value = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .unwrap();
    view["sla"].clone()
}

async fn breached(app: &TestApp) -> Vec<String> {
    let list: Value = app
        .get("/api/v1/conversations?sla_breached=true", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn conversations_are_held_to_their_targets_in_business_hours(app: TestApp) {
    let peer = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    // Without targets, nothing is due.
    let before = sms(&app, &hook, 1).await;
    assert_eq!(sla(&app, &before).await, Value::Null);

    // The test clock starts on Monday 2026-11-23 at 12:00 UTC.
    let response = put_sla(
        &app,
        json!({"first_response_minutes": 30, "resolution_minutes": 120}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let late = sms(&app, &hook, 2).await;
    let prompt = sms(&app, &hook, 3).await;
    let due = sla(&app, &late).await;
    assert_eq!(due["first_response_due_at"], "2026-11-23T12:30:00.000Z");
    assert_eq!(due["resolution_due_at"], "2026-11-23T14:00:00.000Z");
    assert_eq!(due["first_response_breached"], false);

    app.clock.advance_millis(10 * 60_000);
    app.reply(&prompt, json!({"content": "Enseguida"})).await;
    app.clock.advance_millis(21 * 60_000);
    // 12:31: one conversation has had no answer for 31 minutes.
    let missed = sla(&app, &late).await;
    assert_eq!(missed["first_response_breached"], true);
    assert_eq!(missed["resolution_breached"], false);
    let met = sla(&app, &prompt).await;
    assert_eq!(met["first_replied_at"], "2026-11-23T12:10:00.000Z");
    assert_eq!(met["first_response_breached"], false);
    assert_eq!(breached(&app).await, vec![late.clone()]);
    // Answered late is still missed; a note is no answer.
    app.reply(&late, json!({"content": "ojo", "private": true}))
        .await;
    assert_eq!(sla(&app, &late).await["first_replied_at"], Value::Null);
    app.reply(&late, json!({"content": "Perdona la espera"}))
        .await;
    assert_eq!(sla(&app, &late).await["first_response_breached"], true);
    // Resolved in time; the other, not.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/conversations/{prompt}"),
            Some(&app.admin_key),
        )
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.clock.advance_millis(120 * 60_000);
    let resolved = sla(&app, &prompt).await;
    assert_eq!(resolved["resolved_at"], "2026-11-23T12:31:00.000Z");
    assert_eq!(resolved["resolution_breached"], false);
    assert_eq!(sla(&app, &late).await["resolution_breached"], true);

    // In business hours: Monday to Friday, 09:00 to 18:00 in Madrid.
    let hours = json!({"time_zone": "Europe/Madrid", "days": {
        "mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]}});
    let response = put_sla(
        &app,
        json!({"first_response_minutes": 30, "business_hours": hours}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Now 14:31 UTC; at 16:50 UTC it is 17:50 in Madrid: ten minutes today, twenty
    // tomorrow from nine.
    app.clock.advance_millis((2 * 60 + 19) * 60_000);
    let evening = sms(&app, &hook, 4).await;
    let due = sla(&app, &evening).await;
    assert_eq!(due["first_response_due_at"], "2026-11-24T08:20:00.000Z");
    assert_eq!(due["resolution_due_at"], Value::Null);

    // Settings that cannot work are refused, naming the field.
    for (body, field) in [
        (
            json!({"first_response_minutes": 0}),
            "first_response_minutes",
        ),
        (
            json!({"first_response_minutes": 30, "business_hours": {"time_zone": "Mars/Base", "days": {"mon": [["09:00", "18:00"]]}}}),
            "business_hours.time_zone",
        ),
        (
            json!({"business_hours": {"time_zone": "Europe/Madrid", "days": {"lun": [["09:00", "18:00"]]}}}),
            "business_hours.days",
        ),
        (json!({"business_hours": "always"}), "business_hours"),
    ] {
        let response = put_sla(&app, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_of(response).await.1.as_deref(), Some(field));
    }
    let response = app
        .get("/api/v1/conversations?sla_breached=maybe", &app.admin_key)
        .await;
    assert_eq!(error_of(response).await.1.as_deref(), Some("sla_breached"));
}
