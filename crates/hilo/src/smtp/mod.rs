//! Hilo's SMTP listener (`HILO_SMTP_LISTEN`): mail for an email channel's address is
//! taken here and stored in the sender's conversation before the `250` that
//! acknowledges it. It relays nothing (a recipient no channel receives for is refused)
//! and offers no TLS or AUTH: put it behind the organisation's mail server, or on a
//! private network, which then delivers the channel's mail to it.

mod session;

use std::sync::Arc;
use std::time::Duration;

use hilo_app::AppError;
use hilo_app::Hilo;
use hilo_app::conversations::email::MAX_EMAIL_BYTES;
use session::{Session, Step};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tracing::{debug, warn};

/// Sessions served at once; past it a client is told to come back later.
const MAX_SESSIONS: usize = 100;
/// How long a client may take over one command or one piece of data (RFC 5321 asks
/// servers to wait at least five minutes).
const IDLE: Duration = Duration::from_secs(300);
/// Longest command line taken (RFC 5321: 512; a margin for extensions).
const MAX_LINE: u64 = 4_096;
/// Longest line of data read at once (RFC 5321: 1,000; longer ones are read in
/// pieces, so one line cannot hold more memory than this).
const DATA_LINE: u64 = 64 * 1024;

/// Serves SMTP on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    hilo: Hilo,
    hostname: String,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "could not accept an SMTP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = stream
                    .write_all(b"421 4.3.2 Too many connections; try again later\r\n")
                    .await;
            });
            continue;
        };
        let hilo = hilo.clone();
        let hostname = hostname.clone();
        tokio::spawn(async move {
            if let Err(error) = converse(stream, &hilo, &hostname).await {
                debug!(%peer, %error, "SMTP session ended");
            }
            drop(slot);
        });
    }
}

async fn converse(stream: TcpStream, hilo: &Hilo, hostname: &str) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut session = Session::new(hostname, MAX_EMAIL_BYTES);
    write_line(&mut writer, &session.banner()).await?;
    loop {
        let Some(line) = read_line(&mut reader).await? else {
            return Ok(());
        };
        let answer = match session.command(&line) {
            Step::Reply(text) => text,
            Step::Close(text) => {
                write_line(&mut writer, &text).await?;
                return Ok(());
            }
            Step::CheckRecipient(address) => {
                let receives = match hilo.conversations().email_recipient(&address).await {
                    Ok(channel) => channel.is_some(),
                    Err(error) => {
                        warn!(%error, "SMTP recipient not checked");
                        write_line(&mut writer, "451 4.3.0 Try again later").await?;
                        continue;
                    }
                };
                session.recipient(address, receives)
            }
            Step::ReadData => {
                write_line(&mut writer, "354 End data with <CR><LF>.<CR><LF>").await?;
                let answer = match read_data(&mut reader).await? {
                    Some(data) => deliver(hilo, session.recipients(), &data).await,
                    None => format!("552 5.3.4 Messages are taken up to {MAX_EMAIL_BYTES} bytes"),
                };
                session.reset();
                answer
            }
        };
        write_line(&mut writer, &answer).await?;
    }
}

/// Stores the message for each recipient; `250` only once every copy is stored.
async fn deliver(hilo: &Hilo, recipients: &[String], data: &[u8]) -> String {
    let conversations = hilo.conversations();
    for recipient in recipients {
        match conversations.receive_email(recipient, data).await {
            Ok(_) => {}
            Err(AppError::Invalid(invalid)) => {
                return format!("554 5.6.0 The message cannot be read: {}", invalid.reason);
            }
            Err(error) => {
                warn!(%error, "email not stored; the sender will retry");
                return "451 4.3.0 Not stored; try again later".into();
            }
        }
    }
    "250 2.0.0 Stored".into()
}

async fn write_line(
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    text: &str,
) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await?;
    writer.flush().await
}

/// One command line; `None` at the end of the connection. Too long a line, or a
/// client silent too long, ends the session.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(IDLE, reader.take(MAX_LINE).read_until(b'\n', &mut line))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client silent"))??;
    if read == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// The message's data up to the lone dot, with dot-stuffing undone; `None` when it
/// was larger than taken (read to its end all the same, so the session goes on).
async fn read_data(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut too_large = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = tokio::time::timeout(IDLE, reader.take(DATA_LINE).read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client silent"))??;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "data cut short",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_large).then_some(data));
        }
        let piece = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + piece.len() > MAX_EMAIL_BYTES {
            too_large = true;
            data.clear();
        }
        if !too_large {
            data.extend_from_slice(piece);
        }
    }
}
