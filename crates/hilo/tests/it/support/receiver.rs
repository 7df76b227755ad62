//! A webhook receiver on loopback: records every request and answers with the status
//! a test sets. Signatures are checked with the published Standard Webhooks verifier
//! (the `standardwebhooks` package from PyPI), not with Hilo's own code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    status: u16,
}

pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on a random loopback port, answering 200 until told otherwise.
    pub async fn start() -> Self {
        let log = Arc::new(Mutex::new(Log {
            received: Vec::new(),
            status: 200,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(record).with_state(log.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, log, task }
    }

    /// The status every later request is answered with.
    pub fn answer(&self, status: u16) {
        self.log.lock().expect("lock").status = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("lock").received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(log): State<Arc<Mutex<Log>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut log = log.lock().expect("lock");
    log.received.push(Received {
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    });
    StatusCode::from_u16(log.status).unwrap_or(StatusCode::OK)
}

const VERIFY: &str = r#"
import json, sys
from standardwebhooks import Webhook
given = json.load(sys.stdin)
hook = Webhook(given["secret"])
for delivery in given["deliveries"]:
    hook.verify(delivery["body"].encode(), delivery["headers"])
print("verified", len(given["deliveries"]))
"#;

/// Checks every delivery with the `standardwebhooks` package: `Some(count)` verified,
/// `None` where no Python with it is configured (outside CI). A bad signature, a
/// timestamp more than five minutes from now or a missing header fails the test.
pub fn verify_with_standard_webhooks(secret: &str, deliveries: &[Received]) -> Option<usize> {
    let input = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|d| json!({
            "headers": d.headers,
            "body": String::from_utf8_lossy(&d.body),
        })).collect::<Vec<_>>(),
    });
    let Some(_) = super::run_python(VERIFY, &input) else {
        eprintln!("HILO_TEST_PYTHON is not set: signatures not checked by the verifier");
        return None;
    };
    Some(deliveries.len())
}
