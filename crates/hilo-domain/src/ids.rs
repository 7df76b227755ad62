//! Typed identifiers. Each wraps a UUIDv7, so ids sort by creation time as strings and
//! cursors can be plain ids.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::Invalid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, ordered after every id made before it on this machine.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Lower-case hyphenated form: the same text the database stores.
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = Invalid;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(text)
                    .map(Self)
                    .map_err(|_| Invalid::new("id", "is not a valid id"))
            }
        }
    };
}

typed_id!(
    /// A secret API key's id (the key's secret itself is never stored).
    ApiKeyId
);
typed_id!(
    /// A source: one website, app, store or other origin of events.
    SourceId
);
typed_id!(
    /// A console user.
    UserId
);
typed_id!(
    /// A customer profile. Profiles merge: a merged-away id still finds the survivor.
    CustomerId
);
typed_id!(
    /// A durable job: work that runs after the request that caused it, and again after
    /// a failure.
    JobId
);
typed_id!(
    /// An endpoint that receives signed webhooks.
    WebhookId
);
typed_id!(
    /// A channel customers write on: a web chat, a mailbox, a phone number, a page.
    ChannelId
);
typed_id!(
    /// A conversation: one thread with one customer, across channels.
    ConversationId
);
typed_id!(
    /// One message in a conversation, in either direction, or a private note.
    MessageId
);
typed_id!(
    /// A visitor of a web chat: one browser, or one verified identity on a channel.
    VisitorId
);

typed_id!(
    /// A store or a warehouse.
    LocationId
);
typed_id!(
    /// A product of the catalogue; its variants are known by their SKUs.
    ProductId
);
typed_id!(
    /// An order, from any channel.
    OrderId
);
typed_id!(
    /// One part of an order that reaches the customer one way from one location.
    FulfillmentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_creation() {
        let first = SourceId::generate();
        let second = SourceId::generate();
        assert!(first.to_string() < second.to_string());
        assert_eq!(first.to_string().parse::<SourceId>(), Ok(first));
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-an-id".parse::<UserId>().is_err());
        assert!("".parse::<ApiKeyId>().is_err());
    }
}
