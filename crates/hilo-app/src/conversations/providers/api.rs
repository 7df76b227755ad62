//! The API channel: any other system posts its customers' messages in, and receives
//! the replies, both signed as Standard Webhooks sign (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`) with the channel's `signing_secret`.
//!
//! In: `POST /webhooks/api/{channel_id}` with `{"id", "contact": {"id", "email",
//! "phone", "name"}, "content", "media"}`, or `{"status": {"message_id", "status",
//! "error"}}` about a reply. Out: `POST {outbound_url}` with `{"type":
//! "message.created", "timestamp", "data": {"message_id", "conversation_id",
//! "contact_id", "content"}}`.

use hilo_domain::conversations::{API_CONTACT, MessageStatus};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use hilo_domain::webhooks::SigningSecret;
use hilo_domain::webhooks::signature::{sign, verify};
use hilo_domain::{Invalid, Timestamp};
use serde_json::{Value, json};

use super::{
    Channel, HookRequest, InboundMessage, Media, Outgoing, Provider, Report, SendFailure,
    SendResult, Sent, StatusUpdate, Unverified, unreachable_provider,
};

pub struct ApiChannel;

fn secret_of(channel: &Channel) -> Option<SigningSecret> {
    channel
        .settings
        .secret("signing_secret")
        .and_then(|s| SigningSecret::parse(s).ok())
}

/// The contact's identifier: its id in the other system, under the channel, so two
/// systems' contact 42 are two people.
fn contact_identifier(channel: &Channel, id: &str) -> Result<Identifier, Invalid> {
    let kind: IdentifierType = API_CONTACT.parse()?;
    Identifier::normalize(kind, &format!("{}/{id}", channel.id), "ZZ")
        .map_err(|e| e.in_field("contact.id"))
}

impl Provider for ApiChannel {
    fn verify(
        &self,
        channel: &Channel,
        request: &HookRequest,
        now: Timestamp,
    ) -> Result<(), Unverified> {
        let secret = secret_of(channel).ok_or(Unverified("the channel has no signing_secret"))?;
        let (Some(id), Some(timestamp), Some(signature)) = (
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
        ) else {
            return Err(Unverified(
                "webhook-id, webhook-timestamp or webhook-signature is missing",
            ));
        };
        if verify(
            &secret,
            id,
            timestamp,
            &request.body,
            signature,
            now.millis().div_euclid(1000),
        ) {
            Ok(())
        } else {
            Err(Unverified(
                "webhook-signature does not match, or the timestamp is not recent",
            ))
        }
    }

    fn parse(
        &self,
        channel: &Channel,
        request: &HookRequest,
        default_region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|_| Invalid::new("body", "is not JSON"))?;
        let text = |value: &Value, field: &str, max: usize| -> Result<Option<String>, Invalid> {
            match value {
                Value::Null => Ok(None),
                Value::String(s) if !s.trim().is_empty() && s.chars().count() <= max => {
                    Ok(Some(s.trim().to_owned()))
                }
                _ => Err(Invalid::new(
                    field,
                    format!("must be a string of 1 to {max} characters"),
                )),
            }
        };
        if body["status"].is_object() {
            let status = &body["status"];
            let id = text(&status["message_id"], "status.message_id", 200)?
                .ok_or_else(|| Invalid::new("status.message_id", "is required"))?;
            let reported = match status["status"].as_str() {
                Some("delivered") => MessageStatus::Delivered,
                Some("read") => MessageStatus::Read,
                Some("failed") => MessageStatus::Failed,
                _ => {
                    return Err(Invalid::new(
                        "status.status",
                        "must be delivered, read or failed",
                    ));
                }
            };
            return Ok(vec![Report::Status(StatusUpdate {
                provider_message_id: id,
                status: reported,
                error_code: None,
                error_message: text(&status["error"], "status.error", 1_000)?,
            })]);
        }
        let id = text(&body["id"], "id", 200)?.ok_or_else(|| Invalid::new("id", "is required"))?;
        let contact = &body["contact"];
        let contact_id = text(&contact["id"], "contact.id", 200)?
            .ok_or_else(|| Invalid::new("contact.id", "is required"))?;
        let mut identifiers = vec![contact_identifier(channel, &contact_id)?];
        if let Some(email) = text(&contact["email"], "contact.email", 255)? {
            identifiers.push(
                Identifier::normalize(IdentifierType::email(), &email, default_region)
                    .map_err(|e| e.in_field("contact.email"))?,
            );
        }
        if let Some(phone) = text(&contact["phone"], "contact.phone", 50)? {
            identifiers.push(
                Identifier::normalize(IdentifierType::phone(), &phone, default_region)
                    .map_err(|e| e.in_field("contact.phone"))?,
            );
        }
        let content = match &body["content"] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            _ => return Err(Invalid::new("content", "must be a string")),
        };
        let media = body["media"]
            .as_array()
            .into_iter()
            .flatten()
            .take(10)
            .filter_map(|m| {
                Some(Media {
                    url: m["url"].as_str()?.to_owned(),
                    content_type: m["content_type"].as_str().map(str::to_owned),
                })
            })
            .collect();
        Ok(vec![Report::Message(InboundMessage {
            provider_message_id: id,
            identifiers,
            customer_address: contact_id,
            content,
            media,
            profile_name: text(&contact["name"], "contact.name", 200)?,
            web_visitor: None,
            email: None,
        })])
    }

    fn send<'a>(
        &'a self,
        channel: &'a Channel,
        http: &'a reqwest::Client,
        message: Outgoing<'a>,
    ) -> SendResult<'a> {
        Box::pin(async move {
            let permanent = |text: &str| SendFailure {
                transient: false,
                code: None,
                message: text.to_owned(),
            };
            let secret =
                secret_of(channel).ok_or_else(|| permanent("the channel has no signing_secret"))?;
            let url = channel
                .settings
                .text("outbound_url")
                .ok_or_else(|| permanent("the channel has no outbound_url to send replies to"))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let id = message.message_id.to_string();
            let body = json!({
                "type": "message.created",
                "timestamp": Timestamp::from_millis(now.saturating_mul(1000)).to_rfc3339(),
                "data": {
                    "message_id": id,
                    "conversation_id": message.conversation_id.to_string(),
                    "contact_id": message.to,
                    "content": message.content,
                },
            })
            .to_string();
            let signature = sign(&secret, &id, now, body.as_bytes());
            let response = http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| unreachable_provider(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(Sent {
                    provider_message_id: id,
                    status: MessageStatus::Sent,
                });
            }
            Err(SendFailure {
                transient: status.is_server_error() || status.as_u16() == 429,
                code: Some(status.as_u16().to_string()),
                message: format!("the receiver answered {status}"),
            })
        })
    }

    fn address_of(&self, channel: &Channel, identifiers: &[Identifier]) -> Option<String> {
        // The contact's id in this channel's system, after the channel's part.
        let prefix = format!("{}/", channel.id);
        identifiers
            .iter()
            .filter(|i| i.kind.as_str() == API_CONTACT)
            .find_map(|i| i.value.strip_prefix(&prefix).map(str::to_owned))
    }
}
