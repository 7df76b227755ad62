//! The "ready for pickup" notice (S4): sent through the conversations part on the
//! customer's channel (the one they last wrote on, else WhatsApp, SMS or email), within
//! consent. The stored message holds a token where the code goes, filled in only as the
//! message leaves for the provider: agents reading the conversation never see a code,
//! and the code is never written down.

use hilo_domain::commerce::order::FulfillmentStatus;
use hilo_domain::conversations::{ChannelType, ConversationStatus};
use hilo_domain::{ConversationId, CustomerId, FulfillmentId, OrderId};
use hilo_store::conversations::ConversationRecord;
use hilo_store::jobs::JobRecord;
use serde_json::{Value, json};
use tracing::info;

use super::Commerce;
use crate::conversations::Reply;
use crate::jobs::JobFailure;
use crate::{AppError, AppResult};

/// Where a pickup code goes in a stored message: `[[pickup-code:<fulfilment id>]]`.
const TOKEN_START: &str = "[[pickup-code:";
const TOKEN_END: &str = "]]";

/// The medium a channel reaches the customer on, as consent names it.
fn medium(kind: ChannelType) -> Option<&'static str> {
    match kind {
        ChannelType::TwilioWhatsapp | ChannelType::WhatsappCloud => Some("whatsapp"),
        ChannelType::TwilioSms => Some("sms"),
        ChannelType::Email => Some("email"),
        _ => None,
    }
}

/// The notice's text in the customer's language, with the code's token.
fn ready_text(
    spanish: bool,
    name: &str,
    number: i64,
    store: &str,
    fulfilment: FulfillmentId,
    until: &str,
) -> String {
    let hello = if name.is_empty() {
        String::new()
    } else {
        format!(" {name}")
    };
    let code = format!("{TOKEN_START}{fulfilment}{TOKEN_END}");
    if spanish {
        format!(
            "Hola{hello}: tu pedido {number} está listo para recoger en {store}. Muestra este \
             código en el mostrador: {code}. Puedes recogerlo hasta el {until}."
        )
    } else {
        format!(
            "Hi{hello}: your order {number} is ready to collect at {store}. Show this code at \
             the desk: {code}. You can collect it until {until}."
        )
    }
}

/// `at` as people there read it, in the location's time zone.
fn local_time(at: hilo_domain::Timestamp, zone: &str, spanish: bool) -> String {
    let shown = jiff::Timestamp::from_millisecond(at.millis())
        .ok()
        .zip(jiff::tz::TimeZone::get(zone).ok())
        .map(|(t, z)| t.to_zoned(z));
    match shown {
        Some(local) if spanish => local.strftime("%d/%m/%Y %H:%M").to_string(),
        Some(local) => local.strftime("%Y-%m-%d %H:%M").to_string(),
        None => at.to_rfc3339(),
    }
}

