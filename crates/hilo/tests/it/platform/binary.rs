//! The `hilo` binary as an operator runs it: first start, configuration errors, signals,
//! and the admin subcommands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{PostgresDatabase, postgres_admin_url};

const HILO: &str = env!("CARGO_BIN_EXE_hilo");

/// A `hilo serve` process whose stderr is collected line by line.
struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    addr: String,
}

impl Server {
    fn start(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(HILO);
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env_remove("HILO_ADMIN_KEY")
            .env_remove("HILO_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn hilo");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            seen: Vec::new(),
            addr: String::new(),
        };
        let line = server.wait_for(|l| l.contains("listening on http://"));
        let start =
            line.find("listening on http://").expect("address") + "listening on http://".len();
        server.addr = line[start..]
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .expect("address")
            .to_owned();
        server
    }

    fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "hilo never printed the expected line; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status;
            }
            assert!(Instant::now() < deadline, "hilo did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(HILO);
    command
        .args(args)
        .env_remove("HILO_ADMIN_KEY")
        .env_remove("HILO_DATABASE_URL")
        .env_remove("HILO_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawn hilo");
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), stdin) {
        pipe.write_all(input.as_bytes()).expect("stdin");
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn get_me(url: &str, key: &str) -> u16 {
    crate::support::http_client()
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// What start-up says when PostgreSQL's autovacuum is off.
const AUTOVACUUM_WARNING: &str = "PostgreSQL runs with autovacuum off";

/// `autovacuum_off`: whether the database's server runs without autovacuum, so start-up
/// must warn.
async fn first_start_on(database_url: Option<&str>, autovacuum_off: bool) {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let args: Vec<&str> = database_url.map_or(vec![], |url| vec!["--database-url", url]);
    let mut server = Server::start(&data, &args, &[]);
    let output = server.stderr();
    assert_eq!(
        output.contains(AUTOVACUUM_WARNING),
        autovacuum_off,
        "{output}"
    );
    let key = output
        .split_whitespace()
        .find(|w| w.starts_with("hilo_sk_"))
        .expect("the admin key is printed")
        .to_owned();
    let file = data.join("initial-admin-key");
    assert_eq!(
        std::fs::read_to_string(&file).expect("key file").trim(),
        key
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(get_me(&server.url("/api/v1/me"), &key).await, 200);
    assert!(server.terminate().success());

    // A second start neither prints nor makes another key; the first still works.
    std::fs::remove_file(&file).expect("operator removes the file");
    let mut again = Server::start(&data, &args, &[]);
    assert!(!again.stderr().contains("hilo_sk_"), "{}", again.stderr());
    assert!(!file.exists());
    assert_eq!(get_me(&again.url("/api/v1/me"), &key).await, 200);
    assert!(again.terminate().success());
}

#[tokio::test]
async fn first_start_prints_and_saves_one_admin_key_on_sqlite() {
    first_start_on(None, false).await;
}

#[tokio::test]
async fn first_start_prints_and_saves_one_admin_key_on_postgres() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let database = PostgresDatabase::create(&admin).await;
    let mut conn = sqlx::PgConnection::connect(&database.url)
        .await
        .expect("connect");
    let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(&mut conn)
        .await
        .expect("setting");
    first_start_on(Some(&database.url), autovacuum == "off").await;
}

#[tokio::test]
async fn a_preset_admin_key_is_used_and_never_printed() {
    let dir = tempfile::tempdir().expect("dir");
    let key = "operator-chosen-admin-key-0123456789abcdef";
    let mut server = Server::start(
        &dir.path().join("data"),
        &[],
        &[("HILO_ADMIN_KEY", key), ("HILO_LOG_FORMAT", "json")],
    );
    assert_eq!(get_me(&server.url("/api/v1/me"), key).await, 200);
    assert!(!dir.path().join("data/initial-admin-key").exists());
    assert!(server.terminate().success());
    let output = server.stderr();
    assert!(!output.contains(key), "secrets never reach the logs");
    assert!(!output.contains("hilo_sk_"));
    // JSON logs: every line parses, and request lines carry the request id.
    let mut request_lines = 0;
    for line in output.lines() {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if value["message"] == "request" {
            request_lines += 1;
            let text = line.to_owned();
            assert!(text.contains("request_id"), "{text}");
        }
    }
    assert!(request_lines >= 1);
}

#[test]
fn configuration_errors_name_the_setting_and_stop_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("path");
    let config = dir.path().join("hilo.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ncolour = \"blue\"\n").expect("write");
    let config_arg = config.to_str().expect("path");
    /// Arguments, environment, and what the error must say.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: [Case; 7] = [
        (
            vec!["serve", "--listen", "nonsense"],
            vec![],
            &["`listen`", "--listen", "HOST:PORT"],
        ),
        (
            vec!["serve"],
            vec![("HILO_LISTEN", "localhost")],
            &["`listen`", "HILO_LISTEN"],
        ),
        (
            vec!["serve"],
            vec![("HILO_DATABASE_URL", "mysql://root:hunter2@db/hilo")],
            &["`database_url`", "HILO_DATABASE_URL", "postgres://"],
        ),
        (
            vec!["serve", "--public-url", "hilo.example.com"],
            vec![],
            &["`public_url`", "https://"],
        ),
        (
            vec!["serve"],
            vec![("HILO_ADMIN_KEY", "short")],
            &["`admin_key`", "HILO_ADMIN_KEY", "32"],
        ),
        (
            vec!["serve", "--log-format", "xml"],
            vec![],
            &["`log_format`", "text or json"],
        ),
        (
            vec!["serve", "--config", config_arg],
            vec![],
            &["`config`", "colour"],
        ),
    ];
    for (args, env, expected) in cases {
        let mut all_args = args.clone();
        all_args.extend(["--data-dir", data_arg]);
        let (code, _, stderr) = run(&all_args, &env, None);
        assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
        for text in expected {
            assert!(
                stderr.contains(text),
                "{args:?} {env:?}: {stderr:?} lacks {text:?}"
            );
        }
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!data.exists(), "nothing starts on a bad setting");
    }
}

