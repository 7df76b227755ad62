//! Meta's side, for tests: webhooks signed as Meta signs them (`X-Hub-Signature-256`,
//! made with Python's own `hmac` where `HILO_TEST_PYTHON` is set, an implementation
//! apart from Hilo's), and a local peer of the Graph API's messaging endpoints
//! (`POST /{phone-number-id}/messages`, `POST /{page-id}/messages`).

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use reqwest::Response;
use serde_json::{Value, json};

use super::TestApp;

pub const APP_SECRET: &str = "meta-app-secret-of-the-tests";
pub const VERIFY_TOKEN: &str = "meta-verify-token";
pub const ACCESS_TOKEN: &str = "meta-access-token-of-the-tests";

const SIGN: &str = r#"
import hashlib, hmac, json, sys
given = json.load(sys.stdin)
print("sha256=" + hmac.new(given["secret"].encode(), given["body"].encode(), hashlib.sha256).hexdigest())
"#;

pub fn sign(secret: &str, body: &str) -> String {
    match super::run_python(SIGN, &json!({"secret": secret, "body": body})) {
        Some(signature) => signature.trim().to_owned(),
        None => hilo_domain::conversations::meta::signature(secret, body.as_bytes()),
    }
}

/// One request the peer got.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub sender: String,
    pub authorization: String,
    pub body: Value,
    pub id: String,
}

#[derive(Default)]
struct PeerState {
    requests: Vec<GraphRequest>,
    failures: Vec<(u16, Value)>,
}

pub struct GraphPeer {
    pub base_url: String,
    state: Arc<Mutex<PeerState>>,
    task: tokio::task::JoinHandle<()>,
}

impl GraphPeer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(PeerState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}/v21.0", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .route("/v21.0/{sender}/messages", axum::routing::post(send))
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

    pub fn requests(&self) -> Vec<GraphRequest> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// The next request gets the Graph API's error body with this status and code.
    pub fn fail_next(&self, status: u16, code: i64, message: &str) {
        self.state.lock().expect("lock").failures.push((
            status,
            json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax1"}}),
        ));
    }
}

impl Drop for GraphPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn send(
    State(state): State<Arc<Mutex<PeerState>>>,
    Path(sender): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let mut state = state.lock().expect("lock");
    if !state.failures.is_empty() {
        let (status, error) = state.failures.remove(0);
        return (
            StatusCode::from_u16(status).expect("status"),
            axum::Json(error),
        );
    }
    let whatsapp = body["messaging_product"] == "whatsapp";
    let id = if whatsapp {
        format!("wamid.{}", uuid::Uuid::new_v4().simple())
    } else {
        format!("m_{}", uuid::Uuid::new_v4().simple())
    };
    state.requests.push(GraphRequest {
        sender,
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        body: body.clone(),
        id: id.clone(),
    });
    let answer = if whatsapp {
        json!({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}], "messages": [{"id": id}]})
    } else {
        json!({"recipient_id": body["recipient"]["id"], "message_id": id})
    };
    (StatusCode::OK, axum::Json(answer))
}

impl TestApp {
    /// A channel of Meta's `kind` with the test credentials; (id, webhook_url).
    pub async fn meta_channel(
        &self,
        kind: &str,
        id_setting: (&str, &str),
        peer: &GraphPeer,
    ) -> (String, String) {
        let mut settings = json!({"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
                                  "access_token": ACCESS_TOKEN, "api_base_url": peer.base_url});
        settings[id_setting.0] = json!(id_setting.1);
        self.channel_with(json!({"type": kind, "name": kind, "settings": settings}))
            .await
    }

    /// Posts `body` to a Meta webhook URL, signed with `secret`.
    pub async fn meta_hook(&self, webhook_url: &str, secret: &str, body: &Value) -> Response {
        let text = body.to_string();
        let signature = sign(secret, &text);
        self.meta_hook_signed(webhook_url, Some(&signature), &text)
            .await
    }

    pub async fn meta_hook_signed(
        &self,
        webhook_url: &str,
        signature: Option<&str>,
        body: &str,
    ) -> Response {
        let path = webhook_url
            .strip_prefix("http://127.0.0.1")
            .expect("under the public URL");
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send().await.expect("request")
    }
}
