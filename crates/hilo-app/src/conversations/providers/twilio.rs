//! Twilio Programmable Messaging, for SMS and WhatsApp: webhooks signed with
//! `X-Twilio-Signature`, form fields (`MessageSid`, `From`, `To`, `Body`, `NumMedia`,
//! `MediaUrl0…`, `MessageStatus`, `ErrorCode`), and sending through
//! `POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic
//! auth.

use hilo_domain::Invalid;
use hilo_domain::conversations::{WHATSAPP, twilio};
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use serde::Deserialize;

use super::{
    CallReport, Channel, HookRequest, InboundMessage, Media, Outgoing, Provider, Report,
    SendFailure, SendResult, Sent, StatusUpdate, Unverified, unreachable_provider,
};

/// Twilio for SMS (`whatsapp: false`) or WhatsApp.
pub struct Twilio {
    pub whatsapp: bool,
}

/// Most attachments a message carries (Twilio's own limit is 10).
const MAX_MEDIA: usize = 10;

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Twilio's error body.
#[derive(Deserialize)]
struct ApiError {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
    status: Option<String>,
}

impl Twilio {
    fn sender_address(&self, channel: &Channel) -> Option<String> {
        let number = channel.settings.text("phone_number")?;
        Some(if self.whatsapp {
            format!("whatsapp:{number}")
        } else {
            number.to_owned()
        })
    }

    /// Whether the message was sent to this channel: its number, or its Messaging
    /// Service's pool.
    fn addressed_here(&self, channel: &Channel, form: &[(String, String)]) -> bool {
        if let (Some(service), Some(sent_to)) = (
            channel.settings.text("messaging_service_sid"),
            field(form, "MessagingServiceSid"),
        ) {
            return service == sent_to;
        }
        match (channel.settings.text("phone_number"), field(form, "To")) {
            (Some(number), Some(to)) => twilio::address(to).number == number,
            (None, _) => channel.settings.text("messaging_service_sid").is_some(),
            (Some(_), None) => false,
        }
    }
}

/// Checks `X-Twilio-Signature` with the channel's auth token.
fn verify_signature(channel: &Channel, request: &HookRequest) -> Result<(), Unverified> {
    let token = channel
        .settings
        .secret("auth_token")
        .ok_or(Unverified("the channel has no auth_token"))?;
    let signature = request
        .header("x-twilio-signature")
        .ok_or(Unverified("X-Twilio-Signature is missing"))?;
    if twilio::verify(token, &request.url, &request.form(), signature) {
        Ok(())
    } else {
        Err(Unverified("X-Twilio-Signature does not match"))
    }
}

/// The account a webhook names must be the channel's.
fn check_account(channel: &Channel, form: &[(String, String)]) -> Result<(), Invalid> {
    if let (Some(account), Some(ours)) = (
        field(form, "AccountSid"),
        channel.settings.text("account_sid"),
    ) && account != ours
    {
        return Err(Invalid::new("AccountSid", "is not this channel's account"));
    }
    Ok(())
}

impl Provider for Twilio {
    fn verify(
        &self,
        channel: &Channel,
        request: &HookRequest,
        _now: hilo_domain::Timestamp,
    ) -> Result<(), Unverified> {
        verify_signature(channel, request)
    }

