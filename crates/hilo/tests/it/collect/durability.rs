//! Acknowledged means durable: SIGKILL in the middle of ingestion loses nothing that
//! was answered with 200, and stores nothing twice.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{PostgresDatabase, postgres_admin_url};

const HILO: &str = env!("CARGO_BIN_EXE_hilo");
const ADMIN_KEY: &str = "durability-admin-key-0123456789abcdefgh";

/// Starts `hilo serve` on a free port and waits until it answers. The caller kills and
/// waits for it.
#[allow(clippy::zombie_processes)]
async fn start(data: &std::path::Path, database_url: &str, port: u16) -> std::process::Child {
    let child = Command::new(HILO)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .arg("--data-dir")
        .arg(data)
        .env("HILO_ADMIN_KEY", ADMIN_KEY)
        .env("HILO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hilo");
    let client = crate::support::http_client();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("hilo did not start");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn kill_during_ingestion(
    database_url: &str,
    count: impl AsyncFnOnce() -> Vec<(String, i64)>,
) {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(&data, database_url, port).await;
    let client = crate::support::http_client();
    let base = format!("http://127.0.0.1:{port}");
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/sources"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "Load", "channel": "server"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let write_key = created["write_key"].as_str().expect("write key").to_owned();

    let mut acknowledged = BTreeSet::new();
    let mut next = 0usize;
    for round in 0..3 {
        // How many the sender has had acknowledged so far: the kill waits for the first,
        // so a busy machine cannot make a round end before anything was taken.
        let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sender = {
            let progress = progress.clone();
            let client = client.clone();
            let base = base.clone();
            let write_key = write_key.clone();
            let start = next;
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut sent = start;
                for batch in 0.. {
                    // Four concurrent batches of 25, so commits group several requests.
                    let mut requests = Vec::new();
                    for lane in 0..4 {
                        let ids: Vec<String> = (0..25)
                            .map(|i| format!("m-{}", start + (batch * 4 + lane) * 25 + i))
                            .collect();
                        let messages: Vec<_> = ids
                            .iter()
                            .enumerate()
                            .map(|(i, id)| {
                                json!({"type": "track", "event": "Tick",
                                "userId": format!("user-{}", i % 7), "messageId": id})
                            })
                            .collect();
                        let request = client
                            .post(format!("{base}/v1/batch"))
                            .basic_auth(&write_key, Some(""))
                            .json(&json!({"batch": messages}))
                            .send();
                        requests.push((ids, request));
                    }
                    let mut failed = false;
                    for (ids, request) in requests {
                        sent += ids.len();
                        match request.await {
                            Ok(response) if response.status() == 200 => {
                                progress.fetch_add(ids.len(), std::sync::atomic::Ordering::SeqCst);
                                acked.extend(ids);
                            }
                            _ => failed = true,
                        }
                    }
                    if failed {
                        break;
                    }
                }
                (acked, sent)
            })
        };
        let started = std::time::Instant::now();
        while progress.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: nothing acknowledged within a minute"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200 + round * 150)).await;
        server.kill().expect("SIGKILL");
        let _ = server.wait();
        let (acked, sent) = sender.await.expect("sender");
        assert!(!acked.is_empty(), "round {round} acknowledged nothing");
        acknowledged.extend(acked);
        next = sent + 1_000;
        server = start(&data, database_url, port).await;
    }
    // Clients retry what they are unsure of, after the restart too: still stored once.
    let retried: Vec<&String> = acknowledged.iter().collect();
    for chunk in retried.chunks(100) {
        let messages: Vec<_> = chunk
            .iter()
            .map(
                |id| json!({"type": "track", "event": "Tick", "userId": "user-0", "messageId": id}),
            )
            .collect();
        let response = client
            .post(format!("{base}/v1/batch"))
            .basic_auth(&write_key, Some(""))
            .json(&json!({"batch": messages}))
            .send()
            .await
            .expect("retry");
        assert_eq!(response.status(), 200);
    }
    server.kill().expect("stop");
    let _ = server.wait();

    let stored = count().await;
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    for (id, copies) in &stored {
        assert_eq!(*copies, 1, "{id} stored {copies} times");
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored_ids.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("hilo.db");
    let url = format!("sqlite://{}", file.display());
    kill_during_ingestion(&url, async || {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query_as("SELECT message_id, COUNT(*) FROM timeline GROUP BY message_id")
            .fetch_all(&mut connection)
            .await
            .expect("count")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message_on_postgres() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let database = PostgresDatabase::create(&admin).await;
    let url = database.url.clone();
    kill_during_ingestion(&url, async || {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&url).await.expect("open");
        sqlx::query_as("SELECT message_id, COUNT(*) FROM timeline GROUP BY message_id")
            .fetch_all(&mut connection)
            .await
            .expect("count")
    })
    .await;
}