#[test]
fn flags_beat_environment_beat_file_beat_defaults() {
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name);
    let url = |name: &str| format!("sqlite://{}", path(name).display());
    let config = path("hilo.toml");
    std::fs::write(&config, format!("database_url = \"{}\"\n", url("file.db"))).expect("write");
    let config_arg = config.to_str().expect("path").to_owned();
    let data_arg = path("data").to_str().expect("path").to_owned();
    let env_url = url("env.db");
    let flag_url = url("flag.db");

    let base = [
        "migrate",
        "--data-dir",
        data_arg.as_str(),
        "--config",
        config_arg.as_str(),
    ];
    let (code, _, stderr) = run(&base, &[], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(path("file.db").exists(), "the file beats the default");
    let (code, _, stderr) = run(&base, &[("HILO_DATABASE_URL", env_url.as_str())], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(path("env.db").exists(), "the environment beats the file");
    let mut with_flag = base.to_vec();
    with_flag.extend(["--database-url", flag_url.as_str()]);
    let (code, _, stderr) = run(&with_flag, &[("HILO_DATABASE_URL", env_url.as_str())], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(path("flag.db").exists(), "the flag beats the environment");
    assert!(!path("data/hilo.db").exists(), "the default was never used");
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_exits_on_sqlite() {
    sigterm_on(None);
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_exits_on_postgres() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let database = PostgresDatabase::create(&admin).await;
    sigterm_on(Some(&database.url));
}

fn sigterm_on(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("dir");
    let key = "operator-chosen-admin-key-0123456789abcdef";
    let args: Vec<&str> = database_url.map_or(vec![], |url| vec!["--database-url", url]);
    let mut server = Server::start(&dir.path().join("data"), &args, &[("HILO_ADMIN_KEY", key)]);
    let body = br#"{"name": "Started before shutdown", "channel": "web"}"#;
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    let head = format!(
        "POST /api/v1/sources HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(&body[..10]).expect("half the body");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));

    let kill = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    server.wait_for(|l| l.contains("shutting down"));
    // New connections are no longer accepted...
    std::thread::sleep(Duration::from_millis(200));
    assert!(TcpStream::connect(&server.addr).is_err(), "listener closed");
    // ...but the request in flight completes.
    stream.write_all(&body[10..]).expect("rest of the body");
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}: {}", server.stderr());
}

#[test]
fn admin_subcommands_manage_keys_users_and_migrations() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("path");
    for _ in 0..2 {
        let (code, _, stderr) = run(&["migrate", "--data-dir", data_arg], &[], None);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("up to date"), "{stderr}");
    }

    let (code, stdout, stderr) = run(
        &[
            "keys",
            "create",
            "--name",
            "POS integration",
            "--role",
            "store",
            "--data-dir",
            data_arg,
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let key = stdout.trim().to_owned();
    assert!(key.starts_with("hilo_sk_"), "{stdout}");
    let (code, stdout, _) = run(&["keys", "list", "--data-dir", data_arg], &[], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("POS integration"));
    assert!(!stdout.contains(&key), "lists never show secrets");
    let id = stdout
        .lines()
        .find(|l| l.contains("POS integration"))
        .and_then(|l| l.split_whitespace().next())
        .expect("id")
        .to_owned();
    let (code, _, stderr) = run(&["keys", "revoke", &id, "--data-dir", data_arg], &[], None);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run(&["keys", "list", "--data-dir", data_arg], &[], None);
    let line = stdout
        .lines()
        .find(|l| l.contains("POS integration"))
        .expect("listed");
    assert!(line.contains("20"), "revocation time shown: {line}");
    let (code, _, stderr) = run(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--role",
            "root",
            "--data-dir",
            data_arg,
        ],
        &[],
        None,
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("role"), "{stderr}");

    let (code, _, stderr) = run(
        &[
            "users",
            "create",
            "--email",
            "Ana@Example.com",
            "--role",
            "agent",
            "--password-stdin",
            "--data-dir",
            data_arg,
        ],
        &[],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(
        &[
            "users",
            "reset-password",
            "--email",
            "ana@example.com",
            "--data-dir",
            data_arg,
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.trim().len() >= 10,
        "a generated password is printed once"
    );
    let (code, _, stderr) = run(
        &[
            "users",
            "create",
            "--email",
            "ana@example.com",
            "--role",
            "agent",
            "--password-stdin",
            "--data-dir",
            data_arg,
        ],
        &[],
        Some("another long password\n"),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists"), "{stderr}");
    let (code, stdout, _) = run(&["users", "list", "--data-dir", data_arg], &[], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("ana@example.com"));

    let (code, stdout, _) = run(&["version"], &[], None);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("hilo {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn every_subcommand_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "create", "--help"],
        vec!["keys", "list", "--help"],
        vec!["keys", "revoke", "--help"],
        vec!["users", "--help"],
        vec!["users", "create", "--help"],
        vec!["users", "reset-password", "--help"],
        vec!["users", "list", "--help"],
        vec!["openapi", "--help"],
        vec!["version", "--help"],
    ] {
        let (code, stdout, _) = run(&args, &[], None);
        assert_eq!(code, 0, "{args:?}");
        assert!(stdout.contains("Usage:"), "{args:?}: {stdout}");
        assert!(stdout.lines().count() > 4, "{args:?}: {stdout}");
    }
}

#[tokio::test]
async fn demo_fills_an_empty_database_once() {
    let dir = tempfile::tempdir().expect("dir");
    let key = "operator-chosen-admin-key-0123456789abcdef";
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &["--demo"], &[("HILO_ADMIN_KEY", key)]);
    let output = server.stderr();
    assert!(output.contains("Demo data loaded"), "{output}");
    assert!(output.contains("admin@demo.hilo.example"));
    let sources: Value = crate::support::http_client()
        .get(server.url("/api/v1/sources"))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let channels: Vec<&str> = sources["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["channel"].as_str())
        .collect();
    for channel in [
        "web",
        "app",
        "pos",
        "kiosk",
        "call_center",
        "voice_assistant",
    ] {
        assert!(channels.contains(&channel), "{channels:?}");
    }
    // Customers known on several channels, through the same ingestion as any SDK.
    let ana: Value = crate::support::http_client()
        .get(server.url("/api/v1/customers/lookup"))
        .query(&[("type", "loyalty_card"), ("value", "LC-1001")])
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(ana["traits"]["name"], "Ana García");
    // Her WhatsApp chat and her call are on the same profile, in one conversation.
    assert_eq!(
        ana["computed"]["channels"],
        serde_json::json!(["app", "pos", "voice", "web", "whatsapp"])
    );
    assert_eq!(ana["computed"]["event_count"], 5);
    let conversations: Value = crate::support::http_client()
        .get(server.url("/api/v1/conversations"))
        .query(&[("customer_id", ana["id"].as_str().expect("id"))])
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let thread_id = conversations["data"][0]["id"]
        .as_str()
        .expect("a conversation");
    let thread: Value = crate::support::http_client()
        .get(server.url(&format!("/api/v1/conversations/{thread_id}")))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let kinds: Vec<&str> = thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["channel_type"].as_str())
        .collect();
    assert_eq!(kinds[..2], ["twilio_whatsapp", "voice"]);
    // Her order waiting at the Gran Vía desk is told to her on WhatsApp, where she wrote
    // last, by a job that may already have run: its code is never in the stored text.
    for notice in thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .skip(2)
    {
        let content = notice["content"].as_str().unwrap_or_default();
        assert!(
            content.contains("listo para recoger") && content.contains("[[pickup-code:"),
            "{content}"
        );
    }
    assert_eq!(thread["messages"][1]["call"]["status"], "completed");
    // Its web chat: the tag to paste, and a visitor welcomed on its socket.
    let channels: Value = crate::support::http_client()
        .get(server.url("/api/v1/channels"))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let chat = channels["data"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["type"] == "web_chat")
        .expect("a web chat channel");
    assert!(
        chat["widget_snippet"]
            .as_str()
            .expect("snippet")
            .contains("/widget.js")
    );
    let base = server.url("");
    let mut visitor = crate::support::web_chat::Visitor::connect(
        base.trim_end_matches('/'),
        chat["id"].as_str().expect("id"),
        None,
    )
    .await;
    let ready = visitor
        .hello(serde_json::json!({"anonymous_id": "demo-visitor"}))
        .await;
    assert!(
        ready["welcome_message"]
            .as_str()
            .expect("a welcome")
            .contains("How can we help")
    );
    visitor.close().await;
    assert!(server.terminate().success());
    let mut again = Server::start(&data, &["--demo"], &[("HILO_ADMIN_KEY", key)]);
    assert!(!again.stderr().contains("Demo data loaded"));
    assert!(again.terminate().success());
}

#[tokio::test]
async fn imports_resolve_customers_and_are_idempotent() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("path");
    let customers = dir.path().join("customers.csv");
    std::fs::write(
        &customers,
        "user_id,email,phone,id:loyalty_card,name,city\n\
         u-1,Ana@Example.com,612 345 678,LC-1,Ana,Madrid\n\
         ,bo@example.com,,LC-2,\"Bo, Jr.\",Lima\n\
         ,not-an-email,,,Nadie,\n\
         ,,,,Sin datos,Quito\n",
    )
    .expect("write csv");
    let events = dir.path().join("events.ndjson");
    std::fs::write(
        &events,
        "{\"type\":\"track\",\"userId\":\"u-1\",\"event\":\"Order Completed\",\"messageId\":\"e-1\",\"timestamp\":\"2026-01-02T10:00:00Z\"}\n\
         {\"type\":\"page\",\"anonymousId\":\"dev-9\",\"name\":\"Home\"}\n\
         \n\
         {\"type\":\"identify\",\"anonymousId\":\"dev-9\",\"traits\":{\"email\":\"bo@example.com\"}}\n\
         {\"type\":\"track\",\"userId\":\"u-1\"}\n\
         not json\n",
    )
    .expect("write ndjson");

    let (code, stdout, stderr) = run(
        &[
            "import",
            "customers",
            customers.to_str().expect("path"),
            "--data-dir",
            data_arg,
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("4 read, 2 stored, 0 already imported, 2 rejected"),
        "{stdout}"
    );
    let rejected =
        std::fs::read_to_string(dir.path().join("customers.rejected.csv")).expect("rejected file");
    assert!(
        rejected.contains("not-an-email") && rejected.contains("email"),
        "{rejected}"
    );
    assert!(
        rejected.contains("Sin datos") && rejected.contains("no identifier"),
        "{rejected}"
    );
    let (code, stdout, _) = run(
        &[
            "import",
            "customers",
            customers.to_str().expect("path"),
            "--data-dir",
            data_arg,
        ],
        &[],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("4 read, 0 stored, 2 already imported, 2 rejected"),
        "{stdout}"
    );

    for expected in [
        "5 read, 3 stored, 0 already imported, 2 rejected",
        "5 read, 0 stored, 3 already imported, 2 rejected",
    ] {
        let (code, stdout, stderr) = run(
            &[
                "import",
                "events",
                events.to_str().expect("path"),
                "--data-dir",
                data_arg,
            ],
            &[],
            None,
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with(expected), "{stdout}");
    }
    let rejected =
        std::fs::read_to_string(dir.path().join("events.rejected.ndjson")).expect("rejected file");
    let lines: Vec<Value> = rejected
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 5);
    assert!(lines[0]["error"].as_str().expect("error").contains("event"));
    assert_eq!(lines[1]["line"], 6);

    let key = "operator-chosen-admin-key-0123456789abcdef";
    let mut server = Server::start(&data, &[], &[("HILO_ADMIN_KEY", key)]);
    let client = crate::support::http_client();
    let lookup = |kind: &'static str, value: &'static str| {
        let client = client.clone();
        let url = server.url("/api/v1/customers/lookup");
        async move {
            client
                .get(url)
                .query(&[("type", kind), ("value", value)])
                .bearer_auth(key)
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let ana = lookup("loyalty_card", "LC-1").await;
    assert_eq!(ana["traits"]["name"], "Ana");
    assert_eq!(ana["computed"]["event_count"], 1, "the order");
    let timeline: Value = client
        .get(server.url(&format!(
            "/api/v1/customers/{}/timeline",
            ana["id"].as_str().expect("id")
        )))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let items: Vec<&str> = timeline["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|i| i["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        items,
        ["staff", "event"],
        "the imported row, then the older order"
    );
    let bo = lookup("anonymous_id", "dev-9").await;
    assert_eq!(bo["traits"]["name"], "Bo, Jr.");
    assert_eq!(bo["id"], lookup("loyalty_card", "LC-2").await["id"]);
    assert!(server.terminate().success());
}

/// The load generator runs end to end and reports, beside its own figures, the limits it
/// measured in the same run.
fn ingest_benchmark_on(database_url: Option<&str>) {
    let mut args = vec![
        "bench",
        "ingest",
        "--messages",
        "2000",
        "--customers",
        "200",
        "--batch",
        "50",
        "--batch-clients",
        "4",
        "--single-requests",
        "300",
        "--single-clients",
        "20",
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let (code, stdout, stderr) = run(&args, &[("HILO_LOG", "warn")], None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for expected in [
        "(a) bare insert loop: ",
        "(b) bare HTTP round trips (GET /healthz): ",
        "batches: ",
        "of the write limit (a)",
        "batch latency p50",
        "read after write: the profile reflects the message at once",
        "single-message requests: ",
        "memory: resident",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn the_ingest_benchmark_reports_its_figures_and_limits_on_sqlite() {
    ingest_benchmark_on(None);
}

#[tokio::test]
async fn the_ingest_benchmark_reports_its_figures_and_limits_on_postgres() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let database = PostgresDatabase::create(&admin).await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || ingest_benchmark_on(Some(&url)))
        .await
        .expect("benchmark");
}

/// Another process writing to the same embedded database (an import while the server
/// runs) is seen by the server's writer: a message the import stored is a duplicate when
/// an SDK sends it again.
#[tokio::test]
async fn events_imported_while_serving_are_known_to_the_server() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let key = "import-while-serving-admin-key-0123456789";
    let mut server = Server::start(&data, &[], &[("HILO_ADMIN_KEY", key)]);
    let client = crate::support::http_client();
    let created: Value = client
        .post(server.url("/api/v1/sources"))
        .bearer_auth(key)
        .json(&json!({"name": "Web", "channel": "web"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let write_key = created["write_key"].as_str().expect("write key").to_owned();
    let source_id = created["id"].as_str().expect("id").to_owned();
    let send = |message_id: &str| {
        client
            .post(server.url("/v1/track"))
            .basic_auth(&write_key, Some(""))
            .json(&json!({"userId": "shared-user", "event": "Seen", "messageId": message_id}))
            .send()
    };
    assert_eq!(send("before-import").await.expect("send").status(), 200);

    let events = dir.path().join("events.ndjson");
    std::fs::write(
        &events,
        "{\"type\":\"track\",\"userId\":\"shared-user\",\"event\":\"Seen\",\"messageId\":\"shared-1\"}\n",
    )
    .expect("write");
    let (code, stdout, stderr) = run(
        &[
            "import",
            "events",
            events.to_str().expect("path"),
            "--source",
            &source_id,
            "--data-dir",
            data.to_str().expect("path"),
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("1 read, 1 stored"), "{stdout}");

    assert_eq!(send("shared-1").await.expect("send").status(), 200);
    let customer: Value = client
        .get(server.url("/api/v1/customers/lookup?type=user_id&value=shared-user"))
        .bearer_auth(key)
        .send()
        .await
        .expect("lookup")
        .json()
        .await
        .expect("json");
    assert_eq!(customer["computed"]["event_count"], 2, "{customer}");
    assert!(server.terminate().success());
}

#[tokio::test]
async fn products_are_imported_from_csv_once() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("path");
    let products = dir.path().join("products.csv");
    std::fs::write(
        &products,
        "product,sku,name_es,name_en,price,currency,category,attr:talla,image\n\
         RUN,ZAP-42,Zapatilla Runner,Runner trainer,59.99,EUR,calzado;running,42,https://img.example/zap.jpg\n\
         RUN,ZAP-43,Zapatilla Runner,Runner trainer,\"59,99\",,calzado,43,\n\
         ,GOR-1,Gorra,Cap,19.9,EUR,,,\n\
         ,BAD 1,Malo,Bad,1.00,EUR,,,\n\
         ,NOPRICE,Sin precio,No price,,EUR,,,\n",
    )
    .expect("write csv");
    for expected in [
        "5 read, 3 stored, 0 already imported, 2 rejected",
        "5 read, 0 stored, 3 already imported, 2 rejected",
    ] {
        let (code, stdout, stderr) = run(
            &[
                "import",
                "products",
                products.to_str().expect("path"),
                "--data-dir",
                data_arg,
            ],
            &[],
            None,
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with(expected), "{stdout}");
    }
    let rejected =
        std::fs::read_to_string(dir.path().join("products.rejected.csv")).expect("rejected file");
    assert!(
        rejected.contains("BAD 1") && rejected.contains("sku"),
        "{rejected}"
    );
    assert!(
        rejected.contains("NOPRICE") && rejected.contains("price"),
        "{rejected}"
    );

    let key = "operator-chosen-admin-key-0123456789abcdef";
    let mut server = Server::start(&data, &[], &[("HILO_ADMIN_KEY", key)]);
    let client = crate::support::http_client();
    let found: Value = client
        .get(server.url("/api/v1/products?q=zap"))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let product = &found["data"][0];
    assert_eq!(found["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(product["name"]["en"], "Runner trainer");
    assert_eq!(
        product["categories"],
        serde_json::json!(["calzado", "running"])
    );
    assert_eq!(product["variants"][1]["sku"], "ZAP-43");
    assert_eq!(product["variants"][1]["price"]["amount"], 5999);
    assert_eq!(product["variants"][0]["attributes"]["talla"], "42");
    assert_eq!(
        product["variants"][0]["images"][0],
        "https://img.example/zap.jpg"
    );
    assert!(server.terminate().success());
}