    fn parse(
        &self,
        channel: &Channel,
        request: &HookRequest,
        default_region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let form = request.form();
        check_account(channel, &form)?;
        let sid = field(&form, "MessageSid")
            .or_else(|| field(&form, "SmsSid"))
            .ok_or_else(|| Invalid::new("MessageSid", "is required"))?;
        let status = field(&form, "MessageStatus").or_else(|| field(&form, "SmsStatus"));
        if status.is_some_and(|s| s != "received") {
            let Some(status) = status.and_then(twilio::status) else {
                return Ok(Vec::new());
            };
            return Ok(vec![Report::Status(StatusUpdate {
                provider_message_id: sid.to_owned(),
                status,
                error_code: field(&form, "ErrorCode").map(str::to_owned),
                error_message: field(&form, "ErrorMessage").map(str::to_owned),
            })]);
        }
        if !self.addressed_here(channel, &form) {
            return Err(Invalid::new("To", "is not this channel's number"));
        }
        let from = field(&form, "From").ok_or_else(|| Invalid::new("From", "is required"))?;
        let address = twilio::address(from);
        if address.whatsapp != self.whatsapp {
            return Err(Invalid::new(
                "From",
                if self.whatsapp {
                    "is not a WhatsApp address (whatsapp:+…)"
                } else {
                    "is a WhatsApp address, and this is an SMS channel"
                },
            ));
        }
        let phone = Identifier::normalize(IdentifierType::phone(), address.number, default_region)
            .map_err(|e| e.in_field("From"))?;
        let mut identifiers = vec![phone.clone()];
        if self.whatsapp
            && let Some(wa_id) = field(&form, "WaId")
        {
            let kind = WHATSAPP
                .parse::<IdentifierType>()
                .map_err(|e| e.in_field("WaId"))?;
            identifiers.push(Identifier::normalize(kind, wa_id, default_region)?);
        }
        let count: usize = field(&form, "NumMedia")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let media = (0..count.min(MAX_MEDIA))
            .filter_map(|i| {
                Some(Media {
                    url: field(&form, &format!("MediaUrl{i}"))?.to_owned(),
                    content_type: field(&form, &format!("MediaContentType{i}")).map(str::to_owned),
                })
            })
            .collect();
        let customer_address = if self.whatsapp {
            format!("whatsapp:{}", phone.value)
        } else {
            phone.value.clone()
        };
        Ok(vec![Report::Message(InboundMessage {
            provider_message_id: sid.to_owned(),
            identifiers,
            customer_address,
            content: field(&form, "Body").unwrap_or_default().to_owned(),
            media,
            profile_name: field(&form, "ProfileName").map(str::to_owned),
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
            let permanent = |message: &str| SendFailure {
                transient: false,
                code: None,
                message: message.to_owned(),
            };
            let settings = &channel.settings;
            let account = settings
                .text("account_sid")
                .ok_or_else(|| permanent("the channel has no account_sid"))?;
            let token = settings
                .secret("auth_token")
                .ok_or_else(|| permanent("the channel has no auth_token"))?;
            let base = settings
                .api_base_url(channel.kind)
                .ok_or_else(|| permanent("the channel has no api_base_url"))?;
            // The form is written before any await: its serializer is not `Send`.
            let body = {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("To", message.to);
                match message.template {
                    // An approved template: its Content SID and variables {"1": …}.
                    Some(template) => {
                        let variables: serde_json::Map<String, serde_json::Value> = template
                            .parameters
                            .iter()
                            .enumerate()
                            .map(|(i, p)| {
                                ((i + 1).to_string(), serde_json::Value::from(p.as_str()))
                            })
                            .collect();
                        form.append_pair("ContentSid", &template.name);
                        form.append_pair(
                            "ContentVariables",
                            &serde_json::Value::Object(variables).to_string(),
                        );
                    }
                    None => {
                        form.append_pair("Body", message.content);
                    }
                }
                match (
                    settings.text("messaging_service_sid"),
                    self.sender_address(channel),
                ) {
                    (Some(service), _) => form.append_pair("MessagingServiceSid", service),
                    (None, Some(from)) => form.append_pair("From", &from),
                    (None, None) => return Err(permanent("the channel has no phone_number")),
                };
                if let Some(callback) = &channel.webhook_url {
                    form.append_pair("StatusCallback", callback);
                }
                form.finish()
            };
            let url = format!("{base}/2010-04-01/Accounts/{account}/Messages.json");
            let response = http
                .post(url)
                .basic_auth(account, Some(token))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map_err(|e| unreachable_provider(&e))?;
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|e| unreachable_provider(&e))?;
            if status.is_success() {
                let created: Created = serde_json::from_slice(&body).map_err(|_| SendFailure {
                    transient: true,
                    code: None,
                    message: "Twilio's answer is not the message it made".into(),
                })?;
                return Ok(Sent {
                    provider_message_id: created.sid,
                    status: created
                        .status
                        .as_deref()
                        .and_then(twilio::status)
                        .unwrap_or(hilo_domain::conversations::MessageStatus::Queued),
                });
            }
            let error: Option<ApiError> = serde_json::from_slice(&body).ok();
            Err(SendFailure {
                transient: status.is_server_error() || status.as_u16() == 429,
                code: error.as_ref().and_then(|e| e.code).map(|c| c.to_string()),
                message: error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| format!("Twilio answered {status}")),
            })
        })
    }

