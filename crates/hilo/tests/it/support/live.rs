//! A subscriber of `GET /api/v1/live` for tests: reads the server-sent events as a
//! browser's EventSource would, and hands them over one by one.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::TestApp;

pub struct LiveClient {
    events: mpsc::UnboundedReceiver<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveClient {
    /// Subscribes at `base` with `key`; returns once the stream is open.
    pub async fn connect(app: &TestApp, base: &str, key: &str) -> Self {
        let mut response = app
            .client
            .get(format!("{base}/api/v1/live"))
            .bearer_auth(key)
            .send()
            .await
            .expect("subscribe");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let (sender, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let mut kind = String::from("message");
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(name) = line.strip_prefix("event:") {
                            kind = name.trim().to_owned();
                        } else if let Some(part) = line.strip_prefix("data:") {
                            data.push_str(part.trim_start());
                        }
                    }
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    let value = serde_json::from_str(&data).expect("event data is JSON");
                    if sender.send((kind, value)).is_err() {
                        return;
                    }
                }
            }
        });
        Self { events, task }
    }

    /// The next event of type `kind` within five seconds (others are skipped).
    pub async fn next(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some((name, data))) if name == kind => return data,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the live stream closed before {kind}"),
                Err(_) => panic!("no {kind} event within 5 s"),
            }
        }
    }
}

impl Drop for LiveClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}
