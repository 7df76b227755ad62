//! One SKU's stock at one location, and every change to it as a movement with a reason,
//! decided purely: what is on hand, what is promised to orders (reserved), what must
//! stay on the shelf (safety stock), and so what can still be sold. The store applies a
//! movement and keeps it, so any level can be explained as the sum of its movements.

use serde::{Deserialize, Serialize};

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Goods arrived.
    Received,
    /// Promised to an order.
    Reserved,
    /// A promise let go (an order cancelled or changed, a pickup expired).
    Released,
    /// A reserved unit left with its customer (collected, shipped).
    Sold,
    /// A point-of-sale sale: it leaves at once, unreserved.
    SoldAtCounter,
    /// Back from a customer and put on the shelf.
    Returned,
    /// Someone counted the shelf: on hand becomes what was counted.
    Counted,
    /// Broken, lost or written off.
    Damaged,
    /// Sent to another location.
    TransferredOut,
    /// Arrived from another location.
    TransferredIn,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Reserved => "reserved",
            Self::Released => "released",
            Self::Sold => "sold",
            Self::SoldAtCounter => "sold_at_counter",
            Self::Returned => "returned",
            Self::Counted => "counted",
            Self::Damaged => "damaged",
            Self::TransferredOut => "transferred_out",
            Self::TransferredIn => "transferred_in",
        }
    }
}

/// One SKU's stock at one location.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub on_hand: i64,
    pub reserved: i64,
    /// Units kept back from sale (the last one on the shelf, say).
    pub safety: i64,
}

impl Level {
    /// What can still be promised: on hand, less what is promised and kept back.
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved - self.safety).max(0)
    }

    pub fn apply(self, movement: &Movement) -> Self {
        Self {
            on_hand: self.on_hand + movement.on_hand,
            reserved: self.reserved + movement.reserved,
            safety: self.safety,
        }
    }
}

/// A change to a level: how on hand and reserved move, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub reason: Reason,
    pub on_hand: i64,
    pub reserved: i64,
}

/// A movement refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a quantity is a whole number of units above zero")]
    Quantity,
    /// Asked for more than can be promised.
    #[error("only {available} available")]
    OutOfStock { available: i64 },
    /// Let go or sold more than was promised.
    #[error("only {reserved} reserved")]
    NotReserved { reserved: i64 },
    /// Taken more than is on the shelf, beyond what is promised.
    #[error("only {free} on hand that is not promised")]
    NotOnHand { free: i64 },
    /// Counted fewer than are promised: those reservations are let go first.
    #[error("{reserved} are promised to orders; release what cannot be served first")]
    CountBelowReserved { reserved: i64 },
}

