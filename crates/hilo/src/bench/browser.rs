//! A headless Chromium for `hilo bench conversations --chromium`: the console as an
//! agent's browser sees it — how soon the inbox first paints, and how soon a webhook's
//! message shows in an open inbox. Driven over the DevTools protocol, JSON commands on
//! a WebSocket, spoken here with the few frames it needs (the bench's sockets do the
//! same), so nothing more is built for it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A running Chromium and the page it shows, attached over DevTools.
pub struct Chromium {
    _child: tokio::process::Child,
    socket: TcpStream,
    next_id: u64,
    session: String,
}

impl Chromium {
    /// Starts `program` headless with one blank page; its profile lives in `profile`.
    pub async fn start(program: &Path, profile: &Path) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(program)
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
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", program.display()))?;
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
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
        .context("Chromium did not announce its DevTools endpoint")?;
        // Keep reading its stderr so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let socket = connect(&endpoint).await?;
        let mut browser = Self {
            _child: child,
            socket,
            next_id: 1,
            session: String::new(),
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target = target["targetId"]
            .as_str()
            .context("a target id")?
            .to_owned();
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await?;
        browser.session = attached["sessionId"]
            .as_str()
            .context("a session id")?
            .to_owned();
        Ok(browser)
    }

    /// Sends a command (to the page once attached) and waits for its answer, passing
    /// over the events that come between.
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            command["sessionId"] = Value::String(self.session.clone());
        }
        write_text(&mut self.socket, &command.to_string()).await?;
        loop {
            let message: Value = serde_json::from_str(&read_text(&mut self.socket).await?)?;
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = message.get("error") {
                    anyhow::bail!("{method} failed: {error}");
                }
                return Ok(message["result"].clone());
            }
        }
    }

    /// The value of a script run in the page.
    pub async fn eval(&mut self, script: &str) -> anyhow::Result<Value> {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({"expression": script, "returnByValue": true}),
            )
            .await?;
        Ok(answer["result"]["value"].clone())
    }

    /// Runs `script` every few milliseconds until it gives something other than
    /// `null`, and gives that.
    pub async fn wait_for(&mut self, script: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let value = self.eval(script).await?;
            if !value.is_null() {
                return Ok(value);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the page did not get there in {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Opens `url` and gives its first contentful paint, in milliseconds from the
    /// navigation's start, once the page has loaded.
    pub async fn first_paint(&mut self, url: &str) -> anyhow::Result<f64> {
        self.call("Page.navigate", json!({"url": url})).await?;
        let script = format!(
            "(() => {{ const nav = performance.getEntriesByType('navigation')[0]; \
             const paint = performance.getEntriesByName('first-contentful-paint')[0]; \
             return nav && nav.name === {url} && document.readyState === 'complete' && paint \
             ? paint.startTime : null; }})()",
            url = Value::String(url.to_owned())
        );
        let paint = self.wait_for(&script, Duration::from_secs(60)).await?;
        paint.as_f64().context("a paint time")
    }
}

/// Opens a WebSocket to `ws://host:port/path`.
async fn connect(endpoint: &str) -> anyhow::Result<TcpStream> {
    let rest = endpoint.strip_prefix("ws://").context("a ws:// endpoint")?;
    let (host, path) = rest.split_once('/').context("an endpoint path")?;
    open_websocket(host, path).await
}

/// Opens a WebSocket to `/path` on `host` (an address and port): the upgrade asked for
/// and its `101` read.
pub(super) async fn open_websocket(host: &str, path: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    stream
        .write_all(
            format!(
                "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
        head.push(byte[0]);
        anyhow::ensure!(head.len() < 8192, "an upgrade answer too long");
    }
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 101"),
        "the socket was refused: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(stream)
}

/// One text frame, masked as a client's must be (a zero key leaves the text as it is).
async fn write_text(stream: &mut TcpStream, text: &str) -> anyhow::Result<()> {
    let length = text.len();
    let mut frame = vec![0x81];
    if length < 126 {
        frame.push(0x80 | u8::try_from(length)?);
    } else if let Ok(short) = u16::try_from(length) {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&short.to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(length as u64).to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(text.as_bytes());
    stream.write_all(&frame).await?;
    Ok(())
}

/// The next whole text message, its fragments joined; pings are answered.
async fn read_text(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await?;
        let length = match header[1] & 0x7f {
            126 => {
                let mut extended = [0u8; 2];
                stream.read_exact(&mut extended).await?;
                u64::from(u16::from_be_bytes(extended))
            }
            127 => {
                let mut extended = [0u8; 8];
                stream.read_exact(&mut extended).await?;
                u64::from_be_bytes(extended)
            }
            short => u64::from(short),
        };
        anyhow::ensure!(length < 256 << 20, "a DevTools message too long");
        let mut payload = vec![0u8; usize::try_from(length)?];
        stream.read_exact(&mut payload).await?;
        match header[0] & 0x0f {
            0x8 => anyhow::bail!("DevTools closed the socket"),
            0x9 => {
                let mut pong = vec![0x8a, 0x80 | u8::try_from(payload.len().min(125))?];
                pong.extend_from_slice(&[0, 0, 0, 0]);
                pong.extend_from_slice(&payload[..payload.len().min(125)]);
                stream.write_all(&pong).await?;
                continue;
            }
            0xa => continue,
            _ => message.extend_from_slice(&payload),
        }
        if header[0] & 0x80 != 0 {
            return Ok(String::from_utf8(message)?);
        }
    }
}
