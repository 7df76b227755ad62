//! Email: mail sent with Python's smtplib to Hilo's SMTP listener lands in the sender's
//! one thread (S2), with its quote folded, its HTML sanitised and its attachments kept;
//! replies leave through a real SMTP server (aiosmtpd) threaded under the customer's
//! email, and the customer's answer comes back to the same conversation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::customers::privacy::find_anywhere;
use crate::support::smtp::{SmtpPeer, send_mail};
use crate::support::twilio::TwilioPeer;
use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    an_email_joins_the_customers_thread_and_is_answered_on_sms_and_by_email,
    a_reply_to_an_agents_email_comes_back_to_its_conversation,
    the_smtp_listener_takes_mail_only_for_its_mailboxes,
    an_erased_customer_leaves_no_email_behind,
);

const MAILBOX: &str = "tienda@shop.example";

async fn email_channel(app: &TestApp, peer: &SmtpPeer) -> String {
    let (id, _) = channel(app, peer).await;
    id
}

async fn channel(app: &TestApp, peer: &SmtpPeer) -> (String, Value) {
    let body = json!({"type": "email", "name": "Tienda", "settings": {
        "address": MAILBOX, "from_name": "Tienda Centro", "smtp_host": "127.0.0.1",
        "smtp_port": peer.port, "smtp_security": "none"}});
    let response = app
        .post_json("/api/v1/channels", &app.admin_key, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    (created["id"].as_str().unwrap().to_owned(), created)
}

/// A header's value in a message the peer received, as Python's `email` read it.
fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"]
        .as_object()?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

const ANAS_EMAIL: &str = "From: Ana García <ana@example.com>\r
To: Tienda <tienda@shop.example>\r
Cc: Bo <bo@example.com>\r
Subject: Cambio de talla\r
Message-ID: <ana-1@mail.example.com>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"b1\"\r
\r
--b1\r
Content-Type: multipart/alternative; boundary=\"b2\"\r
\r
--b2\r
Content-Type: text/plain; charset=utf-8\r
\r
Hola, quiero cambiar el abrigo por una talla M.\r
\r
El lun, 1 dic 2026 a las 10:00, Tienda <tienda@shop.example> escribió:\r
> Gracias por su compra.\r
--b2\r
Content-Type: text/html; charset=utf-8\r
\r
<p onclick=\"steal()\">Hola, quiero cambiar el abrigo.</p><script>alert(1)</script><img src=\"https://tracker.example/p.gif\"><a href=\"javascript:alert(2)\">x</a>\r
--b2--\r
--b1\r
Content-Type: application/pdf; name=\"ticket.pdf\"\r
Content-Disposition: attachment; filename=\"ticket.pdf\"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQKdGlja2V0Cg==\r
--b1--\r
";

async fn an_email_joins_the_customers_thread_and_is_answered_on_sms_and_by_email(app: TestApp) {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    let twilio = TwilioPeer::start().await;
    let (sms, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &twilio)
        .await;
    email_channel(&app, &peer).await;
    let response = app
        .post_json(
            "/api/v1/customers",
            &app.admin_key,
            &json!({"identifiers": [{"type": "email", "value": "ana@example.com"},
                                    {"type": "phone", "value": "+34600111222"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // She wrote by SMS this morning.
    let params = [
        ("AccountSid", crate::support::twilio::ACCOUNT_SID),
        ("Body", "¿Puedo cambiar el abrigo?"),
        ("From", "+34600111222"),
        ("MessageSid", "SM20000000000000000000000000000001"),
        ("To", "+34910000001"),
    ];
    let answer = app
        .twilio_hook(&hook, crate::support::twilio::AUTH_TOKEN, &params)
        .await;
    assert_eq!(answer.status(), StatusCode::OK);

    // Now by email: taken once stored, into the same thread.
    let sent = send_mail(&app, "ana@example.com", &[MAILBOX], ANAS_EMAIL).unwrap();
    assert_eq!(sent, json!({"refused": {}}));
    let list = app.conversations_of("email", "ana@example.com").await;
    assert_eq!(list.len(), 1, "one thread across SMS and email");
    let conversation = list[0]["id"].as_str().unwrap().to_owned();
    let thread = app.thread(&conversation).await;
    assert_eq!(thread.len(), 2);
    let email = &thread[1];
    assert_eq!(email["channel_type"], "email");
    assert_eq!(
        email["content"],
        "Hola, quiero cambiar el abrigo por una talla M."
    );
    let details = &email["email"];
    assert_eq!(details["subject"], "Cambio de talla");
    assert_eq!(details["message_id"], "ana-1@mail.example.com");
    assert_eq!(details["from"], "ana@example.com");
    assert_eq!(details["cc"], json!(["bo@example.com"]));
    assert!(
        details["quoted"]
            .as_str()
            .unwrap()
            .contains("Gracias por su compra")
    );
    let html = details["html"].as_str().unwrap();
    assert!(html.contains("Hola, quiero cambiar el abrigo."));
    for hostile in ["<script", "onclick", "javascript:", "tracker.example"] {
        assert!(!html.contains(hostile), "{hostile} left in {html}");
    }
    let attachment = &details["attachments"][0];
    assert_eq!(attachment["filename"], "ticket.pdf");
    assert_eq!(attachment["content_type"], "application/pdf");
    let download = app
        .get(
            &format!("/api/v1/attachments/{}", attachment["id"].as_str().unwrap()),
            &app.admin_key,
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(&download.bytes().await.unwrap()[..], b"%PDF-1.4\nticket\n");
    // Attachments are for the people who answer, and unknown ones are not found.
    let viewer = app.key_for("marketer").await;
    let path = format!("/api/v1/attachments/{}", attachment["id"].as_str().unwrap());
    assert_eq!(
        app.get(&path, &viewer).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/attachments/nope", &app.admin_key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // The same email delivered again is stored once.
    send_mail(&app, "ana@example.com", &[MAILBOX], ANAS_EMAIL).unwrap();
    assert_eq!(app.thread(&conversation).await.len(), 2);

    // S2: answered on SMS, in the same thread.
    app.reply(
        &conversation,
        json!({"content": "Sí, tráigalo a la tienda.", "channel_id": sms}),
    )
    .await;
    app.step_workers().await;
    assert_eq!(twilio.sent().len(), 1);
    assert_eq!(twilio.sent()[0].form["To"], "+34600111222");
    // And by email: on the channel she wrote on last, threaded under her email.
    let by_email = app
        .reply(&conversation, json!({"content": "También puede enviarlo."}))
        .await;
    assert_eq!(by_email["channel_type"], "email");
    app.step_workers().await;
    let mail = peer.wait_for(1).await;
    assert_eq!(mail["from"], MAILBOX);
    assert_eq!(mail["to"], json!(["ana@example.com"]));
    let raw = &mail;
    assert_eq!(header(raw, "Subject"), Some("Re: Cambio de talla"));
    assert_eq!(header(raw, "In-Reply-To"), Some("<ana-1@mail.example.com>"));
    assert!(
        header(raw, "References")
            .unwrap()
            .contains("<ana-1@mail.example.com>")
    );
    assert!(header(raw, "From").unwrap().contains("Tienda Centro"));
    let reply_to = header(raw, "Reply-To").unwrap();
    assert!(
        reply_to.contains(&format!(
            "tienda+c.{}@shop.example",
            conversation.replace('-', "")
        )),
        "{reply_to}"
    );
    assert_eq!(
        mail["body"].as_str().unwrap().trim(),
        "También puede enviarlo."
    );
    let thread = app.thread(&conversation).await;
    let last = thread.last().unwrap();
    assert_eq!(last["status"], "sent");
    assert_eq!(
        header(raw, "Message-ID").map(|id| id.trim_matches(['<', '>'])),
        last["email"]["message_id"].as_str()
    );
}

async fn a_reply_to_an_agents_email_comes_back_to_its_conversation(app: TestApp) {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    let twilio = TwilioPeer::start().await;
    let (_, hook) = app
        .twilio_channel("twilio_sms", "+34910000001", &twilio)
        .await;
    let email = email_channel(&app, &peer).await;
    // One thread per channel: only threading can bring an email into the SMS thread.
    let response = app
        .request(Method::PUT, "/api/v1/threading", Some(&app.admin_key))
        .json(&json!({"mode": "per_channel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    app.post_json(
        "/api/v1/customers",
        &app.admin_key,
        &json!({"identifiers": [{"type": "email", "value": "luis@example.com"},
                                {"type": "phone", "value": "+34600999888"}]}),
    )
    .await;
    let params = [
        ("AccountSid", crate::support::twilio::ACCOUNT_SID),
        ("Body", "Mandadme la factura por correo"),
        ("From", "+34600999888"),
        ("MessageSid", "SM20000000000000000000000000000009"),
        ("To", "+34910000001"),
    ];
    app.twilio_hook(&hook, crate::support::twilio::AUTH_TOKEN, &params)
        .await;
    let list = app.conversations_of("phone", "+34600999888").await;
    let sms_thread = list[0]["id"].as_str().unwrap().to_owned();
    // The agent answers the SMS by email: a new email, under the conversation.
    app.reply(
        &sms_thread,
        json!({"content": "Adjunta va.", "channel_id": email}),
    )
    .await;
    app.step_workers().await;
    let raw = peer.wait_for(1).await;
    assert_eq!(header(&raw, "In-Reply-To"), None);
    let ours = header(&raw, "Message-ID").unwrap().to_owned();
    let reply_to = header(&raw, "Reply-To")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();

    // He answers from his mail client: threaded by In-Reply-To.
    let answer = format!(
        "From: luis@example.com\r\nTo: {reply_to}\r\nSubject: Re: Tienda\r\n\
         Message-ID: <luis-1@example.com>\r\nIn-Reply-To: {ours}\r\nReferences: {ours}\r\n\r\n\
         Gracias, recibida.\r\n"
    );
    send_mail(&app, "luis@example.com", &[&reply_to], &answer).unwrap();
    // A client that drops the headers still reaches it by the reply address.
    let bare = format!(
        "From: luis@example.com\r\nTo: {reply_to}\r\nSubject: otra cosa\r\n\
         Message-ID: <luis-2@example.com>\r\n\r\nUna pregunta más.\r\n"
    );
    send_mail(&app, "luis@example.com", &[&reply_to], &bare).unwrap();
    let contents: Vec<String> = app
        .thread(&sms_thread)
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        contents,
        [
            "Mandadme la factura por correo",
            "Adjunta va.",
            "Gracias, recibida.",
            "Una pregunta más."
        ]
    );
    // A new email with neither opens the email thread, as threading per channel says.
    let fresh = "From: luis@example.com\r\nTo: tienda@shop.example\r\nSubject: Nueva\r\n\
                 Message-ID: <luis-3@example.com>\r\n\r\nOtra consulta.\r\n";
    send_mail(&app, "luis@example.com", &[MAILBOX], fresh).unwrap();
    assert_eq!(app.conversations_of("phone", "+34600999888").await.len(), 2);
    // Another customer cannot write into Luis's conversation through its address.
    let intruder = format!(
        "From: eve@example.com\r\nTo: {reply_to}\r\nSubject: hola\r\n\
         Message-ID: <eve-1@example.com>\r\nIn-Reply-To: {ours}\r\n\r\nSoy Luis.\r\n"
    );
    send_mail(&app, "eve@example.com", &[&reply_to], &intruder).unwrap();
    assert_eq!(app.thread(&sms_thread).await.len(), 4);
    assert_eq!(
        app.conversations_of("email", "eve@example.com").await.len(),
        1
    );
}

/// One SMTP command and the server's whole answer.
async fn say(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    line: &str,
) -> String {
    writer
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    loop {
        let mut part = String::new();
        reader.read_line(&mut part).await.unwrap();
        answer.push_str(&part);
        if part.len() < 4 || part.as_bytes()[3] != b'-' {
            return answer;
        }
    }
}

async fn the_smtp_listener_takes_mail_only_for_its_mailboxes(app: TestApp) {
    app.post_json(
        "/api/v1/channels",
        &app.admin_key,
        &json!({"type": "email", "name": "Tienda", "settings": {"address": MAILBOX}}),
    )
    .await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", app.smtp_port()))
        .await
        .unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut banner = String::new();
    reader.read_line(&mut banner).await.unwrap();
    assert!(banner.starts_with("220 "), "{banner}");
    assert!(
        say(&mut reader, &mut writer, "MAIL FROM:<a@x.org>")
            .await
            .starts_with("503")
    );
    let ehlo = say(&mut reader, &mut writer, "EHLO client.example").await;
    assert!(ehlo.contains("SIZE"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    assert!(
        say(&mut reader, &mut writer, "MAIL FROM:<a@x.org>")
            .await
            .starts_with("250")
    );
    // No relaying, no unknown mailboxes.
    for nobody in ["<someone@elsewhere.example>", "<nadie@shop.example>"] {
        let answer = say(&mut reader, &mut writer, &format!("RCPT TO:{nobody}")).await;
        assert!(answer.starts_with("550"), "{nobody}: {answer}");
    }
    assert!(
        say(&mut reader, &mut writer, "DATA")
            .await
            .starts_with("503")
    );
    let answer = say(
        &mut reader,
        &mut writer,
        "RCPT TO:<Tienda+pedidos@Shop.Example>",
    )
    .await;
    assert!(answer.starts_with("250"), "{answer}");
    assert!(
        say(&mut reader, &mut writer, "DATA")
            .await
            .starts_with("354")
    );
    // Not an email: refused, and nothing stored.
    let answer = say(&mut reader, &mut writer, "no headers at all\r\n.").await;
    assert!(answer.starts_with("554"), "{answer}");
    assert!(
        say(&mut reader, &mut writer, "MAIL FROM:<a@x.org>")
            .await
            .starts_with("250")
    );
    say(&mut reader, &mut writer, "RCPT TO:<tienda@shop.example>").await;
    say(&mut reader, &mut writer, "DATA").await;
    let answer = say(
        &mut reader,
        &mut writer,
        "From: Paz <paz@example.com>\r\nSubject: Hola\r\n\r\n..empieza con punto\r\n.",
    )
    .await;
    assert!(answer.starts_with("250"), "{answer}");
    assert!(
        say(&mut reader, &mut writer, "QUIT")
            .await
            .starts_with("221")
    );
    let list = app.conversations_of("email", "paz@example.com").await;
    let thread = app.thread(list[0]["id"].as_str().unwrap()).await;
    assert_eq!(thread[0]["content"], ".empieza con punto");
}

async fn an_erased_customer_leaves_no_email_behind(app: TestApp) {
    let Some(peer) = SmtpPeer::start().await else {
        return;
    };
    email_channel(&app, &peer).await;
    send_mail(&app, "ana@example.com", &[MAILBOX], ANAS_EMAIL).unwrap();
    // Bo's own email copies Ana.
    let bos = "From: bo@example.com\r\nTo: tienda@shop.example\r\nCc: ana@example.com\r\n\
               Subject: Regalo\r\nMessage-ID: <bo-1@example.com>\r\n\r\nEs un regalo.\r\n";
    send_mail(&app, "bo@example.com", &[MAILBOX], bos).unwrap();
    let needles = ["ana@example.com", "ticket.pdf", "ana-1@mail.example.com"];
    assert!(!find_anywhere(app.store(), &needles).await.is_empty());
    let ana = app.lookup("email", "ana@example.com").await.unwrap();
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
    let left = find_anywhere(app.store(), &needles).await;
    assert!(left.is_empty(), "left after erasure: {left:?}");
    // Bo keeps his email, without her.
    let list = app.conversations_of("email", "bo@example.com").await;
    let thread = app.thread(list[0]["id"].as_str().unwrap()).await;
    assert_eq!(thread[0]["content"], "Es un regalo.");
    assert_ne!(thread[0]["email"]["cc"], json!(["ana@example.com"]));
}
