//! Email: mail arrives through Hilo's SMTP listener (or a mailbox it polls) and is read
//! here; replies leave through the channel's SMTP server, threaded with `Message-ID`,
//! `In-Reply-To` and `References`, with the conversation's reply address as `Reply-To`.

use std::time::Duration;

use hilo_domain::conversations::MessageStatus;
use hilo_domain::conversations::email::{
    self, AttachmentInfo, EmailDetails, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS,
    MAX_ATTACHMENTS_BYTES,
};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::{EmailAddress, Invalid, Timestamp};
use hilo_store::conversations::NewAttachment;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

use super::{Channel, HookRequest, Outgoing, Provider, Report, SendFailure, SendResult, Sent};
use super::{InboundMessage, Unverified};

pub struct Email;

/// How long a conversation with the SMTP server may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What an inbound email carries beyond a message: its details, what it replies to,
/// and its attachments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InboundEmail {
    pub details: EmailDetails,
    /// The Message-IDs it replies to, nearest first (`In-Reply-To`, then `References`
    /// from the end), to find its conversation by.
    pub references: Vec<String>,
    /// The conversation its recipient's plus address names.
    pub named: Option<hilo_domain::ConversationId>,
    pub attachments: Vec<NewAttachment>,
}

fn ids_of(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(text) => vec![text.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .flat_map(|text| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|id| email::bare_message_id(&id))
        .collect()
}

fn addresses(list: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    list.map(|list| {
        list.iter()
            .filter_map(|a| a.address())
            .filter_map(|a| a.parse::<EmailAddress>().ok())
            .map(|a| a.to_string())
            .take(50)
            .collect()
    })
    .unwrap_or_default()
}

/// Makes a customer's HTML safe to show: no script, no event handler, no style that
/// could reach out, no remote image (a tracking pixel tells the sender it was read),
/// links opened apart.
pub fn sanitise_html(html: &str) -> String {
    ammonia::Builder::default()
        .rm_tags(["img"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(html)
        .to_string()
}

/// Reads a raw email (RFC 5322) sent to a channel's mailbox; `named` is the
/// conversation its plus address names. An email without a `Message-ID` is named by
/// a digest of itself, so a redelivery is still one message.
pub fn read_email(
    raw: &[u8],
    named: Option<hilo_domain::ConversationId>,
) -> Result<InboundMessage, Invalid> {
    let parsed = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Invalid::new("message", "is not an email"))?;
    let sender = parsed
        .from()
        .and_then(|from| from.first())
        .ok_or_else(|| Invalid::new("from", "the email names no sender"))?;
    let from: EmailAddress = sender
        .address()
        .unwrap_or_default()
        .parse()
        .map_err(|_| Invalid::new("from", "the sender's address is not an email address"))?;
    let message_id = parsed
        .message_id()
        .and_then(email::bare_message_id)
        .unwrap_or_else(|| format!("{}@hilo.digest", hilo_domain::secret::digest_hex(raw)));
    // What it replies to, nearest first: In-Reply-To, then References from the end.
    let parent = ids_of(parsed.in_reply_to()).into_iter().next();
    let header_references = ids_of(parsed.references());
    let mut references: Vec<String> = parent.iter().cloned().collect();
    for id in header_references.iter().rev() {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    let text = parsed
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let folded = email::fold(&text);
    let html = parsed.body_html(0).map(|h| sanitise_html(&h));
    let mut attachments = Vec::new();
    let mut listed = Vec::new();
    let mut kept_bytes = 0usize;
    for part in parsed.attachments().take(MAX_ATTACHMENTS) {
        let data = part.contents();
        let content_type = part
            .content_type()
            .map(|t| match t.subtype() {
                Some(sub) => format!("{}/{sub}", t.ctype()),
                None => t.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let filename: String = part
            .attachment_name()
            .unwrap_or("attachment")
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
            .take(200)
            .collect();
        let keep =
            data.len() <= MAX_ATTACHMENT_BYTES && kept_bytes + data.len() <= MAX_ATTACHMENTS_BYTES;
        let id = keep.then(|| uuid::Uuid::now_v7().to_string());
        if let Some(id) = &id {
            kept_bytes += data.len();
            attachments.push(NewAttachment {
                id: id.clone(),
                filename: filename.clone(),
                content_type: content_type.clone(),
                data: data.to_vec(),
            });
        }
        listed.push(AttachmentInfo {
            id,
            filename,
            content_type,
            size: data.len() as u64,
        });
    }
    let subject = parsed
        .subject()
        .map(|s| s.chars().take(500).collect::<String>());
    let mut content = folded.visible;
    if content.is_empty() {
        content = subject.clone().unwrap_or_default();
    }
    let details = EmailDetails {
        subject,
        message_id: Some(message_id.clone()),
        in_reply_to: parent,
        references: header_references,
        from: Some(from.to_string()),
        to: addresses(parsed.to()),
        cc: addresses(parsed.cc()),
        html,
        quoted: folded.folded,
        attachments: listed,
    };
    let message = InboundMessage {
        provider_message_id: message_id,
        identifiers: vec![Identifier {
            kind: IdentifierType::email(),
            value: from.to_string(),
        }],
        customer_address: from.to_string(),
        content,
        media: Vec::new(),
        profile_name: sender
            .name()
            .map(|n| n.trim().chars().take(200).collect::<String>())
            .filter(|n| !n.is_empty()),
        web_visitor: None,
        email: Some(Box::new(InboundEmail {
            details,
            references,
            named,
            attachments,
        })),
    };
    Ok(message)
}

impl Provider for Email {
    fn verify(&self, _: &Channel, _: &HookRequest, _: Timestamp) -> Result<(), Unverified> {
        Err(Unverified("email arrives over SMTP or IMAP, not webhooks"))
    }

    fn parse(&self, _: &Channel, _: &HookRequest, _: &str) -> Result<Vec<Report>, Invalid> {
        Ok(Vec::new())
    }

    fn send<'a>(
        &'a self,
        channel: &'a Channel,
        _: &'a reqwest::Client,
        message: Outgoing<'a>,
    ) -> SendResult<'a> {
        Box::pin(async move {
            let permanent = |text: String| SendFailure {
                transient: false,
                code: None,
                message: text,
            };
            let built = build_email(channel, &message).map_err(permanent)?;
            let transport = transport(channel).map_err(permanent)?;
            match transport.send(built).await {
                Ok(_) => Ok(Sent {
                    provider_message_id: message
                        .email
                        .and_then(|e| e.message_id.clone())
                        .unwrap_or_else(|| message.message_id.to_string()),
                    status: MessageStatus::Sent,
                }),
                Err(error) => Err(SendFailure {
                    transient: !error.is_permanent(),
                    code: error.status().map(|code| code.to_string()),
                    message: format!("the SMTP server refused the email: {error}"),
                }),
            }
        })
    }

    fn address_of(&self, _: &Channel, identifiers: &[Identifier]) -> Option<String> {
        identifiers
            .iter()
            .find(|i| i.kind.as_str() == IdentifierType::EMAIL)
            .map(|i| i.value.clone())
    }
}

/// The email for a reply, with its threading headers.
fn build_email(channel: &Channel, message: &Outgoing<'_>) -> Result<lettre::Message, String> {
    let mailbox = channel
        .settings
        .text("address")
        .ok_or("the channel has no address")?;
    let from_name = channel
        .settings
        .text("from_name")
        .unwrap_or(&channel.name)
        .to_owned();
    let from = Mailbox::new(
        Some(from_name),
        mailbox
            .parse()
            .map_err(|e| format!("the channel's address: {e}"))?,
    );
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| format!("the customer's address: {e}"))?;
    let details = message.email.cloned().unwrap_or_default();
    let reply_to: Mailbox = email::reply_address(mailbox, message.conversation_id)
        .parse()
        .map_err(|e| format!("the reply address: {e}"))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .reply_to(reply_to)
        .to(to)
        .subject(details.subject.clone().unwrap_or_else(|| "Re:".into()))
        .message_id(details.message_id.as_ref().map(|id| format!("<{id}>")));
    if let Some(parent) = &details.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !details.references.is_empty() {
        let references: Vec<String> = details
            .references
            .iter()
            .map(|id| format!("<{id}>"))
            .collect();
        builder = builder.references(references.join(" "));
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(message.content.to_owned())
        .map_err(|e| format!("the email could not be written: {e}"))
}

/// The channel's SMTP server: `smtp_security` `starttls` (port 587 unless given),
/// `tls` (465) or `none` (25), with its credentials when it has them.
fn transport(channel: &Channel) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = channel
        .settings
        .text("smtp_host")
        .ok_or("the channel has no smtp_host to send through")?;
    let security = channel.settings.text("smtp_security").unwrap_or("starttls");
    let (builder, port) = match security {
        "tls" => (
            AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?,
            465,
        ),
        "none" => (
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            25,
        ),
        _ => (
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| e.to_string())?,
            587,
        ),
    };
    let port = channel
        .settings
        .public
        .get("smtp_port")
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(port);
    let mut builder = builder.port(port).timeout(Some(SMTP_TIMEOUT));
    if let (Some(user), Some(password)) = (
        channel.settings.text("smtp_username"),
        channel.settings.secret("smtp_password"),
    ) {
        builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
    }
    Ok(builder.build())
}
