//! What a customer's timeline holds: items of a few types, each from any channel.
//! Stored as text (`timeline.item_type`); later parts add theirs (messages, calls, orders).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemType {
    /// A Segment message: track, page, screen, identify, group or alias (its `kind`).
    Event,
    /// Something staff did: registered or updated the customer (its `kind`).
    Staff,
    /// A message of a conversation, on any channel (its `kind` is the direction).
    Message,
    /// A customer's rating of a conversation (its `kind`: `csat`).
    Survey,
    /// Shopping: carts, wish lists, orders and returns (its `kind`: `cart`, `wishlist`,
    /// `order`, `return`), named after Segment's e-commerce events (`Product Added`,
    /// `Order Completed`, …) so an order placed in Hilo reads as one a shop reported.
    Commerce,
}

impl ItemType {
    pub const ALL: [Self; 5] = [
        Self::Event,
        Self::Staff,
        Self::Message,
        Self::Survey,
        Self::Commerce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Staff => "staff",
            Self::Message => "message",
            Self::Survey => "survey",
            Self::Commerce => "commerce",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored type this version does not know (written by a newer node, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeline item type {0:?}")]
pub struct UnknownItemType(pub String);

impl FromStr for ItemType {
    type Err = UnknownItemType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|item| item.as_str() == text)
            .ok_or_else(|| UnknownItemType(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for item in ItemType::ALL {
            assert_eq!(item.as_str().parse::<ItemType>(), Ok(item));
        }
        assert!("fax".parse::<ItemType>().is_err());
    }
}
