//! Meta's platforms: WhatsApp Cloud API, Messenger and Instagram. Webhooks are JSON
//! signed with `X-Hub-Signature-256` over the raw body; messages go out through the
//! Graph API (`/{phone-number-id}/messages` for WhatsApp, the Send API
//! `/{page-id}/messages` for Messenger and Instagram) with the channel's access token.

use hilo_domain::Invalid;
use hilo_domain::conversations::{INSTAGRAM, MESSENGER, MessageStatus, WHATSAPP, meta};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Channel, HookRequest, InboundMessage, Media, Outgoing, Provider, Report, SendFailure,
    SendResult, Sent, StatusUpdate, Unverified, unreachable_provider,
};

/// Which of Meta's platforms a channel is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    WhatsApp,
    Messenger,
    Instagram,
}

pub struct Meta {
    pub platform: Platform,
}

/// The Graph API's error body.
#[derive(Deserialize)]
struct GraphError {
    error: Option<GraphErrorBody>,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    message: Option<String>,
    code: Option<i64>,
}

impl Meta {
    /// The object name the platform's webhooks carry.
    fn object(&self) -> &'static str {
        match self.platform {
            Platform::WhatsApp => "whatsapp_business_account",
            Platform::Messenger => "page",
            Platform::Instagram => "instagram",
        }
    }

    fn identifier_kind(&self) -> &'static str {
        match self.platform {
            Platform::WhatsApp => WHATSAPP,
            Platform::Messenger => MESSENGER,
            Platform::Instagram => INSTAGRAM,
        }
    }

    /// WhatsApp: `entry[].changes[].value` with `messages` and `statuses`.
    fn parse_whatsapp(
        &self,
        channel: &Channel,
        document: &Value,
        region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let ours = channel.settings.text("phone_number_id").unwrap_or_default();
        let mut reports = Vec::new();
        for change in entries(document).flat_map(|e| list(&e["changes"])) {
            let value = &change["value"];
            let number_id = value["metadata"]["phone_number_id"]
                .as_str()
                .unwrap_or_default();
            if number_id != ours {
                return Err(Invalid::new(
                    "metadata.phone_number_id",
                    "is not this channel's phone number",
                ));
            }
            let names: Vec<(&str, &str)> = list(&value["contacts"])
                .filter_map(|c| Some((c["wa_id"].as_str()?, c["profile"]["name"].as_str()?)))
                .collect();
            for message in list(&value["messages"]) {
                let (Some(id), Some(from)) = (message["id"].as_str(), message["from"].as_str())
                else {
                    return Err(Invalid::new("messages", "each message needs id and from"));
                };
                let mut identifiers = vec![self.identifier(from, region)?];
                // A wa_id of digits is the phone number: the customer is found by either.
                if from.chars().all(|c| c.is_ascii_digit())
                    && let Ok(phone) =
                        Identifier::normalize(IdentifierType::phone(), &format!("+{from}"), region)
                {
                    identifiers.insert(0, phone);
                }
                let (content, media) = whatsapp_content(message, channel);
                reports.push(Report::Message(InboundMessage {
                    provider_message_id: id.to_owned(),
                    identifiers,
                    customer_address: from.to_owned(),
                    content,
                    media,
                    profile_name: names
                        .iter()
                        .find(|(wa_id, _)| *wa_id == from)
                        .map(|(_, name)| (*name).to_owned()),
                    web_visitor: None,
                    email: None,
                }));
            }
            for status in list(&value["statuses"]) {
                let (Some(id), Some(state)) = (
                    status["id"].as_str(),
                    status["status"].as_str().and_then(meta::status),
                ) else {
                    continue;
                };
                let error = list(&status["errors"]).next();
                reports.push(Report::Status(StatusUpdate {
                    provider_message_id: id.to_owned(),
                    status: state,
                    error_code: error
                        .and_then(|e| e["code"].as_i64())
                        .map(|c| c.to_string()),
                    error_message: error.and_then(|e| {
                        e["error_data"]["details"]
                            .as_str()
                            .or(e["message"].as_str())
                            .or(e["title"].as_str())
                            .map(str::to_owned)
                    }),
                }));
            }
        }
        Ok(reports)
    }

    /// Messenger and Instagram: `entry[].messaging[]` with `message`, `delivery`,
    /// `read`. Echoes of the page's own messages are not the customer's.
    fn parse_messaging(
        &self,
        channel: &Channel,
        document: &Value,
        region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let ours = channel.settings.text("page_id").unwrap_or_default();
        let mut reports = Vec::new();
        for entry in entries(document) {
            if entry["id"].as_str() != Some(ours) {
                return Err(Invalid::new("entry.id", "is not this channel's page"));
            }
            for event in list(&entry["messaging"]) {
                let Some(sender) = event["sender"]["id"].as_str() else {
                    continue;
                };
                let message = &event["message"];
                if message.is_object() && !message["is_echo"].as_bool().unwrap_or(false) {
                    let Some(mid) = message["mid"].as_str() else {
                        return Err(Invalid::new("message.mid", "is required"));
                    };
                    let media = list(&message["attachments"])
                        .filter_map(|a| {
                            Some(Media {
                                url: a["payload"]["url"].as_str()?.to_owned(),
                                content_type: a["type"].as_str().map(str::to_owned),
                            })
                        })
                        .collect();
                    reports.push(Report::Message(InboundMessage {
                        provider_message_id: mid.to_owned(),
                        identifiers: vec![self.identifier(sender, region)?],
                        customer_address: sender.to_owned(),
                        content: message["text"].as_str().unwrap_or_default().to_owned(),
                        media,
                        profile_name: None,
                        web_visitor: None,
                        email: None,
                    }));
                }
                let (reported, mids) = if event["delivery"].is_object() {
                    (MessageStatus::Delivered, &event["delivery"]["mids"])
                } else if event["read"].is_object() {
                    (MessageStatus::Read, &event["read"]["mids"])
                } else {
                    continue;
                };
                for mid in list(mids).filter_map(Value::as_str) {
                    reports.push(Report::Status(StatusUpdate {
                        provider_message_id: mid.to_owned(),
                        status: reported,
                        error_code: None,
                        error_message: None,
                    }));
                }
            }
        }
        Ok(reports)
    }

    fn identifier(&self, value: &str, region: &str) -> Result<Identifier, Invalid> {
        let kind = self
            .identifier_kind()
            .parse::<IdentifierType>()
            .map_err(|e| e.in_field("from"))?;
        Identifier::normalize(kind, value, region).map_err(|e| e.in_field("from"))
    }
}

