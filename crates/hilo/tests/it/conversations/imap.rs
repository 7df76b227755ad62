//! Email from a mailbox: Hilo reads an email channel's IMAP mailbox on a real server
//! (Dovecot), stores each new email once in the sender's thread, leaves the mailbox as
//! it was, and hears new mail at once where the server offers IDLE.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::imap::{ImapPeer, PASSWORD, USER};
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    new_mail_in_the_mailbox_lands_in_the_senders_thread_once,
    idle_hears_new_mail_at_once,
    a_mailbox_that_refuses_the_password_is_read_once_given_the_right_one,
);

async fn mailbox_channel(app: &TestApp, peer: &ImapPeer, password: &str) -> Value {
    let body = json!({"type": "email", "name": "Buzón", "settings": {
        "address": USER, "imap_host": "127.0.0.1", "imap_port": peer.port,
        "imap_security": "none", "imap_username": USER, "imap_password": password}});
    let response = app
        .post_json("/api/v1/channels", &app.admin_key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn email(from: &str, id: &str, text: &str) -> String {
    format!(
        "From: {from}\r\nTo: {USER}\r\nSubject: Consulta\r\nMessage-ID: <{id}>\r\n\r\n{text}\r\n"
    )
}

async fn read(app: &TestApp) -> usize {
    app.hilo()
        .conversations()
        .read_mailboxes(None)
        .await
        .expect("mailboxes read")
}

async fn new_mail_in_the_mailbox_lands_in_the_senders_thread_once(app: TestApp) {
    let Some(peer) = ImapPeer::start().await else {
        return;
    };
    // Mail that was there before Hilo was given the mailbox is read too.
    peer.append(&email(
        "marta@example.com",
        "m-1@example.com",
        "¿Abrís el domingo?",
    ))
    .unwrap();
    mailbox_channel(&app, &peer, PASSWORD).await;
    assert_eq!(read(&app).await, 1);
    let thread = app
        .thread(
            app.conversations_of("email", "marta@example.com").await[0]["id"]
                .as_str()
                .unwrap(),
        )
        .await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["content"], "¿Abrís el domingo?");
    assert_eq!(thread[0]["channel_type"], "email");

    // Read again: nothing new, nothing twice.
    assert_eq!(read(&app).await, 0);
    peer.append(&email(
        "marta@example.com",
        "m-2@example.com",
        "¿Y los festivos?",
    ))
    .unwrap();
    peer.append(&email("pablo@example.com", "p-1@example.com", "Hola"))
        .unwrap();
    assert_eq!(read(&app).await, 2);
    assert_eq!(read(&app).await, 0);
    let marta = app.conversations_of("email", "marta@example.com").await;
    assert_eq!(marta.len(), 1);
    assert_eq!(app.thread(marta[0]["id"].as_str().unwrap()).await.len(), 2);
    assert_eq!(
        app.conversations_of("email", "pablo@example.com")
            .await
            .len(),
        1
    );
    // The same email appended again (a copy in the mailbox) is stored once.
    peer.append(&email("pablo@example.com", "p-1@example.com", "Hola"))
        .unwrap();
    assert_eq!(read(&app).await, 0);
}

async fn idle_hears_new_mail_at_once(app: TestApp) {
    let Some(peer) = ImapPeer::start().await else {
        return;
    };
    mailbox_channel(&app, &peer, PASSWORD).await;
    assert_eq!(read(&app).await, 0);
    let hilo = app.hilo().clone();
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        hilo.conversations()
            .read_mailboxes(Some(Duration::from_secs(20)))
            .await
            .expect("mailboxes read")
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    peer.append(&email(
        "lola@example.com",
        "l-1@example.com",
        "¿Tenéis cita hoy?",
    ))
    .unwrap();
    let stored = tokio::time::timeout(Duration::from_secs(15), waiting)
        .await
        .expect("IDLE ends when mail arrives")
        .unwrap();
    assert_eq!(stored, 1);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(
        app.conversations_of("email", "lola@example.com")
            .await
            .len(),
        1
    );
}

async fn a_mailbox_that_refuses_the_password_is_read_once_given_the_right_one(app: TestApp) {
    let Some(peer) = ImapPeer::start().await else {
        return;
    };
    peer.append(&email("ines@example.com", "i-1@example.com", "Hola"))
        .unwrap();
    let channel = mailbox_channel(&app, &peer, "the-wrong-password").await;
    let path = format!("/api/v1/channels/{}", channel["id"].as_str().unwrap());
    let status = |shown: Value| shown["mailbox"].clone();
    let before: Value = app.get(&path, &app.admin_key).await.json().await.unwrap();
    assert_eq!(status(before), json!({"checked_at": null, "error": null}));
    assert_eq!(read(&app).await, 0);
    assert!(app.lookup("email", "ines@example.com").await.is_none());
    // The admin sees why.
    let failed: Value = app.get(&path, &app.admin_key).await.json().await.unwrap();
    assert!(failed["mailbox"]["checked_at"].is_string());
    assert!(
        failed["mailbox"]["error"]
            .as_str()
            .unwrap()
            .contains("signing in failed"),
        "{failed}"
    );
    // Given the right password, it is read.
    let response = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/channels/{}", channel["id"].as_str().unwrap()),
            Some(&app.admin_key),
        )
        .json(&json!({"settings": {"imap_password": PASSWORD}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read(&app).await, 1);
    let read_now: Value = app.get(&path, &app.admin_key).await.json().await.unwrap();
    assert_eq!(read_now["mailbox"]["error"], Value::Null);
    // The list shows it too.
    let list: Value = app
        .get("/api/v1/channels", &app.admin_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["data"][0].get("mailbox").is_some());
}
