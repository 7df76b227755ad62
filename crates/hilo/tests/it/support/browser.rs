//! A real headless Chromium for the console's tests, driven over the DevTools protocol
//! (a WebSocket of JSON commands and events): pages load, scripts run and live updates
//! arrive as they do for an agent. Uses `HILO_TEST_CHROMIUM` (set by `.ci/run`, which
//! installs Debian's `chromium`), else `/usr/bin/chromium`; without either the browser
//! tests are skipped, and with `HILO_TEST_CHROMIUM` set a browser that cannot start
//! fails them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

pub struct Browser {
    child: tokio::process::Child,
    _profile: tempfile::TempDir,
    outgoing: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    /// Events of the page's session (dialogs opened, for one).
    events: Mutex<mpsc::UnboundedReceiver<Value>>,
    session: String,
}

impl Browser {
    /// Starts Chromium with one blank page; `None` when there is none to start.
    pub async fn start() -> Option<Self> {
        let required = std::env::var_os("HILO_TEST_CHROMIUM");
        let program = required
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if !program.exists() {
            assert!(
                required.is_none(),
                "HILO_TEST_CHROMIUM names {program:?}, which does not exist"
            );
            eprintln!("no Chromium: browser test skipped");
            return None;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = tokio::process::Command::new(&program)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
                "--lang=en-US",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let endpoint = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("ws://") {
                    return Some(line[at..].trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromium announces its DevTools endpoint");
        // Keep reading its stderr so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("connect to DevTools");
        let (mut write, mut read) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = to_send.recv().await {
                if write.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let (event_sender, events) = mpsc::unbounded_channel();
        {
            let pending = pending.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = read.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Ok(value) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if let Some(id) = value.get("id").and_then(Value::as_u64) {
                        if let Some(answer) = pending.lock().await.remove(&id) {
                            let _ = answer.send(value);
                        }
                    } else {
                        let _ = event_sender.send(value);
                    }
                }
            });
        }
        let mut browser = Self {
            child,
            _profile: profile,
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            events: Mutex::new(events),
            session: String::new(),
        };
        let target = browser
            .command(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target = target["targetId"].as_str().expect("target id").to_owned();
        let attached = browser
            .command(
                None,
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().expect("session").to_owned();
        browser.send("Page.enable", json!({})).await;
        browser.send("Runtime.enable", json!({})).await;
        Some(browser)
    }

    async fn command(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let reply = self.exchange(session, method, params).await;
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// Sends a command and returns the whole reply, an error included.
    async fn exchange(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (answer, answered) = oneshot::channel();
        self.pending.lock().await.insert(id, answer);
        self.outgoing
            .send(message.to_string())
            .expect("DevTools connection open");
        tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .unwrap_or_else(|_| panic!("{method} answered within 30 s"))
            .expect("an answer")
    }

    /// A command to the page.
    pub async fn send(&self, method: &str, params: Value) -> Value {
        self.command(Some(&self.session), method, params).await
    }

    /// Loads `url` and waits until the new document has loaded.
    pub async fn open(&self, url: &str) {
        self.eval("window.__hilo_old_page = true").await;
        self.send("Page.navigate", json!({"url": url})).await;
        self.wait_for_new_page().await;
    }

    /// Runs `script`, which leaves the page (a click on a link, a form sent, a reload),
    /// and waits until the next document has loaded.
    pub async fn follow(&self, script: &str) {
        self.eval(&format!("window.__hilo_old_page = true; {script}; true"))
            .await;
        self.wait_for_new_page().await;
    }

    async fn wait_for_new_page(&self) {
        self.wait_until("window.__hilo_old_page !== true && document.readyState === 'complete'")
            .await;
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&self, expression: &str) -> Value {
        self.eval_in(&self.session, expression).await
    }

    /// The value of a JavaScript expression in a tab (promises awaited).
    pub async fn eval_in(&self, tab: &str, expression: &str) -> Value {
        let result = self
            .command(
                Some(tab),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits up to 10 s for an expression to be true; how long it took.
    pub async fn wait_until(&self, expression: &str) -> Duration {
        self.wait_until_in(&self.session, expression).await
    }

    /// Waits up to 10 s for an expression to be true in a tab; how long it took.
    pub async fn wait_until_in(&self, tab: &str, expression: &str) -> Duration {
        let started = Instant::now();
        loop {
            // While a page is being replaced, evaluating may fail: not yet, then.
            let reply = self
                .exchange(
                    Some(tab),
                    "Runtime.evaluate",
                    json!({"expression": format!("!!({expression})"), "returnByValue": true}),
                )
                .await;
            if reply["result"]["result"]["value"] == json!(true) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "waited 10 s for {expression}; the page says: {}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Opens another tab on `url`; its session, for `eval_in` and `wait_until_in`.
    pub async fn open_tab(&self, url: &str) -> String {
        let target = self
            .command(None, "Target.createTarget", json!({"url": url}))
            .await;
        let target = target["targetId"].as_str().expect("target id").to_owned();
        let attached = self
            .command(
                None,
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        attached["sessionId"].as_str().expect("session").to_owned()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let result = self
            .send(
                "Runtime.evaluate",
                json!({"expression": "document.body ? document.body.innerText : ''", "returnByValue": true}),
            )
            .await;
        result["result"]["value"].as_str().unwrap_or("").to_owned()
    }

    /// Sets the page's width (and a tablet's height) in CSS pixels.
    pub async fn set_width(&self, width: u32) {
        self.send(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 1024, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
    }

    /// Saves a PNG of the page under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let shot = self
            .send(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Every dialog (`alert`, `confirm`, `prompt`) the page opened so far.
    pub async fn dialogs(&self) -> Vec<String> {
        let mut events = self.events.lock().await;
        let mut opened = Vec::new();
        while let Ok(event) = events.try_recv() {
            if event["method"] == "Page.javascriptDialogOpening" {
                opened.push(event["params"]["message"].as_str().unwrap_or("").to_owned());
            }
        }
        opened
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