fn entries(document: &Value) -> impl Iterator<Item = &Value> {
    list(&document["entry"])
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A WhatsApp message's text and attachments, by its `type`.
fn whatsapp_content(message: &Value, channel: &Channel) -> (String, Vec<Media>) {
    let kind = message["type"].as_str().unwrap_or("text");
    let part = &message[kind];
    let text = match kind {
        "text" => part["body"].as_str().map(str::to_owned),
        "button" => part["text"].as_str().map(str::to_owned),
        "interactive" => part["button_reply"]["title"]
            .as_str()
            .or(part["list_reply"]["title"].as_str())
            .map(str::to_owned),
        "location" => Some(format!(
            "{} {}",
            part["latitude"].as_f64().unwrap_or_default(),
            part["longitude"].as_f64().unwrap_or_default()
        )),
        "reaction" => part["emoji"].as_str().map(str::to_owned),
        _ => part["caption"].as_str().map(str::to_owned),
    };
    // Media arrive as ids; the Graph API gives their address to the channel's token.
    let media = part["id"]
        .as_str()
        .filter(|_| matches!(kind, "image" | "audio" | "video" | "document" | "sticker"))
        .map(|id| {
            vec![Media {
                url: format!(
                    "{}/{id}",
                    channel
                        .settings
                        .api_base_url(channel.kind)
                        .unwrap_or_default()
                ),
                content_type: part["mime_type"].as_str().map(str::to_owned),
            }]
        })
        .unwrap_or_default();
    (text.unwrap_or_default(), media)
}

impl Provider for Meta {
    fn verify(
        &self,
        channel: &Channel,
        request: &HookRequest,
        _now: hilo_domain::Timestamp,
    ) -> Result<(), Unverified> {
        let secret = channel
            .settings
            .secret("app_secret")
            .ok_or(Unverified("the channel has no app_secret"))?;
        let header = request
            .header("x-hub-signature-256")
            .ok_or(Unverified("X-Hub-Signature-256 is missing"))?;
        if meta::signature_matches(secret, &request.body, header) {
            Ok(())
        } else {
            Err(Unverified("X-Hub-Signature-256 does not match"))
        }
    }

    fn parse(
        &self,
        channel: &Channel,
        request: &HookRequest,
        default_region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let document: Value = serde_json::from_slice(&request.body)
            .map_err(|_| Invalid::new("body", "is not JSON"))?;
        if document["object"].as_str() != Some(self.object()) {
            return Err(Invalid::new(
                "object",
                format!("must be {} for this channel", self.object()),
            ));
        }
        match self.platform {
            Platform::WhatsApp => self.parse_whatsapp(channel, &document, default_region),
            Platform::Messenger | Platform::Instagram => {
                self.parse_messaging(channel, &document, default_region)
            }
        }
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
            let settings = &channel.settings;
            let token = settings
                .secret("access_token")
                .ok_or_else(|| permanent("the channel has no access_token"))?;
            let base = settings
                .api_base_url(channel.kind)
                .ok_or_else(|| permanent("the channel has no api_base_url"))?;
            let (sender, body) = match self.platform {
                Platform::WhatsApp => (
                    settings.text("phone_number_id"),
                    match message.template {
                        Some(template) => {
                            let parameters: Vec<Value> = template
                                .parameters
                                .iter()
                                .map(|p| json!({"type": "text", "text": p}))
                                .collect();
                            let mut body = json!({
                                "messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": message.to, "type": "template",
                                "template": {"name": template.name,
                                             "language": {"code": template.language}},
                            });
                            if !parameters.is_empty() {
                                body["template"]["components"] =
                                    json!([{"type": "body", "parameters": parameters}]);
                            }
                            body
                        }
                        None => json!({
                            "messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": message.to, "type": "text",
                            "text": {"preview_url": false, "body": message.content},
                        }),
                    },
                ),
                Platform::Messenger | Platform::Instagram => (
                    settings.text("page_id"),
                    json!({
                        "recipient": {"id": message.to}, "messaging_type": "RESPONSE",
                        "message": {"text": message.content},
                    }),
                ),
            };
            let sender = sender.ok_or_else(|| permanent("the channel names no sender id"))?;
            let response = http
                .post(format!("{base}/{sender}/messages"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map_err(|e| unreachable_provider(&e))?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                let id = answer["messages"][0]["id"]
                    .as_str()
                    .or(answer["message_id"].as_str())
                    .ok_or_else(|| SendFailure {
                        transient: true,
                        code: None,
                        message: "the Graph API's answer names no message id".into(),
                    })?;
                return Ok(Sent {
                    provider_message_id: id.to_owned(),
                    status: MessageStatus::Sent,
                });
            }
            let error = serde_json::from_value::<GraphError>(answer)
                .ok()
                .and_then(|e| e.error);
            Err(SendFailure {
                transient: status.is_server_error() || status.as_u16() == 429,
                code: error.as_ref().and_then(|e| e.code).map(|c| c.to_string()),
                message: error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| format!("the Graph API answered {status}")),
            })
        })
    }

    fn address_of(&self, _channel: &Channel, identifiers: &[Identifier]) -> Option<String> {
        let own = identifiers
            .iter()
            .find(|i| i.kind.as_str() == self.identifier_kind())
            .map(|i| i.value.clone());
        match self.platform {
            // Without a WhatsApp id yet, the phone's digits are one.
            Platform::WhatsApp => own.or_else(|| {
                identifiers
                    .iter()
                    .find(|i| i.kind.as_str() == IdentifierType::PHONE)
                    .map(|i| i.value.trim_start_matches('+').to_owned())
            }),
            Platform::Messenger | Platform::Instagram => own,
        }
    }
}