    fn address_of(&self, _channel: &Channel, identifiers: &[Identifier]) -> Option<String> {
        let phone = identifiers
            .iter()
            .find(|i| i.kind.as_str() == IdentifierType::PHONE)
            .map(|i| i.value.clone());
        if !self.whatsapp {
            return phone;
        }
        phone
            .or_else(|| {
                identifiers
                    .iter()
                    .find(|i| i.kind.as_str() == WHATSAPP)
                    .map(|i| format!("+{}", i.value.trim_start_matches('+')))
            })
            .map(|number| format!("whatsapp:{number}"))
    }

    /// Twilio reads the answer as TwiML: an empty response sends no automatic reply.
    fn acknowledgement(&self) -> (&'static str, &'static str) {
        (
            "text/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
        )
    }
}

/// Twilio Programmable Voice: the call webhooks (`CallSid`, `From`, `To`,
/// `CallStatus`, `Direction`, `CallDuration`) and recording callbacks (`RecordingUrl`),
/// signed like messages. Hilo records calls; it does not place them.
pub struct TwilioVoice;

impl Provider for TwilioVoice {
    fn verify(
        &self,
        channel: &Channel,
        request: &HookRequest,
        _now: hilo_domain::Timestamp,
    ) -> Result<(), Unverified> {
        verify_signature(channel, request)
    }

    fn parse(
        &self,
        channel: &Channel,
        request: &HookRequest,
        default_region: &str,
    ) -> Result<Vec<Report>, Invalid> {
        let form = request.form();
        check_account(channel, &form)?;
        let sid = field(&form, "CallSid").ok_or_else(|| Invalid::new("CallSid", "is required"))?;
        let inbound = field(&form, "Direction").is_none_or(|d| d == "inbound");
        let (from, to) = (field(&form, "From"), field(&form, "To"));
        let ours = channel.settings.text("phone_number");
        let (customer, business) = if inbound { (from, to) } else { (to, from) };
        if let (Some(ours), Some(business)) = (ours, business)
            && business != ours
        {
            return Err(Invalid::new(
                if inbound { "To" } else { "From" },
                "is not this channel's number",
            ));
        }
        let number_field = if inbound { "From" } else { "To" };
        // Reports after the first (a recording, say) may name no numbers.
        let phone = customer
            .map(|number| {
                Identifier::normalize(IdentifierType::phone(), number, default_region)
                    .map_err(|e| e.in_field(number_field))
            })
            .transpose()?;
        let status = field(&form, "CallStatus")
            .map(|s| {
                hilo_domain::conversations::call::CallStatus::from_twilio(s)
                    .ok_or_else(|| Invalid::new("CallStatus", "is not a call status Twilio sends"))
            })
            .transpose()?;
        let duration = field(&form, "CallDuration")
            .map(|d| {
                d.parse::<i64>()
                    .ok()
                    .filter(|d| *d >= 0)
                    .ok_or_else(|| Invalid::new("CallDuration", "must be a number of seconds"))
            })
            .transpose()?;
        let recording = field(&form, "RecordingUrl")
            .filter(|_| field(&form, "RecordingStatus").is_none_or(|s| s == "completed"))
            .map(str::to_owned);
        Ok(vec![Report::Call(CallReport {
            external_id: sid.to_owned(),
            inbound,
            customer_address: phone.as_ref().map(|p| p.value.clone()).unwrap_or_default(),
            identifiers: phone.into_iter().collect(),
            number_field,
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            status,
            duration_seconds: duration,
            recording_url: recording,
            agent: None,
            notes: None,
        })])
    }

    fn send<'a>(
        &'a self,
        _channel: &'a Channel,
        _http: &'a reqwest::Client,
        _message: Outgoing<'a>,
    ) -> SendResult<'a> {
        Box::pin(async {
            Err(SendFailure {
                transient: false,
                code: None,
                message: "a voice channel carries calls, not messages".into(),
            })
        })
    }

    fn address_of(&self, _channel: &Channel, _identifiers: &[Identifier]) -> Option<String> {
        None
    }

    fn acknowledgement(&self) -> (&'static str, &'static str) {
        (
            "text/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
        )
    }
}
