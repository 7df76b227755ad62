//! The console in a real headless Chromium: signing in, the live inbox, replying on
//! another channel, hostile message bodies, both languages and a tablet's width.

mod accounts;
mod admin;
mod calls;
mod customers;
mod inbox;
mod replies;
mod store;
mod tablet;
mod teams;

use reqwest::Response;

use crate::support::browser::Browser;
use crate::support::twilio::{ACCOUNT_SID, TwilioPeer};
use crate::support::{TestApp, form_encode};

pub(crate) const PASSWORD: &str = "a long console password";
const AGENT: &str = "lucia@shop.example";

/// A shop with an agent, an SMS number and a WhatsApp number on one Twilio peer.
struct Shop {
    browser: Browser,
    peer: TwilioPeer,
    whatsapp: String,
    sms_hook: String,
    whatsapp_hook: String,
}

impl Shop {
    /// `None` when no browser can run here.
    async fn open(app: &TestApp) -> Option<Self> {
        let browser = Browser::start().await?;
        app.create_user(AGENT, "agent", PASSWORD).await;
        let peer = TwilioPeer::start().await;
        let (_, sms_hook) = app
            .twilio_channel("twilio_sms", "+34910000001", &peer)
            .await;
        let (whatsapp, whatsapp_hook) = app
            .twilio_channel("twilio_whatsapp", "+34910000002", &peer)
            .await;
        Some(Self {
            browser,
            peer,
            whatsapp,
            sms_hook,
            whatsapp_hook,
        })
    }

    /// Signs the agent in on the sign-in page the browser is on.
    async fn sign_in(&self) {
        self.browser
            .follow(&format!(
                "document.querySelector('input[name=email]').value = '{AGENT}';\
                 document.querySelector('input[name=password]').value = '{PASSWORD}';\
                 document.querySelector('form[action=\"/console/login\"]').submit()"
            ))
            .await;
    }
}

/// A Twilio message webhook's form.
fn message<'a>(from: &'a str, to: &'a str, sid: &'a str, body: &'a str) -> [(&'a str, &'a str); 6] {
    [
        ("AccountSid", ACCOUNT_SID),
        ("Body", body),
        ("From", from),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("To", to),
    ]
}

/// A console page read with a session, as an English-speaking browser asks.
pub(crate) async fn page(app: &TestApp, session: &str, path: &str) -> Response {
    app.client
        .get(app.url(path))
        .header("cookie", format!("hilo_session={session}"))
        .header("accept-language", "en-US")
        .send()
        .await
        .expect("request")
}

/// A form sent with a session (or none), as a browser sends it.
async fn send(app: &TestApp, session: Option<&str>, path: &str, form: &[(&str, &str)]) -> Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "en-US")
        .body(form_encode(form));
    if let Some(session) = session {
        request = request.header("cookie", format!("hilo_session={session}"));
    }
    request.send().await.expect("request")
}
