//! What a hostile or slow client meets: deadlines for headers and bodies, a connection
//! limit, and JSON answers for oversized paths and headers.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, error_of};

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Everything the server sends until it closes the connection or `within` passes.
async fn read_all(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_headers_is_cut_off() {
    let app = TestApp::start_sqlite_with(|s| s.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(address(&app)).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: hilo\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let (_, closed) = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "still open after 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_gets_a_json_408() {
    let app = TestApp::start_sqlite_with(|s| s.body_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(address(&app)).await.expect("connect");
    let head = format!(
        "POST /api/v1/sources HTTP/1.1\r\nhost: hilo\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"name\"",
        app.admin_key
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let (answer, closed) = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(closed, "the connection is closed after a 408");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_client_gets_a_json_503() {
    let app = TestApp::start_sqlite_with(|s| {
        s.max_connections = 2;
        s.header_timeout = Duration::from_secs(30);
    })
    .await;
    let first = TcpStream::connect(address(&app)).await.expect("connect");
    let _second = TcpStream::connect(address(&app)).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(address(&app)).await.expect("connect");
    let (answer, closed) = read_all(&mut third, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""code":"unavailable""#), "{answer}");
    assert!(closed);
    // A slot given back serves the next client.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = TcpStream::connect(address(&app)).await.expect("connect");
        next.write_all(b"GET /healthz HTTP/1.1\r\nhost: hilo\r\nconnection: close\r\n\r\n")
            .await
            .expect("write");
        let (answer, _) = read_all(&mut next, Duration::from_secs(5)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came back: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_paths_and_headers_get_json_errors() {
    let app = TestApp::start_sqlite().await;
    let long_path = format!("/api/v1/sources/{}", "x".repeat(20_000));
    let response = app.get(&long_path, &app.admin_key).await;
    assert_eq!(response.status(), 414);
    assert_eq!(error_of(response).await.0, "uri_too_long");
    // 100 KB and 1 MB are more than hyper holds (and than HTTP clients send): refused
    // the same way before hyper reads them.
    for size in [100_000, 1_000_000] {
        let mut stream = TcpStream::connect(address(&app)).await.expect("connect");
        let request = format!("GET /{} HTTP/1.1\r\nhost: hilo\r\n\r\n", "x".repeat(size));
        let _ = stream.write_all(request.as_bytes()).await;
        let _ = stream.shutdown().await;
        let (answer, _) = read_all(&mut stream, Duration::from_secs(5)).await;
        assert!(
            answer.starts_with("HTTP/1.1 414"),
            "{size}: {:.200}",
            answer
        );
        assert!(
            answer.contains(r#""code":"uri_too_long""#),
            "{size}: {:.300}",
            answer
        );
    }

    for (what, size) in [("a 100 KB header", 100_000), ("a 1 MB header", 1_000_000)] {
        let response = app
            .client
            .get(app.url("/healthz"))
            .header("x-big", "v".repeat(size))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 431, "{what}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["error"]["code"], "headers_too_large", "{what}");
    }
    let mut request = app.client.get(app.url("/healthz"));
    for n in 0..500 {
        request = request.header(format!("x-h{n}"), "v");
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 431);
    assert_eq!(error_of(response).await.0, "headers_too_large");

    // Ordinary requests are untouched.
    assert_eq!(app.get("/api/v1/me", &app.admin_key).await.status(), 200);
}
