//! A guard on a connection's first request line. Hyper answers a request line it cannot
//! hold (a path over 64 KiB) with a 414 of its own, without a body; the API answers
//! every path over 8 KiB with its JSON 414 (`hilo_web::limits`). The guard holds the
//! first line back until it ends, and when it runs past [`LIMIT`] hands hyper, instead,
//! a request whose path is long enough for the API's answer and closes the connection
//! after it, so even a 100 KB path gets the JSON error.
//!
//! Only a connection's first request is guarded: on a kept-alive connection the bytes
//! after a response may be a request's body (after `100 Continue`), which has no lines.
//! A client that sends a path over 64 KiB on a reused connection gets hyper's answer.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes of a first request line held back at most; past it, the line is refused.
pub const LIMIT: usize = 16 * 1024;

/// What the guard does with the bytes it reads.
enum State {
    /// Holding the first line back until its end.
    Holding(Vec<u8>),
    /// Handing over what it held (from the offset), then passing bytes through.
    Handing(Vec<u8>, usize),
    /// Everything passes through.
    Passing,
    /// The line was refused: the stand-in request is handed over (from the offset),
    /// and what the client still sends is read and dropped, so it reads the answer
    /// rather than a reset connection.
    Refused(Refusal),
}

/// A refused line's stand-in request and the reading-on after it.
struct Refusal {
    stand_in: Vec<u8>,
    at: usize,
    dropped: usize,
    /// Reading on ends here at the latest.
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// Bytes read on and dropped after a refused line, at most.
const DRAIN: usize = 8 * 1024 * 1024;
/// How long reading on may last.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(5);

impl Refusal {
    /// Reads and drops what the client sends until it stops, the cap or the deadline;
    /// `Pending` while it is still sending.
    fn drain<S: AsyncRead + Unpin>(&mut self, inner: &mut S, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 8192];
        loop {
            if self.dropped > DRAIN || self.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            let mut read = ReadBuf::new(&mut scratch);
            match Pin::new(&mut *inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => self.dropped += read.filled().len(),
            }
        }
    }
}

/// A connection whose first request line is checked before hyper reads it.
pub struct FirstLineGuard<S> {
    inner: S,
    state: State,
}

impl<S> FirstLineGuard<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            state: State::Holding(Vec::new()),
        }
    }
}

/// A request the API refuses with its JSON 414, closing the connection after it.
fn stand_in() -> Vec<u8> {
    let path = "x".repeat(hilo_web::limits::MAX_URI + 1);
    format!("GET /{path} HTTP/1.1\r\nhost: hilo\r\nconnection: close\r\n\r\n").into_bytes()
}

/// Copies what is left of `bytes` from `*at` into `buf`; whether all of it is out.
fn hand(bytes: &[u8], at: &mut usize, buf: &mut ReadBuf<'_>) -> bool {
    let n = (bytes.len() - *at).min(buf.remaining());
    buf.put_slice(&bytes[*at..*at + n]);
    *at += n;
    *at == bytes.len()
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstLineGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Passing => return Pin::new(&mut this.inner).poll_read(cx, buf),
                State::Handing(bytes, at) => {
                    if hand(bytes, at, buf) {
                        this.state = State::Passing;
                    }
                    return Poll::Ready(Ok(()));
                }
                State::Refused(refusal) => {
                    if refusal.at < refusal.stand_in.len() {
                        hand(&refusal.stand_in, &mut refusal.at, buf);
                        return Poll::Ready(Ok(()));
                    }
                    // No end of input for hyper: it would close before answering.
                    // It closes after the answer instead (the stand-in asks it to).
                    let _ = refusal.drain(&mut this.inner, cx);
                    return Poll::Pending;
                }
                State::Holding(held) => {
                    let mut chunk = [0u8; 4096];
                    let mut read = ReadBuf::new(&mut chunk);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                        Poll::Ready(Ok(())) => {}
                    }
                    let new = read.filled();
                    if new.is_empty() {
                        // The client stopped sending: hand over what came (hyper sees
                        // the end of input after it).
                        let held = std::mem::take(held);
                        if held.is_empty() {
                            this.state = State::Passing;
                            return Poll::Ready(Ok(()));
                        }
                        this.state = State::Handing(held, 0);
                        continue;
                    }
                    held.extend_from_slice(new);
                    if held.contains(&b'\n') {
                        let held = std::mem::take(held);
                        this.state = State::Handing(held, 0);
                    } else if held.len() > LIMIT {
                        this.state = State::Refused(Refusal {
                            stand_in: stand_in(),
                            at: 0,
                            dropped: 0,
                            deadline: Box::pin(tokio::time::sleep(DRAIN_FOR)),
                        });
                    }
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for FirstLineGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        // After a refusal, close only once the client stopped sending (or the cap or
        // deadline came): closing with its bytes unread would reset the connection
        // under the answer.
        if let State::Refused(refusal) = &mut this.state
            && refusal.drain(&mut this.inner, cx).is_pending()
        {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn through_guard(input: Vec<u8>) -> Vec<u8> {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(async move {
            let _ = client.write_all(&input).await;
            let _ = client.shutdown().await;
            client
        });
        let mut guard = FirstLineGuard::new(server);
        let mut out = Vec::new();
        let mut chunk = [0u8; 1024];
        // A refused line never ends the input: read until nothing more comes.
        while let Ok(Ok(n)) = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            guard.read(&mut chunk),
        )
        .await
        {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        drop(writer.await);
        out
    }

    #[tokio::test]
    async fn short_lines_pass_through_unchanged() {
        let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nbody".to_vec();
        assert_eq!(through_guard(request.clone()).await, request);
    }

    #[tokio::test]
    async fn a_line_past_the_limit_becomes_a_request_the_api_refuses() {
        let mut request = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100_000)).into_bytes();
        request.extend_from_slice(b"host: x\r\n\r\n");
        let out = through_guard(request).await;
        assert_eq!(out, stand_in());
        assert!(String::from_utf8_lossy(&out).contains("connection: close"));
    }
}
