//! The conversations part's demo: four channels (a web chat among them) and the threads of two demo
//! customers — Ana's WhatsApp chat this morning and her call this afternoon (S1), and
//! Carlos's SMS about a late order. The channels point at no real provider, so a reply
//! from the demo is stored and then fails with the reason, as it would against a
//! provider that cannot be reached. The demo's agent is in the Gran Vía store's team.

use hilo_domain::conversations::call::CallStatus;
use hilo_domain::customers::identity::{Identifier, IdentifierType};
use serde_json::json;

use super::providers::{CallReport, InboundMessage};
use crate::{AppResult, Hilo};

/// Where the demo's providers are: a loopback port nothing listens on.
const NOWHERE: &str = "http://127.0.0.1:9";
const ACCOUNT: &str = "AC00000000000000000000000000000000";

impl Hilo {
    /// Adds the demo's channels and conversations; call once, after `load_demo`.
    pub async fn load_demo_conversations(&self) -> AppResult<()> {
        let token = hilo_domain::sealing::SealingKey::generate_text()
            .map_err(|e| crate::AppError::Internal(format!("no randomness: {e}")))?;
        let twilio = |number: &str| json!({"account_sid": ACCOUNT, "auth_token": token, "phone_number": number, "api_base_url": NOWHERE});
        let settings = |value: serde_json::Value| value.as_object().cloned().unwrap_or_default();
        let channels = self.channels();
        let whatsapp = channels
            .create(
                "twilio_whatsapp",
                "WhatsApp tienda / Shop WhatsApp",
                &settings(twilio("+34910000002")),
            )
            .await?;
        let sms = channels
            .create("twilio_sms", "SMS", &settings(twilio("+34910000001")))
            .await?;
        let phone = channels
            .create(
                "voice",
                "Centralita / Phone line",
                &settings(twilio("+34910000003")),
            )
            .await?;
        channels
            .create(
                "web_chat",
                "Chat web / Website chat",
                &settings(json!({"welcome_message": "¡Hola! ¿En qué te ayudamos? / Hi! How can we help?"})),
            )
            .await?;
        let mut opened = Vec::new();
        for created in [&whatsapp, &sms, &phone] {
            let record = channels.record(created.channel.id).await?;
            opened.push(channels.open(&record)?);
        }
        let [whatsapp, sms, phone]: [_; 3] = opened
            .try_into()
            .map_err(|_| crate::AppError::Internal("demo channels".into()))?;
        let region = self.settings.default_region.clone();
        let identifier =
            |kind: IdentifierType, value: &str| Identifier::normalize(kind, value, &region);
        let whatsapp_id: IdentifierType = hilo_domain::conversations::WHATSAPP.parse()?;
        let conversations = self.conversations();
        conversations
            .receive_message(
                &whatsapp,
                InboundMessage {
                    provider_message_id: "SMdemo0000000000000000000000000001".into(),
                    identifiers: vec![
                        identifier(IdentifierType::phone(), "+34612345678")?,
                        identifier(whatsapp_id, "34612345678")?,
                    ],
                    customer_address: "whatsapp:+34612345678".into(),
                    content: "Hola, ¿tenéis el carrito Trío X en la tienda de Gran Vía? Quiero verlo esta tarde.".into(),
                    media: Vec::new(),
                    profile_name: Some("Ana García".into()),
                    web_visitor: None,
                    email: None,
                },
            )
            .await?;
        conversations
            .receive_message(
                &sms,
                InboundMessage {
                    provider_message_id: "SMdemo0000000000000000000000000002".into(),
                    identifiers: vec![identifier(IdentifierType::phone(), "+34699111222")?],
                    customer_address: "+34699111222".into(),
                    content: "Buenas, mi pedido T-77105 todavía no ha llegado. ¿Sabéis algo?"
                        .into(),
                    media: Vec::new(),
                    profile_name: None,
                    web_visitor: None,
                    email: None,
                },
            )
            .await?;
        let call = |status, duration| CallReport {
            external_id: "CAdemo0000000000000000000000000001".into(),
            inbound: true,
            identifiers: identifier(IdentifierType::phone(), "+34612345678")
                .into_iter()
                .collect(),
            customer_address: "+34612345678".into(),
            number_field: "from",
            from: Some("+34612345678".into()),
            to: Some("+34910000003".into()),
            status: Some(status),
            duration_seconds: duration,
            ..CallReport::default()
        };
        conversations
            .record_call(&phone, &call(CallStatus::Ringing, None))
            .await?;
        conversations
            .record_call(&phone, &call(CallStatus::InProgress, None))
            .await?;
        conversations
            .record_call(&phone, &call(CallStatus::Completed, Some(95)))
            .await?;
        // The store's team, with the demo's agents in it.
        let members: Vec<_> = conversations
            .agents()
            .await?
            .into_iter()
            .filter(|agent| agent.role == "agent")
            .map(|agent| agent.user)
            .collect();
        conversations
            .put_team(
                "Tienda Gran Vía",
                "Mostrador de la tienda de Gran Vía / The Gran Vía store's counter",
                &members,
            )
            .await?;
        tracing::info!("demo conversations loaded");
        Ok(())
    }
}
