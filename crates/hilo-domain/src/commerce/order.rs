//! Orders: where they come from, how each part of one reaches the customer, and the
//! states a fulfilment moves through.

use std::str::FromStr;

use crate::Invalid;

/// Most lines one order holds.
pub const MAX_LINES: usize = 100;
/// Most units of one SKU on one line (or in one cart line).
pub const MAX_QUANTITY: i64 = 999;

macro_rules! named {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = Invalid;

            fn from_str(text: &str) -> Result<Self, Invalid> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Invalid::new($field, format!("must be one of {}", names.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(
    /// The channel an order was placed on.
    OrderChannel, "channel", {
        Web => "web",
        App => "app",
        Pos => "pos",
        Kiosk => "kiosk",
        CallCenter => "call_center",
        VoiceAssistant => "voice_assistant",
        LiveEvent => "live_event",
        StoreTablet => "store_tablet",
    }
);

named!(
    /// How a part of an order reaches the customer.
    FulfillmentKind, "fulfillment.type", {
        /// Collected at a store (BOPIS).
        Pickup => "pickup",
        /// Sent to an address from a warehouse or a store.
        Ship => "ship",
        /// Kept at a store and paid there (S21).
        Reserve => "reserve",
        /// Taken at a point of sale: sold at the counter, leaves at once.
        Counter => "counter",
    }
);

named!(
    /// Where a fulfilment stands.
    FulfillmentStatus, "status", {
        Placed => "placed",
        Allocated => "allocated",
        Picking => "picking",
        ReadyForPickup => "ready_for_pickup",
        Shipped => "shipped",
        Collected => "collected",
        Delivered => "delivered",
        Cancelled => "cancelled",
    }
);

named!(
    /// Where an order stands as a whole.
    OrderStatus, "status", {
        /// Some fulfilment is still on its way.
        Open => "open",
        /// Every fulfilment was collected or delivered.
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl FulfillmentStatus {
    /// Whether the goods are still in the business's hands (stock still reserved).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Self::Placed | Self::Allocated | Self::Picking | Self::ReadyForPickup
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Collected | Self::Delivered | Self::Cancelled)
    }

    /// Whether a fulfilment of `kind` may move from `self` to `next`.
    pub fn may_become(self, next: Self, kind: FulfillmentKind) -> bool {
        use FulfillmentStatus::*;
        let collected_here = matches!(kind, FulfillmentKind::Pickup | FulfillmentKind::Reserve);
        match (self, next) {
            (Placed, Allocated) | (Allocated, Picking) => true,
            (Allocated | Picking, ReadyForPickup) => collected_here,
            (ReadyForPickup, Collected) => collected_here,
            (Allocated | Picking, Shipped) => kind == FulfillmentKind::Ship,
            (Shipped, Delivered) => kind == FulfillmentKind::Ship,
            (from, Cancelled) => from.is_pending(),
            _ => false,
        }
    }
}

/// The order's status from its fulfilments' (cancelled only when all are; completed
/// when every one not cancelled reached the customer).
pub fn order_status(fulfilments: &[FulfillmentStatus]) -> OrderStatus {
    if fulfilments
        .iter()
        .all(|s| *s == FulfillmentStatus::Cancelled)
    {
        OrderStatus::Cancelled
    } else if fulfilments.iter().all(|s| s.is_final()) {
        OrderStatus::Completed
    } else {
        OrderStatus::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FulfillmentStatus::*;

    #[test]
    fn names_round_trip() {
        for channel in OrderChannel::ALL {
            assert_eq!(channel.as_str().parse::<OrderChannel>(), Ok(*channel));
        }
        assert_eq!("fax".parse::<OrderChannel>().unwrap_err().field, "channel");
        assert_eq!(
            "drone".parse::<FulfillmentKind>().unwrap_err().field,
            "fulfillment.type"
        );
    }

    #[test]
    fn a_pickup_is_never_shipped_and_a_shipment_never_collected() {
        assert!(Allocated.may_become(ReadyForPickup, FulfillmentKind::Pickup));
        assert!(ReadyForPickup.may_become(Collected, FulfillmentKind::Pickup));
        assert!(!Allocated.may_become(Shipped, FulfillmentKind::Pickup));
        assert!(!Allocated.may_become(ReadyForPickup, FulfillmentKind::Ship));
        assert!(Picking.may_become(Shipped, FulfillmentKind::Ship));
        assert!(!Shipped.may_become(Cancelled, FulfillmentKind::Ship));
        assert!(!Collected.may_become(Cancelled, FulfillmentKind::Pickup));
        assert!(!Cancelled.may_become(Cancelled, FulfillmentKind::Pickup));
    }

    #[test]
    fn an_order_is_as_its_fulfilments() {
        assert_eq!(
            order_status(&[Cancelled, Cancelled]),
            OrderStatus::Cancelled
        );
        assert_eq!(
            order_status(&[Cancelled, Collected]),
            OrderStatus::Completed
        );
        assert_eq!(order_status(&[Allocated, Collected]), OrderStatus::Open);
    }
}
