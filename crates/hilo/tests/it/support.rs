//! Starting servers for tests, and the helpers tests share.

mod access;
pub mod browser;
mod collect;
mod commerce;
mod conversations;
mod customers;
pub mod imap;
pub mod live;
pub mod meta;
pub mod receiver;
pub mod smtp;
pub mod twilio;
pub mod web_chat;
mod webhooks;

pub use customers::identities;

use std::sync::Arc;

use hilo::config::Settings;
use hilo::server::{RunningServer, start_with_clock};
use hilo_app::ManualClock;
use hilo_domain::Timestamp;
use hilo_store::DatabaseUrl;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tempfile::TempDir;

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = crate::support::TestApp::start_sqlite().await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = crate::support::TestApp::start_postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_engines;

/// A server started for one test, with a fresh database and an admin key.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub admin_key: String,
    pub clock: ManualClock,
    _dir: TempDir,
    server: Option<RunningServer>,
    // Dropped last: the database outlives the server that uses it.
    _database: Option<PostgresDatabase>,
}

/// The PostgreSQL server tests use, if any. In CI it must be set.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("HILO_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the PostgreSQL half of the suite: set HILO_TEST_DATABASE_URL"
            );
            eprintln!("HILO_TEST_DATABASE_URL is not set: PostgreSQL variant not run");
            None
        }
    }
}

impl TestApp {
    pub async fn start_sqlite() -> Self {
        Self::start_on(None, |_| {}).await
    }

    /// Starts on SQLite with settings changed by `adjust`.
    pub async fn start_sqlite_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::start_on(None, adjust).await
    }

    pub async fn start_postgres() -> Option<Self> {
        Self::start_postgres_with(|_| {}).await
    }

    /// Starts on a fresh PostgreSQL database with settings changed by `adjust`.
    pub async fn start_postgres_with(adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let admin_url = postgres_admin_url()?;
        Some(Self::start_on(Some(PostgresDatabase::create(&admin_url).await), adjust).await)
    }

    async fn start_on(
        database: Option<PostgresDatabase>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(&dir, database.as_ref());
        adjust(&mut settings);
        let clock = ManualClock::starting_at(Timestamp::from_millis(1_795_435_200_000));
        let server = start_with_clock(&settings, Arc::new(clock.clone()))
            .await
            .expect("server starts");
        let admin_key = server
            .initial_admin_key
            .as_ref()
            .expect("a fresh database gets an admin key")
            .expose()
            .to_owned();
        Self {
            base: format!("http://{}", server.addr),
            client: no_redirect_client(),
            admin_key,
            clock,
            _dir: dir,
            server: Some(server),
            _database: database,
        }
    }

    /// The port of the server's SMTP listener.
    pub fn smtp_port(&self) -> u16 {
        self.server
            .as_ref()
            .and_then(|s| s.smtp_addr)
            .expect("test servers take mail")
            .port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Another node on this test's PostgreSQL database, with its base URL; `None` on
    /// SQLite, which serves one node. The node stops when dropped.
    pub async fn second_node(&self) -> Option<(String, RunningServer, TempDir)> {
        let database = self._database.as_ref()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = test_settings(&dir, Some(database));
        let server = start_with_clock(&settings, Arc::new(self.clock.clone()))
            .await
            .expect("second node starts");
        Some((format!("http://{}", server.addr), server, dir))
    }

    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, Some(key))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(key))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops cleanly");
        }
    }

    /// The server's application, as an in-process consumer sees it.
    pub fn hilo(&self) -> &hilo_app::Hilo {
        &self.server.as_ref().expect("running").hilo
    }

    /// What this node's background workers would do now, by the manual clock: the
    /// change feed's consumers, then every due job. Returns the job attempts made.
    pub async fn step_workers(&self) -> usize {
        self.consume_feed().await;
        self.hilo().run_due_jobs().await.expect("jobs run")
    }

    /// Runs the change feed's consumers until nothing is held back. On PostgreSQL a
    /// change waits while any older transaction on the server runs (other tests' too);
    /// a worker would read it on its next poll.
    pub async fn consume_feed(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self
            .hilo()
            .run_feed_consumers()
            .await
            .expect("feed consumers run")
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Moves the manual clock to the real time (receivers that check a signature's
    /// timestamp compare it with theirs).
    pub fn clock_to_real_time(&self) {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_millis() as i64;
        let now = hilo_app::Clock::now(&self.clock).millis();
        self.clock.advance_millis(real - now);
    }

    pub fn store(&self) -> &hilo_store::Store {
        &self.server.as_ref().expect("running").store
    }
}

/// The `HILO_SECRET_KEY` of test servers.
pub const TEST_SECRET_KEY: &str = "test-secret-key-of-the-integration-suite-0001";

pub fn test_settings(dir: &TempDir, database: Option<&PostgresDatabase>) -> Settings {
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.smtp_listen = Some("127.0.0.1:0".parse().expect("address"));
    settings.public_url = "http://127.0.0.1".into();
    settings.body_limit = 64 * 1024;
    settings.database_max_connections = 5;
    // Tests step jobs and feed consumers themselves, after moving the manual clock, and
    // deliver webhooks to receivers on loopback.
    settings.run_workers = false;
    settings.webhook_allow_private = true;
    // Every node of a test's database seals with the same key, as an operator sets it.
    settings.secret_key = Some(hilo_domain::Secret::new(TEST_SECRET_KEY));
    if let Some(database) = database {
        settings.database_url = database.url.parse().expect("database url");
    } else {
        settings.database_url = DatabaseUrl::sqlite_file(dir.path().join("data/hilo.db"));
    }
    settings
}

/// Runs `script` with the Python of `HILO_TEST_PYTHON` (the published client libraries
/// of other systems), `input` as JSON on its standard input; its standard output.
/// `None` where no such Python is configured (outside CI, where it must be).
pub fn run_python(script: &str, input: &Value) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let python = match std::env::var("HILO_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must set HILO_TEST_PYTHON");
            return None;
        }
    };
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write the input");
    let output = child.wait_with_output().expect("python finishes");
    assert!(
        output.status.success(),
        "the Python check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("utf-8"))
}

/// An HTTP client for tests (reqwest is built with rustls, which needs its provider).
pub fn http_client() -> Client {
    hilo_app::webhooks::delivery::install_crypto_provider();
    Client::new()
}

pub fn no_redirect_client() -> Client {
    hilo_app::webhooks::delivery::install_crypto_provider();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Reads an error body and checks its shape; returns (code, field).
pub async fn error_of(response: Response) -> (String, Option<String>) {
    let body: Value = response.json().await.expect("error body is JSON");
    let error = &body["error"];
    assert!(error["message"].is_string(), "error has a message: {body}");
    (
        error["code"].as_str().expect("error code").to_owned(),
        error["field"].as_str().map(str::to_owned),
    )
}

/// A database created for one test on the PostgreSQL server, dropped afterwards.
pub struct PostgresDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    pub async fn create(admin_url: &str) -> Self {
        use sqlx::Connection;
        let name = format!("hilo_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to HILO_TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        Self {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A thread of its own: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Percent-encodes a form value.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
