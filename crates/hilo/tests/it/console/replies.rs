//! A reply the channel cannot carry is refused in the agent's language, with the draft
//! kept: WhatsApp's 24-hour window, a message too long.

use reqwest::StatusCode;
use serde_json::Value;

use super::{AGENT, PASSWORD, message};
use crate::platform::console::console_session;
use crate::support::twilio::{AUTH_TOKEN, TwilioPeer};
use crate::support::{TestApp, form_encode, on_both_engines};

on_both_engines!(a_refused_reply_is_explained_in_the_agents_language);

async fn a_refused_reply_is_explained_in_the_agents_language(app: TestApp) {
    app.create_user(AGENT, "agent", PASSWORD).await;
    let peer = TwilioPeer::start().await;
    let (_, sms_hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &peer)
        .await;
    let (whatsapp, _) = app
        .twilio_channel("twilio_whatsapp", "+34910000002", &peer)
        .await;
    let form = message(
        "+34600111222",
        "+34910000001",
        "SM00000000000000000000000000000061",
        "¿Me escribís por WhatsApp?",
    );
    assert_eq!(
        app.twilio_hook(&sms_hook, AUTH_TOKEN, &form).await.status(),
        StatusCode::OK
    );
    let listed: Value = app
        .get("/api/v1/conversations", &app.admin_key)
        .await
        .json()
        .await
        .expect("json");
    let conversation = listed["data"][0]["id"].as_str().expect("id").to_owned();
    let (session, csrf) = console_session(&app, AGENT, PASSWORD).await;
    let reply = |language: &'static str, content: String| {
        let request = app
            .client
            .post(app.url(&format!("/console/conversations/{conversation}/reply")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("hilo_session={session}"))
            .header("accept-language", language)
            .body(form_encode(&[
                ("csrf", csrf.as_str()),
                ("content", content.as_str()),
                ("channel_id", whatsapp.as_str()),
            ]));
        async move { request.send().await.expect("request") }
    };

    // She never wrote on WhatsApp: only a template may go there.
    let answer = reply("es-ES,es;q=0.9", "Te escribo por aquí".to_owned()).await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    let html = answer.text().await.expect("html");
    assert!(
        html.contains(
            "No se ha enviado: el cliente no ha escrito por WhatsApp en las últimas 24 horas"
        ),
        "{html}"
    );
    assert!(html.contains("Te escribo por aquí"), "the draft is kept");
    let answer = reply("en-US", "Writing to you here".to_owned()).await;
    let html = answer.text().await.expect("html");
    assert!(
        html.contains("Not sent: the customer has not written on WhatsApp in the last 24 hours"),
        "{html}"
    );
    let answer = reply("es-ES", "x".repeat(4_097)).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let html = answer.text().await.expect("html");
    assert!(
        html.contains("un mensaje tiene de 1 a 4.096 caracteres"),
        "{html}"
    );
    assert!(peer.sent().is_empty(), "nothing went out");
}
