//! The events webhooks carry: one list, named after the part and what happened. Each
//! part adds its own lines here (`conversation.created`, `order.placed`, ...), and
//! `docs/API.md` lists them.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};

use crate::customers::changes::ChangeKind;
use crate::{CustomerId, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CustomerCreated,
    CustomerUpdated,
    CustomerMerged,
    CustomerUnmerged,
    CustomerErased,
    ConsentChanged,
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    CallStarted,
    CallEnded,
    /// An order was placed (Segment's `Order Completed`: the checkout is complete).
    OrderCompleted,
    OrderUpdated,
    OrderCancelled,
    OrderRefunded,
    /// Sent by `POST /api/v1/webhooks/{id}/test` to that endpoint only, whatever it
    /// subscribed to.
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 17] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerMerged,
        Self::CustomerUnmerged,
        Self::CustomerErased,
        Self::ConsentChanged,
        Self::ConversationCreated,
        Self::ConversationUpdated,
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::CallStarted,
        Self::CallEnded,
        Self::OrderCompleted,
        Self::OrderUpdated,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::WebhookTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerMerged => "customer.merged",
            Self::CustomerUnmerged => "customer.unmerged",
            Self::CustomerErased => "customer.erased",
            Self::ConsentChanged => "consent.changed",
            Self::ConversationCreated => "conversation.created",
            Self::ConversationUpdated => "conversation.updated",
            Self::MessageCreated => "message.created",
            Self::MessageUpdated => "message.updated",
            Self::CallStarted => "call.started",
            Self::CallEnded => "call.ended",
            Self::OrderCompleted => "order.completed",
            Self::OrderUpdated => "order.updated",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderRefunded => "order.refunded",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// What an endpoint may subscribe to: every event but the test.
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        Self::ALL
            .into_iter()
            .filter(|event| *event != Self::WebhookTest)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::subscribable()
            .find(|event| event.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::subscribable().map(EventType::as_str).collect();
                Invalid::new(
                    "events",
                    format!("must name events among {}", names.join(", ")),
                )
            })
    }
}

/// The webhook event a change-feed row stands for, with its `data`: the customer's id
/// and what changed, never an identifier or trait value, so a payload carries no
/// personal value (receivers read the profile through the API when they need it, with
/// their own permissions). `None` for changes no webhook reports.
pub fn event_of_change(
    kind: ChangeKind,
    customer: CustomerId,
    data: &Value,
) -> Option<(EventType, Value)> {
    let mut out = Map::new();
    out.insert("customer_id".into(), json!(customer.to_string()));
    let copy = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(value) = data.get(from) {
            out.insert(to.into(), value.clone());
        }
    };
    let event = match kind {
        ChangeKind::ProfileCreated => EventType::CustomerCreated,
        ChangeKind::ProfileTraits => {
            // The names of the traits that changed, not their values.
            copy(&mut out, "traits", "traits");
            EventType::CustomerUpdated
        }
        ChangeKind::ProfileMerged => {
            copy(&mut out, "absorbed", "merged_customer_id");
            EventType::CustomerMerged
        }
        ChangeKind::ProfileUnmerged => {
            copy(&mut out, "restored", "restored_customer_id");
            copy(&mut out, "merge_id", "merge_id");
            EventType::CustomerUnmerged
        }
        ChangeKind::ProfileErased => EventType::CustomerErased,
        ChangeKind::ProfileConsent => EventType::ConsentChanged,
        // Read by the search index; receivers hear of the profile's traits instead.
        ChangeKind::ProfileIdentified => return None,
        // Conversations: ids and states, never a message's text or an address; the
        // receiver reads the conversation through the API.
        ChangeKind::ConversationCreated
        | ChangeKind::ConversationUpdated
        | ChangeKind::MessageCreated
        | ChangeKind::MessageUpdated
        | ChangeKind::CallStarted
        | ChangeKind::CallEnded => {
            for field in [
                "conversation_id",
                "message_id",
                "channel_id",
                "channel_type",
                "direction",
                "status",
                "changed",
                "duration_seconds",
            ] {
                copy(&mut out, field, field);
            }
            match kind {
                ChangeKind::ConversationCreated => EventType::ConversationCreated,
                ChangeKind::ConversationUpdated => EventType::ConversationUpdated,
                ChangeKind::MessageCreated => EventType::MessageCreated,
                ChangeKind::MessageUpdated => EventType::MessageUpdated,
                ChangeKind::CallStarted => EventType::CallStarted,
                _ => EventType::CallEnded,
            }
        }
        // Orders: ids, states and amounts; the receiver reads lines and addresses
        // through the API.
        ChangeKind::OrderCompleted
        | ChangeKind::OrderUpdated
        | ChangeKind::OrderCancelled
        | ChangeKind::OrderRefunded => {
            for field in [
                "order_id",
                "number",
                "status",
                "channel",
                "total",
                "currency",
                "changed",
                "fulfillment_id",
                "location_id",
            ] {
                copy(&mut out, field, field);
            }
            match kind {
                ChangeKind::OrderCompleted => EventType::OrderCompleted,
                ChangeKind::OrderUpdated => EventType::OrderUpdated,
                ChangeKind::OrderCancelled => EventType::OrderCancelled,
                _ => EventType::OrderRefunded,
            }
        }
    };
    Some((event, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_test_event_is_not_subscribable() {
        for event in EventType::subscribable() {
            assert_eq!(event.as_str().parse::<EventType>(), Ok(event));
        }
        assert!("webhook.test".parse::<EventType>().is_err());
        assert!("customer.exploded".parse::<EventType>().is_err());
    }

    #[test]
    fn conversation_changes_carry_ids_and_states_only() {
        let id = CustomerId::generate();
        let (event, data) = event_of_change(
            ChangeKind::MessageCreated,
            id,
            &json!({"conversation_id": "c1", "message_id": "m1", "direction": "inbound",
                    "content": "mi dirección es…", "customer_address": "+34600111222"}),
        )
        .unwrap_or_else(|| panic!("a message is an event"));
        assert_eq!(event, EventType::MessageCreated);
        assert_eq!(
            data,
            json!({"customer_id": id.to_string(), "conversation_id": "c1", "message_id": "m1", "direction": "inbound"})
        );
    }

    #[test]
    fn changes_become_events_without_personal_values() {
        let id = CustomerId::generate();
        let (event, data) = event_of_change(
            ChangeKind::ProfileMerged,
            id,
            &json!({"absorbed": "c2", "identifier": "email:ana@example.com"}),
        )
        .unwrap_or_else(|| panic!("a merge is an event"));
        assert_eq!(event, EventType::CustomerMerged);
        assert_eq!(
            data,
            json!({"customer_id": id.to_string(), "merged_customer_id": "c2"})
        );
        let (event, data) = event_of_change(
            ChangeKind::ProfileTraits,
            id,
            &json!({"traits": ["name"], "by": "user:x"}),
        )
        .unwrap_or_else(|| panic!("traits are an event"));
        assert_eq!(event, EventType::CustomerUpdated);
        assert_eq!(
            data,
            json!({"customer_id": id.to_string(), "traits": ["name"]})
        );
        // Every customer change but new identifiers is reported, each as its own event.
        let events: std::collections::HashSet<EventType> = ChangeKind::ALL
            .into_iter()
            .filter_map(|kind| event_of_change(kind, id, &json!({})).map(|(event, _)| event))
            .collect();
        assert_eq!(events.len(), ChangeKind::ALL.len() - 1);
        assert!(event_of_change(ChangeKind::ProfileIdentified, id, &json!({})).is_none());
    }
}