/// Plans one change of `level` by `quantity` units for `reason` (for `Counted`, the
/// quantity counted, which may be zero). Every accepted movement leaves on hand and
/// reserved at zero or more, and never promises more than is on hand.
pub fn plan(level: &Level, reason: Reason, quantity: i64) -> Result<Movement, Refused> {
    let counted = reason == Reason::Counted;
    if quantity < 0 || (quantity == 0 && !counted) {
        return Err(Refused::Quantity);
    }
    let free = level.on_hand - level.reserved;
    let (on_hand, reserved) = match reason {
        Reason::Received | Reason::Returned | Reason::TransferredIn => (quantity, 0),
        Reason::Reserved => {
            if quantity > level.available() {
                return Err(Refused::OutOfStock {
                    available: level.available(),
                });
            }
            (0, quantity)
        }
        Reason::Released => {
            if quantity > level.reserved {
                return Err(Refused::NotReserved {
                    reserved: level.reserved,
                });
            }
            (0, -quantity)
        }
        Reason::Sold => {
            if quantity > level.reserved {
                return Err(Refused::NotReserved {
                    reserved: level.reserved,
                });
            }
            (-quantity, -quantity)
        }
        Reason::SoldAtCounter => {
            // The customer holds it: what is on the shelf unpromised may go, safety
            // stock included.
            if quantity > free {
                return Err(Refused::NotOnHand { free: free.max(0) });
            }
            (-quantity, 0)
        }
        Reason::Damaged | Reason::TransferredOut => {
            if quantity > free {
                return Err(Refused::NotOnHand { free: free.max(0) });
            }
            (-quantity, 0)
        }
        Reason::Counted => {
            // A count below what is promised would promise units that are gone: those
            // reservations are let go first.
            if quantity < level.reserved {
                return Err(Refused::CountBelowReserved {
                    reserved: level.reserved,
                });
            }
            (quantity - level.on_hand, 0)
        }
    };
    Ok(Movement {
        reason,
        on_hand,
        reserved,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const REASONS: [Reason; 10] = [
        Reason::Received,
        Reason::Reserved,
        Reason::Released,
        Reason::Sold,
        Reason::SoldAtCounter,
        Reason::Returned,
        Reason::Counted,
        Reason::Damaged,
        Reason::TransferredOut,
        Reason::TransferredIn,
    ];

    #[test]
    fn safety_stock_is_never_promised_online() {
        let shelf = Level {
            on_hand: 3,
            reserved: 1,
            safety: 1,
        };
        assert_eq!(shelf.available(), 1);
        assert_eq!(
            plan(&shelf, Reason::Reserved, 2),
            Err(Refused::OutOfStock { available: 1 })
        );
        let taken = shelf.apply(&plan(&shelf, Reason::Reserved, 1).unwrap());
        assert_eq!(taken.available(), 0);
        // At the counter the last unit may still be sold to the customer holding it.
        assert!(plan(&taken, Reason::SoldAtCounter, 1).is_ok());
        assert!(plan(&taken, Reason::SoldAtCounter, 2).is_err());
    }

    #[test]
    fn a_reservation_is_let_go_or_sold_once() {
        let level = Level {
            on_hand: 2,
            reserved: 0,
            safety: 0,
        };
        let reserved = level.apply(&plan(&level, Reason::Reserved, 2).unwrap());
        let released = reserved.apply(&plan(&reserved, Reason::Released, 2).unwrap());
        assert_eq!(released, level);
        assert_eq!(
            plan(&released, Reason::Released, 1),
            Err(Refused::NotReserved { reserved: 0 })
        );
        let sold = reserved.apply(&plan(&reserved, Reason::Sold, 1).unwrap());
        assert_eq!((sold.on_hand, sold.reserved), (1, 1));
        assert_eq!(plan(&level, Reason::Received, 0), Err(Refused::Quantity));
        assert_eq!(plan(&level, Reason::Received, -1), Err(Refused::Quantity));
    }

    #[test]
    fn a_count_sets_on_hand_and_never_below_what_is_promised() {
        let level = Level {
            on_hand: 10,
            reserved: 4,
            safety: 0,
        };
        let counted = level.apply(&plan(&level, Reason::Counted, 7).unwrap());
        assert_eq!(counted.on_hand, 7);
        assert_eq!(
            plan(&level, Reason::Counted, 3),
            Err(Refused::CountBelowReserved { reserved: 4 })
        );
        let empty = Level::default();
        assert_eq!(
            empty.apply(&plan(&empty, Reason::Counted, 0).unwrap()),
            empty
        );
    }

    proptest! {
        /// Whatever is asked, in any order: stock is never negative, nothing is
        /// promised beyond what is on hand, and every level is the sum of its
        /// movements.
        #[test]
        fn levels_are_the_sum_of_their_movements_and_never_negative(
            safety in 0i64..3,
            steps in proptest::collection::vec((0usize..REASONS.len(), -2i64..12), 0..80),
        ) {
            let mut level = Level { safety, ..Level::default() };
            let mut kept = Vec::new();
            for (reason, quantity) in steps {
                if let Ok(movement) = plan(&level, REASONS[reason], quantity) {
                    level = level.apply(&movement);
                    kept.push(movement);
                }
                prop_assert!(level.on_hand >= 0 && level.reserved >= 0);
                prop_assert!(level.reserved <= level.on_hand);
                prop_assert!(level.available() <= level.on_hand);
            }
            let on_hand: i64 = kept.iter().map(|m| m.on_hand).sum();
            let reserved: i64 = kept.iter().map(|m| m.reserved).sum();
            prop_assert_eq!((on_hand, reserved), (level.on_hand, level.reserved));
        }
    }
}
