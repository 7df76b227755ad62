//! S1 in the browser: a call coming in pops up the caller and their conversation on the
//! page the agent has open, and the keyboard reaches the frequent actions.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Shop;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(an_incoming_call_pops_up_the_caller);

async fn an_incoming_call_pops_up_the_caller(app: TestApp) {
    let Some(shop) = Shop::open(&app).await else {
        return;
    };
    let browser = &shop.browser;
    let (pbx, _) = app
        .channel_with(json!({"type": "voice", "name": "Centralita"}))
        .await;
    let agent = app.key_for("agent").await;

    browser.open(&app.url("/console/customers")).await;
    shop.sign_in().await;
    browser
        .wait_until("document.documentElement.getAttribute('data-live-connected') === 'true'")
        .await;
    let response = app
        .post_json(
            "/api/v1/calls",
            &agent,
            &json!({"channel_id": pbx, "external_id": "pbx-1", "direction": "inbound",
                    "from": "+34 600 777 888", "to": "100", "status": "ringing"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let call: Value = response.json().await.expect("json");
    browser
        .wait_until("!!document.getElementById('incoming-call')")
        .await;
    let popup = browser
        .eval("document.getElementById('incoming-call').innerText")
        .await;
    let popup = popup.as_str().unwrap_or("");
    assert!(
        popup.contains("Incoming call") && popup.contains("Open the conversation"),
        "{popup}"
    );
    let conversation = call["conversation_id"].as_str().expect("conversation id");
    let href = browser
        .eval("document.querySelector('#incoming-call a').getAttribute('href')")
        .await;
    assert_eq!(href, format!("/console/conversations/{conversation}"));
    browser.screenshot("console-incoming-call").await;
    // Escape closes it; the first link opens the caller's conversation.
    browser
        .eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})); true")
        .await;
    browser
        .wait_until("!document.getElementById('incoming-call')")
        .await;

    // g i goes to the inbox; r puts the cursor in the reply box.
    browser
        .follow(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'g'}));\
             document.dispatchEvent(new KeyboardEvent('keydown', {key: 'i'}))",
        )
        .await;
    assert_eq!(browser.eval("location.pathname").await, "/console/inbox");
    let canned = app
        .post_json(
            "/api/v1/canned-replies",
            &app.admin_key,
            &json!({"shortcut": "horario", "content": "Hola {{customer.first_name|cliente}}, abrimos de 10 a 21 h."}),
        )
        .await;
    assert_eq!(canned.status(), StatusCode::CREATED);
    browser
        .open(&app.url(&format!("/console/conversations/{conversation}")))
        .await;
    let thread = browser
        .eval("document.getElementById('thread').innerText")
        .await;
    assert!(
        thread.as_str().unwrap_or("").contains("ringing"),
        "{thread}"
    );
    browser
        .eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'r'})); true")
        .await;
    assert_eq!(
        browser.eval("document.activeElement.name").await,
        "content",
        "the reply box has the focus"
    );
    // A canned reply by its shortcut: "/hor" and Tab.
    browser
        .eval(
            "const box = document.querySelector('#composer textarea');\
             box.value = '/hor'; box.dispatchEvent(new Event('input'));\
             box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Tab', cancelable: true})); true",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('#composer textarea').value")
            .await,
        "Hola cliente, abrimos de 10 a 21 h."
    );

    // Snoozed until a date, from the same page.
    browser
        .follow(
            "document.querySelector('select[name=status]').value = 'snoozed';\
             document.querySelector('input[name=snoozed_until]').value = '2030-01-01T09:00';\
             document.querySelector('form[action$=\"/work\"]').submit()",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('h1 .badge').textContent")
            .await,
        "Snoozed"
    );
    assert_eq!(
        browser
            .eval("document.querySelector('input[name=snoozed_until]').value")
            .await,
        "2030-01-01T09:00"
    );
}
