//! Email channels whose mail stays in a mailbox: Hilo reads it over IMAP. Each pass
//! takes a lease on the mailbox (one node at a time reads it), fetches what arrived
//! after the last UID stored — without marking anything read, so the mailbox stays as
//! its owner keeps it — stores each email as the SMTP listener would, and, where the
//! server offers IDLE, waits there for new mail before the next pass.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use hilo_store::conversations::MailboxState;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use super::Conversations;
use super::providers::Channel;

/// How long a node keeps a mailbox once it took it; a pass (with its IDLE) ends well
/// before.
const LEASE: Duration = Duration::from_secs(90);
/// The longest IDLE in one pass (servers drop idle clients after 30 minutes; a
/// shorter wait also notices a changed setting soon).
pub const IDLE_AT_MOST: Duration = Duration::from_secs(60);
/// How long connecting, signing in and each command may take.
const COMMAND: Duration = Duration::from_secs(30);
/// Most messages stored in one pass; the rest wait for the next.
const PER_PASS: usize = 200;

/// A connection to an IMAP server, plain or TLS.
trait Link: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Link for T {}
type Session = async_imap::Session<Box<dyn Link>>;

/// Why a mailbox could not be read.
#[derive(Debug)]
struct ReadFailure(String);

impl<E: fmt::Display> From<E> for ReadFailure {
    fn from(error: E) -> Self {
        Self(error.to_string())
    }
}