impl Commerce<'_> {
    /// A message's text as it leaves for the provider: each pickup-code token filled with
    /// the code, while its pickup still waits (a hyphen-free placeholder once it does not).
    pub(crate) async fn fill_codes(&self, content: &str) -> String {
        let mut out = String::with_capacity(content.len());
        let mut rest = content;
        while let Some(start) = rest.find(TOKEN_START) {
            out.push_str(&rest[..start]);
            let after = &rest[start + TOKEN_START.len()..];
            let Some(end) = after.find(TOKEN_END) else {
                out.push_str(&rest[start..]);
                return out;
            };
            let code = match after[..end].parse::<FulfillmentId>() {
                Ok(id) => self.code_of(id).await.unwrap_or_else(|| "—".to_owned()),
                Err(_) => "—".to_owned(),
            };
            out.push_str(&code);
            rest = &after[end + TOKEN_END.len()..];
        }
        out.push_str(rest);
        out
    }

    async fn code_of(&self, id: FulfillmentId) -> Option<String> {
        let order = self.hilo.store.order_of_fulfillment(id).await.ok()??;
        let fulfilment = order.fulfillments.iter().find(|f| f.id == id)?;
        self.pickup_code(fulfilment).map(|c| c.code)
    }

    /// The notice job: tells the customer their pickup is ready, with its code, on the
    /// first channel that reaches them within consent. Nothing when it is no longer
    /// waiting. Recorded in the order's history either way.
    pub(crate) async fn notify_ready(&self, job: &JobRecord) -> Result<(), JobFailure> {
        let transient = |e: AppError| JobFailure::Transient(e.to_string());
        let id = |name: &str| {
            job.payload
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(order_id), Some(fulfilment_id)) = (
            id("order_id").and_then(|t| t.parse::<OrderId>().ok()),
            id("fulfillment_id").and_then(|t| t.parse::<FulfillmentId>().ok()),
        ) else {
            return Err(JobFailure::Permanent("the job names no fulfilment".into()));
        };
        let store = &self.hilo.store;
        let Some(order) = store
            .order(order_id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Ok(());
        };
        let Some(fulfilment) = order.fulfillments.iter().find(|f| f.id == fulfilment_id) else {
            return Ok(());
        };
        if fulfilment.status != FulfillmentStatus::ReadyForPickup.as_str() {
            return Ok(());
        }
        let (Some(location), Some(until)) = (fulfilment.location_id, fulfilment.code_expires_at)
        else {
            return Ok(());
        };
        let location = self.location(location).await.map_err(transient)?;
        let Some(root) = store
            .customer_root(order.profile_id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Ok(());
        };
        let sent = self
            .send_notice(root, &order.number, &location, fulfilment_id, until)
            .await
            .map_err(transient)?;
        let (event, detail) = match sent {
            Some((channel, message)) => (
                "notified",
                json!({"channel_id": channel, "message_id": message}),
            ),
            None => (
                "not_notified",
                json!({"reason": "no channel reaches the customer within consent"}),
            ),
        };
        let mut tx = store.begin().await.map_err(|e| transient(e.into()))?;
        tx.record_order_history(
            order_id,
            Some(fulfilment_id),
            event,
            "system",
            "server",
            &detail.to_string(),
            self.hilo.now(),
        )
        .await
        .map_err(|e| transient(e.into()))?;
        tx.commit().await.map_err(|e| transient(e.into()))?;
        info!(order = %order_id, event, "ready-for-pickup notice");
        Ok(())
    }

    /// Sends the notice on the first channel that takes it; its channel and message.
    async fn send_notice(
        &self,
        root: CustomerId,
        number: &i64,
        location: &hilo_store::commerce::LocationRecord,
        fulfilment: FulfillmentId,
        until: hilo_domain::Timestamp,
    ) -> AppResult<Option<(String, String)>> {
        let customer = self.hilo.customers().get(root).await?;
        let consent = self.hilo.customers().consent_of(root).await?;
        let language = customer
            .traits
            .get("language")
            .and_then(Value::as_str)
            .unwrap_or("es");
        let spanish = !language.starts_with("en");
        let name = ["first_name", "firstName", "name"]
            .iter()
            .find_map(|k| customer.traits.get(*k).and_then(Value::as_str))
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or("")
            .to_owned();
        let has = |kind: &str| customer.identities.iter().any(|i| i.kind == kind);
        let page = hilo_domain::PageRequest::parse(Some("200"), None)?;
        let channels = self.hilo.store.list_channels(&page).await?;
        let mut tx = self.hilo.store.begin().await?;
        let active = tx.active_conversation(root, None).await?;
        drop(tx);
        // The channel they last wrote on first, then WhatsApp, SMS, email; never one whose
        // consent for service messages they withdrew, nor one without their address.
        let rank = |kind: ChannelType| match medium(kind) {
            Some("whatsapp") => 1,
            Some("sms") => 2,
            _ => 3,
        };
        let mut candidates: Vec<_> = channels
            .iter()
            .filter(|c| {
                let Some(medium) = medium(c.kind) else {
                    return false;
                };
                let withdrawn = consent
                    .get(&(medium.to_owned(), "service".to_owned()))
                    .is_some_and(|state| !state.granted);
                let reachable = if medium == "email" {
                    has("email")
                } else {
                    has("phone")
                };
                !withdrawn && reachable
            })
            .collect();
        let last = active.as_ref().and_then(|a| a.last_channel);
        candidates.sort_by_key(|c| (Some(c.id) != last, rank(c.kind)));
        if candidates.is_empty() {
            return Ok(None);
        }
        let conversation = match active {
            Some(active) => active.id,
            None => self.open_conversation(root).await?,
        };
        let until = local_time(until, &location.timezone, spanish);
        let text = ready_text(spanish, &name, *number, &location.name, fulfilment, &until);
        for channel in candidates {
            let reply = Reply {
                content: &text,
                channel: Some(channel.id),
                private: false,
                template: None,
            };
            match self
                .hilo
                .conversations()
                .reply_as(conversation, &reply, "system".to_owned())
                .await
            {
                Ok(message) => return Ok(Some((channel.id.to_string(), message.id.to_string()))),
                // This channel cannot carry it now (no address, outside WhatsApp's
                // window): the next one may.
                Err(AppError::ReplyRefused(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }

    /// A conversation Hilo starts with the customer, waiting on them.
    async fn open_conversation(&self, root: CustomerId) -> AppResult<ConversationId> {
        let now = self.hilo.now();
        let record = ConversationRecord {
            id: ConversationId::generate(),
            profile_id: root,
            status: ConversationStatus::Pending,
            thread_channel: None,
            last_channel: None,
            assignee: None,
            team: None,
            subject: None,
            snoozed_until: None,
            last_message_at: now,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.hilo.store.begin().await?;
        tx.insert_conversation(&record).await?;
        tx.commit().await?;
        Ok(record.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_holds_a_token_not_a_code() {
        let id = FulfillmentId::generate();
        let text = ready_text(true, "Ana", 100_001, "Madrid Sol", id, "30/11/2026 13:00");
        assert!(
            text.starts_with("Hola Ana: tu pedido 100001 está listo para recoger en Madrid Sol.")
        );
        assert!(text.contains(&format!("[[pickup-code:{id}]]")));
        let english = ready_text(false, "", 7, "Sol", id, "2026-11-30 13:00");
        assert!(english.starts_with("Hi: your order 7 is ready"));
    }
}
