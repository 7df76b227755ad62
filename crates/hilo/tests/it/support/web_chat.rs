//! A web chat visitor for tests: a real WebSocket client speaking the widget's frames.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestApp;

/// A web chat channel: its id and its identity secret (shown once, on creation).
pub struct ChatChannel {
    pub id: String,
    pub identity_secret: String,
}

impl TestApp {
    /// Creates a web chat channel with `settings`.
    pub async fn web_chat_channel(&self, settings: Value) -> ChatChannel {
        let body = json!({"type": "web_chat", "name": "Website", "settings": settings});
        let response = self
            .post_json("/api/v1/channels", &self.admin_key, &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.expect("json");
        let id = created["id"].as_str().expect("id");
        assert_eq!(
            created["widget_snippet"],
            format!(
                "<script src=\"http://127.0.0.1/widget.js\" data-channel=\"{id}\" async></script>"
            ),
            "the tag to paste names the widget under the public URL"
        );
        let identity_secret = settings["identity_secret"]
            .as_str()
            .or(created["generated_secrets"]["identity_secret"].as_str())
            .expect("an identity secret")
            .to_owned();
        ChatChannel {
            id: created["id"].as_str().expect("id").to_owned(),
            identity_secret,
        }
    }
}

/// One widget's socket.
pub struct Visitor {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Visitor {
    /// Opens the socket of `channel` on the server at `base` with `origin`, if any.
    pub async fn connect(base: &str, channel: &str, origin: Option<&str>) -> Self {
        match Self::try_connect(base, channel, origin).await {
            Ok(visitor) => visitor,
            Err(status) => panic!("the socket was refused with {status}"),
        }
    }

    /// The socket, or the HTTP status the upgrade was refused with.
    pub async fn try_connect(base: &str, channel: &str, origin: Option<&str>) -> Result<Self, u16> {
        let url = format!(
            "{}/widget/{channel}/socket",
            base.replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().expect("request");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("origin"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("socket: {other}"),
        }
    }

    /// Sends the first frame and returns the server's answer to it (`ready` or `error`).
    pub async fn hello(&mut self, hello: Value) -> Value {
        let mut frame = hello;
        frame["type"] = json!("hello");
        self.send(frame).await;
        self.next_frame().await
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send a frame");
    }

    /// Sends a message and returns its `ack` (skipping other frames).
    pub async fn say(&mut self, client_id: &str, content: &str) -> Value {
        self.send(json!({"type": "message", "client_id": client_id, "content": content}))
            .await;
        self.next("ack").await
    }

    /// The next JSON frame within five seconds.
    pub async fn next_frame(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a frame within 5 s")
                .expect("the socket is open")
                .expect("a frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Close(_) => return json!({"type": "closed"}),
                _ => {}
            }
        }
    }

    /// The next frame of `kind` (others skipped).
    pub async fn next(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_frame().await;
            if frame["type"] == kind {
                return frame;
            }
            assert_ne!(frame["type"], "closed", "closed while waiting for {kind}");
        }
    }

    /// Whether a frame arrives within `wait` (other than pings).
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).expect("JSON frame"));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(other) => {
                    return Some(json!({"type": "closed", "detail": format!("{other:?}")}));
                }
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