impl Conversations<'_> {
    /// Reads every email channel's IMAP mailbox this node may take; with `idle`,
    /// waits (at most that long) for new mail on those whose server offers IDLE and
    /// reads it. Returns how many emails were stored.
    pub async fn read_mailboxes(&self, idle: Option<Duration>) -> crate::AppResult<usize> {
        let records = self.hilo.store.email_channels().await?;
        let mut passes = Vec::new();
        for record in records {
            let channel = self.hilo.channels().open(&record)?;
            if channel.settings.text("imap_host").is_none() {
                continue;
            }
            passes.push(async move { self.read_mailbox(&channel, idle).await });
        }
        let stored = futures_util::future::join_all(passes).await;
        Ok(stored.into_iter().sum())
    }

    /// One pass over one mailbox; failures are recorded on it and logged.
    async fn read_mailbox(&self, channel: &Channel, idle: Option<Duration>) -> usize {
        let store = &self.hilo.store;
        let now = self.hilo.now();
        let until = now.plus_millis(LEASE.as_millis() as i64);
        let state = match store
            .lease_mailbox(channel.id, &self.hilo.node, now, until)
            .await
        {
            Ok(Some(state)) => state,
            Ok(None) => return 0,
            Err(error) => {
                warn!(channel = %channel.id, %error, "mailbox lease not taken");
                return 0;
            }
        };
        match self.fetch_new(channel, state, idle).await {
            Ok(stored) => stored,
            Err(ReadFailure(reason)) => {
                warn!(channel = %channel.id, %reason, "mailbox not read");
                if let Err(error) = store
                    .mailbox_failed(channel.id, &reason, self.hilo.now())
                    .await
                {
                    warn!(%error, "mailbox failure not recorded");
                }
                0
            }
        }
    }

    async fn fetch_new(
        &self,
        channel: &Channel,
        mut state: MailboxState,
        idle: Option<Duration>,
    ) -> Result<usize, ReadFailure> {
        let mut session = sign_in(channel).await?;
        let folder = channel.settings.text("imap_mailbox").unwrap_or("INBOX");
        let mailbox = within(session.select(folder)).await??;
        if mailbox.uid_validity != state.uid_validity {
            // Another mailbox under the same name: UIDs start over (Message-IDs keep
            // what was stored already from being stored twice).
            state = MailboxState {
                uid_validity: mailbox.uid_validity,
                last_uid: 0,
            };
        }
        let mut stored = self.store_after(channel, &mut session, &mut state).await?;
        let offers_idle = within(session.capabilities()).await??.has_str("IDLE");
        if let Some(wait) = idle.filter(|_| offers_idle) {
            let mut handle = session.idle();
            within(handle.init()).await??;
            let (news, _stop) = handle.wait_with_timeout(wait.min(IDLE_AT_MOST));
            news.await?;
            session = within(handle.done()).await??;
            stored += self.store_after(channel, &mut session, &mut state).await?;
        }
        let _ = within(session.logout()).await;
        Ok(stored)
    }

    /// Stores the messages after `state.last_uid`, recording each as it goes.
    async fn store_after(
        &self,
        channel: &Channel,
        session: &mut Session,
        state: &mut MailboxState,
    ) -> Result<usize, ReadFailure> {
        // The new messages' UIDs and sizes first, then each body alone: a mailbox read
        // for the first time may hold years of mail, and one message may be huge.
        let range = format!("{}:*", state.last_uid.saturating_add(1));
        let mut uids: Vec<u32> = within(session.uid_search(format!("UID {range}")))
            .await??
            .into_iter()
            // "n:*" names the last message even when it is older than n.
            .filter(|uid| *uid > state.last_uid)
            .collect();
        uids.sort_unstable();
        uids.truncate(PER_PASS);
        let Some(last) = uids.last().copied() else {
            return Ok(0);
        };
        let set = format!("{}:{last}", uids[0]);
        let sizes: Vec<(u32, u32)> = within(async {
            session
                .uid_fetch(&set, "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await??
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .filter(|(uid, _)| uids.binary_search(uid).is_ok())
        .collect();
        let mut messages: Vec<(u32, Option<Vec<u8>>)> = Vec::with_capacity(sizes.len());
        for (uid, size) in sizes {
            if size as usize > super::email::MAX_EMAIL_BYTES {
                warn!(channel = %channel.id, uid, size, "mailbox message too large; skipped");
                messages.push((uid, None));
                continue;
            }
            let body = within(async {
                session
                    .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await??
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body().map(<[u8]>::to_vec));
            messages.push((uid, body));
        }
        messages.sort_by_key(|(uid, _)| *uid);
        let mut stored = 0;
        for (uid, raw) in messages {
            // A message too large, or gone since it was listed, is passed over.
            if let Some(raw) = raw {
                match self.store_email(channel, None, &raw).await {
                    Ok(Some(_)) => stored += 1,
                    Ok(None) => {}
                    Err(crate::AppError::Invalid(invalid)) => {
                        // Not an email Hilo can read: skipped, or it would block the rest.
                        warn!(channel = %channel.id, uid, reason = %invalid.reason, "mailbox message skipped");
                    }
                    Err(error) => return Err(ReadFailure(error.to_string())),
                }
            }
            state.last_uid = uid;
            self.hilo
                .store
                .mailbox_read(channel.id, *state, self.hilo.now())
                .await?;
        }
        if stored > 0 {
            info!(channel = %channel.id, stored, "mail read from the mailbox");
        }
        Ok(stored)
    }
}

/// Connects and signs in as the channel's IMAP settings say: `imap_security` `tls`
/// (port 993 unless given), `starttls` (143) or `none` (143).
async fn sign_in(channel: &Channel) -> Result<Session, ReadFailure> {
    let host = channel.settings.text("imap_host").unwrap_or_default();
    let security = channel.settings.text("imap_security").unwrap_or("tls");
    let port = channel
        .settings
        .public
        .get("imap_port")
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(if security == "tls" { 993 } else { 143 });
    let username = channel
        .settings
        .text("imap_username")
        .or(channel.settings.text("address"))
        .unwrap_or_default();
    let password = channel.settings.secret("imap_password").unwrap_or_default();
    let tcp = within(TcpStream::connect((host, port))).await??;
    let link: Box<dyn Link> = match security {
        "tls" => Box::new(tls(host, tcp).await?),
        _ => Box::new(tcp),
    };
    let mut client = async_imap::Client::new(link);
    within(client.read_response())
        .await??
        .ok_or_else(|| ReadFailure("the server closed before greeting".into()))?;
    if security == "starttls" {
        within(client.run_command_and_check_ok("STARTTLS", None)).await??;
        let tcp = client.into_inner();
        let upgraded: Box<dyn Link> = Box::new(tls(host, tcp).await?);
        client = async_imap::Client::new(upgraded);
    }
    debug!(channel = %channel.id, host, port, "signing in to the mailbox");
    within(client.login(username, password))
        .await?
        .map_err(|(error, _)| ReadFailure(format!("signing in failed: {error}")))
}

async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
    host: &str,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, ReadFailure> {
    use rustls_platform_verifier::ConfigVerifierExt;
    crate::webhooks::delivery::install_crypto_provider();
    let config = rustls::ClientConfig::with_platform_verifier()?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    Ok(within(connector.connect(name, stream)).await??)
}

/// `future`, unless it takes longer than [`COMMAND`].
async fn within<F: Future>(future: F) -> Result<F::Output, ReadFailure> {
    tokio::time::timeout(COMMAND, future)
        .await
        .map_err(|_| ReadFailure("the IMAP server did not answer in time".into()))
}
