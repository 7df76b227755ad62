//! Real SMTP peers for the email channel: Python's `smtplib` sends mail to Hilo's SMTP
//! listener, and an `aiosmtpd` server (from PyPI) takes the mail Hilo sends.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestApp;

/// An SMTP server that keeps what it is sent; a recipient with "refuse" in it is
/// refused with 550, as a real server refuses an unknown user.
pub struct SmtpPeer {
    pub port: u16,
    received: Arc<Mutex<Vec<Value>>>,
    _child: Child,
}

const PEER: &str = r#"
import asyncio, email, email.policy, json, sys
from aiosmtpd.controller import Controller

class Keep:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "refuse" in address:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "headers": {name: str(value) for name, value in message.items()},
                          "body": body.get_content() if body else None,
                          "data": envelope.content.decode("utf-8", "replace")}), flush=True)
        return "250 Message accepted"

# A free port first: the controller checks it is up by connecting to the port it was
# given, which port 0 is not.
import socket
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Keep(), hostname="127.0.0.1", port=port)
controller.start()
print(json.dumps({"port": port}), flush=True)
sys.stdin.read()
controller.stop()
"#;

impl SmtpPeer {
    /// `None` where no Python with aiosmtpd is configured (outside CI).
    pub async fn start() -> Option<Self> {
        let python = python()?;
        let mut child = Command::new(python)
            .args(["-c", PEER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP peer");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP peer starts")
            .expect("read")
            .expect("a line");
        let port = serde_json::from_str::<Value>(&first).expect("json")["port"]
            .as_u64()
            .expect("port") as u16;
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(value) = serde_json::from_str(&line) {
                    keep.lock().expect("lock").push(value);
                }
            }
        });
        Some(Self {
            port,
            received,
            _child: child,
        })
    }

    /// Every message received: `from`, `to`, `data` (the raw message), and as Python's
    /// `email` package reads it, `headers` (decoded) and `body` (the plain text).
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits up to five seconds for the `n`th message.
    pub async fn wait_for(&self, n: usize) -> Value {
        for _ in 0..250 {
            if let Some(message) = self.received().get(n - 1) {
                return message.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the SMTP peer got {} messages, not {n}",
            self.received().len()
        );
    }
}

fn python() -> Option<String> {
    match std::env::var("HILO_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must set HILO_TEST_PYTHON");
            None
        }
    }
}

/// Sends `raw` (an RFC 5322 message) to `to` through Hilo's SMTP listener with
/// Python's `smtplib`; the server's answer to the data, as smtplib reports it
/// (`{"refused": {...}}` or `{"error": [code, text]}`).
pub fn send_mail(app: &TestApp, from: &str, to: &[&str], raw: &str) -> Option<Value> {
    let port = app.smtp_port();
    let script = r#"
import json, smtplib, sys
given = json.load(sys.stdin)
try:
    with smtplib.SMTP("127.0.0.1", given["port"], timeout=20) as client:
        client.ehlo("client.example")
        refused = client.sendmail(given["from"], given["to"], given["raw"].encode("utf-8"))
        print(json.dumps({"refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}}))
except smtplib.SMTPRecipientsRefused as error:
    print(json.dumps({"error": "recipients", "refused": {k: [v[0], v[1].decode()] for k, v in error.recipients.items()}}))
except smtplib.SMTPResponseException as error:
    print(json.dumps({"error": [error.smtp_code, error.smtp_error.decode()]}))
"#;
    let input = json!({"port": port, "from": from, "to": to, "raw": raw});
    let output = super::run_python(script, &input)?;
    Some(serde_json::from_str(&output).expect("json"))
}
