//! The providers a channel speaks through, one file each behind [`Provider`]: how a
//! webhook is verified and read, and how a message is sent. A new provider is a new
//! file and one line in [`provider_for`].

mod api;
pub mod email;
mod meta;
mod twilio;
mod web_chat;

use std::future::Future;
use std::pin::Pin;

use hilo_domain::conversations::{ChannelSettings, ChannelType, MessageStatus};
use hilo_domain::customers::identity::Identifier;
use hilo_domain::{ChannelId, Invalid};

/// A channel with its credentials open, for the one request or job that uses them.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: ChannelType,
    pub name: String,
    pub settings: ChannelSettings,
    /// Where this channel's provider posts webhooks (under the public URL).
    pub webhook_url: Option<String>,
}

/// A webhook as it arrived.
#[derive(Debug, Clone)]
pub struct HookRequest {
    /// The URL the provider was given, as it called it: the public URL, the path and
    /// the query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HookRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as form fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// A webhook that does not come from the provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unverified(pub &'static str);

/// What a webhook reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Message(InboundMessage),
    Status(StatusUpdate),
    Call(CallReport),
}

/// What a phone system reports about a call: its start, its answer, its end, its
/// recording; each report names the call by the system's own id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallReport {
    pub external_id: String,
    /// From the customer (`true`) or to them.
    pub inbound: bool,
    /// The customer's number, as identifiers.
    pub identifiers: Vec<Identifier>,
    /// The customer's number as the phone system writes it.
    pub customer_address: String,
    /// Where the customer's number was to be found, for the error when a call starts
    /// without one (`From`, `from`, `to`).
    pub number_field: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<hilo_domain::conversations::call::CallStatus>,
    pub duration_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub agent: Option<hilo_domain::UserId>,
    pub notes: Option<String>,
}

/// A customer's message, in the provider's terms already read.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub provider_message_id: String,
    /// What identifies the sender, most trusted first (a phone, a WhatsApp id).
    pub identifiers: Vec<Identifier>,
    /// Where a reply on this channel goes.
    pub customer_address: String,
    pub content: String,
    pub media: Vec<Media>,
    /// The name the sender's app shows, if the provider tells it.
    pub profile_name: Option<String>,
    /// A web chat visitor to write with the message; the message's address is then the
    /// visitor's id as stored.
    pub web_visitor: Option<hilo_store::conversations::NewVisitor>,
    /// An email's details, threading and attachments.
    pub email: Option<Box<email::InboundEmail>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    pub url: String,
    pub content_type: Option<String>,
}

/// A delivery report about a message sent through the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub provider_message_id: String,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Hilo's id for it: the API channel's delivery id, so the receiver deduplicates.
    pub message_id: hilo_domain::MessageId,
    pub conversation_id: hilo_domain::ConversationId,
    /// The customer's address on this channel (a phone, `whatsapp:+…`, a wa_id).
    pub to: &'a str,
    pub content: &'a str,
    /// Sent as this approved template instead of free text.
    pub template: Option<&'a hilo_domain::conversations::template::Template>,
    /// An email's subject, Message-ID and threading headers.
    pub email: Option<&'a hilo_domain::conversations::email::EmailDetails>,
}

/// What the provider answered to a send.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub provider_message_id: String,
    pub status: MessageStatus,
}

/// A send that did not go.
#[derive(Debug, Clone, PartialEq)]
pub struct SendFailure {
    /// Whether a later attempt may succeed (a timeout, a 5xx, a 429).
    pub transient: bool,
    pub code: Option<String>,
    pub message: String,
}

pub type SendResult<'a> = Pin<Box<dyn Future<Output = Result<Sent, SendFailure>> + Send + 'a>>;

/// One provider's wire format and authentication.
pub trait Provider: Send + Sync {
    /// Checks that the webhook comes from the provider, with this channel's secret
    /// (and, where the provider signs a time, that it is recent).
    fn verify(
        &self,
        channel: &Channel,
        request: &HookRequest,
        now: hilo_domain::Timestamp,
    ) -> Result<(), Unverified>;

    /// What a verified webhook reports.
    fn parse(
        &self,
        channel: &Channel,
        request: &HookRequest,
        default_region: &str,
    ) -> Result<Vec<Report>, Invalid>;

    /// Sends one message through the provider's API.
    fn send<'a>(
        &'a self,
        channel: &'a Channel,
        http: &'a reqwest::Client,
        message: Outgoing<'a>,
    ) -> SendResult<'a>;

    /// The customer's address on this channel, from the identifiers they hold.
    fn address_of(&self, channel: &Channel, identifiers: &[Identifier]) -> Option<String>;

    /// The body and content type the provider expects in answer to a webhook.
    fn acknowledgement(&self) -> (&'static str, &'static str) {
        ("application/json", "{}")
    }
}

/// The provider behind a channel type, if its messages go through one.
pub fn provider_for(kind: ChannelType) -> Option<&'static dyn Provider> {
    match kind {
        ChannelType::TwilioSms => Some(&twilio::Twilio { whatsapp: false }),
        ChannelType::TwilioWhatsapp => Some(&twilio::Twilio { whatsapp: true }),
        ChannelType::Voice => Some(&twilio::TwilioVoice),
        ChannelType::Api => Some(&api::ApiChannel),
        ChannelType::WebChat => Some(&web_chat::WebChat),
        ChannelType::WhatsappCloud => Some(&meta::Meta {
            platform: meta::Platform::WhatsApp,
        }),
        ChannelType::Messenger => Some(&meta::Meta {
            platform: meta::Platform::Messenger,
        }),
        ChannelType::Instagram => Some(&meta::Meta {
            platform: meta::Platform::Instagram,
        }),
        ChannelType::Email => Some(&email::Email),
    }
}

/// A failure of the request itself: the provider never answered.
fn unreachable_provider(error: &reqwest::Error) -> SendFailure {
    SendFailure {
        transient: true,
        code: None,
        message: crate::webhooks::delivery::describe(error),
    }
}
