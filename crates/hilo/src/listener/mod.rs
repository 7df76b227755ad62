//! Serving HTTP/1.1 with what a listener facing the internet needs: a connection limit
//! (past it a connection gets a JSON 503 and is closed), a deadline for a request's
//! headers, room for oversized headers to reach the API's own JSON 431, a first request
//! line too long for hyper turned into the API's JSON 414 (`first_line`), and a graceful
//! stop that lets requests in flight finish. Bodies get their deadline in the router
//! (`hilo_web::limits`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tracing::{debug, warn};

mod first_line;
use first_line::FirstLineGuard;

/// How many connections and how long for headers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Hyper's read buffer: a request's line and headers must fit. Larger than the API's
/// own header limit (`hilo_web::limits`), so an oversized header gets its JSON answer
/// rather than hyper's empty one.
const READ_BUFFER: usize = 1_310_720;
/// Headers hyper parses at most; the API's own limit is lower.
const PARSED_HEADERS: usize = 1_000;

/// Serves `app` until `stop` turns true, then lets open connections finish their
/// request in flight (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(READ_BUFFER)
        .max_headers(PARSED_HEADERS);
    loop {
        let (stream, peer) = tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(turn_away(stream));
            continue;
        };
        // Live streams (server-sent events, the widget's socket) write small frames one
        // after another: with Nagle's algorithm each would wait for the reader's delayed
        // acknowledgement of the last, up to 40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%peer, %error, "could not turn off Nagle's algorithm");
        }
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let http = http.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let connection = http
                .serve_connection(TokioIo::new(FirstLineGuard::new(stream)), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // No new connections from here on; open ones finish their request in flight.
    drop(listener);
    // Every connection gives its slot back when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Returns once `stop` turns true. (The watch's guard is dropped here, so it never
/// lives across an await of the caller's.)
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Answers a connection past the limit with a JSON 503 and closes it.
async fn turn_away(mut stream: TcpStream) {
    const BODY: &str = r#"{"error":{"code":"unavailable","message":"the server has as many connections as it takes; retry in a moment"}}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
    debug!("connection turned away: at the connection limit");
}
