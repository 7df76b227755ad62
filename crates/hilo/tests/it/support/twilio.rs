//! Twilio's side, for tests: webhooks signed by the published `twilio` Python package
//! (`RequestValidator.compute_signature`), and a local peer that speaks Twilio's
//! Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic
//! auth, form fields in, the Message resource or Twilio's error body out).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use reqwest::Response;
use serde_json::{Value, json};

use super::TestApp;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "twilio-auth-token-of-the-tests";

const SIGN: &str = r#"
import json, sys
from twilio.request_validator import RequestValidator
given = json.load(sys.stdin)
print(RequestValidator(given["token"]).compute_signature(given["url"], given["params"]))
"#;

/// `X-Twilio-Signature` for a POST of `params` to `url`, as Twilio computes it. Made by
/// the `twilio` package where `HILO_TEST_PYTHON` has it (always in CI); elsewhere by
/// Hilo's own function, with a note.
pub fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    // The package takes a dict: one value per name, as Twilio's webhooks send.
    let map: HashMap<&str, &str> = params.iter().copied().collect();
    let input = json!({"token": token, "url": url, "params": map});
    match super::run_python(SIGN, &input) {
        Some(signature) => signature.trim().to_owned(),
        None => {
            eprintln!("HILO_TEST_PYTHON is not set: Twilio signatures made by Hilo's own code");
            let owned: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            hilo_domain::conversations::twilio::signature(token, url, &owned)
        }
    }
}

/// One message the peer was asked to send.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub account: String,
    pub authorization: String,
    pub form: HashMap<String, String>,
    pub sid: String,
}

#[derive(Default)]
struct PeerState {
    sent: Vec<SentMessage>,
    /// The next answers, as (status, body); a success when empty.
    failures: Vec<(u16, Value)>,
}

/// A local peer of Twilio's Messages API.
pub struct TwilioPeer {
    pub base_url: String,
    state: Arc<Mutex<PeerState>>,
    task: tokio::task::JoinHandle<()>,
}

impl TwilioPeer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(PeerState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                axum::routing::post(create_message),
            )
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url,
            state,
            task,
        }
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().expect("lock").sent.clone()
    }

    /// The next request is answered with this status and Twilio error body.
    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.state.lock().expect("lock").failures.push((
            status,
            json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status}),
        ));
    }
}

impl Drop for TwilioPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn create_message(
    State(state): State<Arc<Mutex<PeerState>>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut state = state.lock().expect("lock");
    if !state.failures.is_empty() {
        let (status, body) = state.failures.remove(0);
        return (
            StatusCode::from_u16(status).expect("status"),
            axum::Json(body),
        );
    }
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    state.sent.push(SentMessage {
        account: account.clone(),
        authorization,
        form: form.clone(),
        sid: sid.clone(),
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "account_sid": account, "sid": sid, "status": "queued",
            "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0", "direction": "outbound-api", "error_code": null,
        })),
    )
}

impl TestApp {
    /// A Twilio channel of `kind` (`twilio_sms`, `twilio_whatsapp`) on `number`, sending
    /// through `peer`. Returns (id, webhook_url).
    pub async fn twilio_channel(
        &self,
        kind: &str,
        number: &str,
        peer: &TwilioPeer,
    ) -> (String, String) {
        self.channel_with(json!({
            "type": kind, "name": format!("{kind} {number}"),
            "settings": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                         "phone_number": number, "api_base_url": peer.base_url},
        }))
        .await
    }

    /// Creates a channel from `body`; returns (id, webhook_url).
    pub async fn channel_with(&self, body: Value) -> (String, String) {
        let response = self
            .post_json("/api/v1/channels", &self.admin_key, &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let created: Value = response.json().await.expect("json");
        (
            created["id"].as_str().expect("id").to_owned(),
            created["webhook_url"]
                .as_str()
                .expect("webhook_url")
                .to_owned(),
        )
    }

    /// Posts a Twilio webhook to `webhook_url` (given under the public URL), signed with
    /// `token` as Twilio would.
    pub async fn twilio_hook(
        &self,
        webhook_url: &str,
        token: &str,
        params: &[(&str, &str)],
    ) -> Response {
        let signature = sign(token, webhook_url, params);
        self.twilio_hook_signed(webhook_url, Some(&signature), params)
            .await
    }

    /// Posts a Twilio webhook with the signature header given (or none).
    pub async fn twilio_hook_signed(
        &self,
        webhook_url: &str,
        signature: Option<&str>,
        params: &[(&str, &str)],
    ) -> Response {
        let path = webhook_url
            .strip_prefix("http://127.0.0.1")
            .expect("webhook URLs are under the test public URL");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        request.send().await.expect("request")
    }
}
