//! The web chat: no outside provider. Visitors write over the widget's socket
//! (`conversations::web_chat`), and a reply is "sent" once stored for the visitor it is
//! addressed to: their open widgets get it live, a closed one on its next connection.

use hilo_domain::Timestamp;
use hilo_domain::conversations::MessageStatus;
use hilo_domain::customers::identity::Identifier;

use super::{Channel, HookRequest, Outgoing, Provider, Report, SendResult, Sent, Unverified};

pub struct WebChat;

impl Provider for WebChat {
    fn verify(&self, _: &Channel, _: &HookRequest, _: Timestamp) -> Result<(), Unverified> {
        Err(Unverified("a web chat takes no webhooks"))
    }

    fn parse(
        &self,
        _: &Channel,
        _: &HookRequest,
        _: &str,
    ) -> Result<Vec<Report>, hilo_domain::Invalid> {
        Ok(Vec::new())
    }

    fn send<'a>(
        &'a self,
        _: &'a Channel,
        _: &'a reqwest::Client,
        m: Outgoing<'a>,
    ) -> SendResult<'a> {
        Box::pin(async move {
            Ok(Sent {
                provider_message_id: m.message_id.to_string(),
                status: MessageStatus::Sent,
            })
        })
    }

    /// A visitor is reached where they last wrote from, not by an identifier: the
    /// conversations part asks the store for it.
    fn address_of(&self, _: &Channel, _: &[Identifier]) -> Option<String> {
        None
    }
}
