//! A reservation's life: stock promised to an order's line at a location is `held` until
//! it is given back (`released`: the order was cancelled or changed, the pickup expired)
//! or leaves with the customer (`sold`), once. The store moves a reservation with one
//! conditional update from `held`, so however many cancellations, expiries and
//! hand-overs race, only the first moves it — and only that one moves the level.

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationState {
    Held,
    Released,
    Sold,
}

impl ReservationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Sold => "sold",
        }
    }

    /// The state after trying to settle it as `to`; `None` when it was settled already
    /// (nothing moves, the level included).
    pub fn settle(self, to: ReservationState) -> Option<ReservationState> {
        (self == Self::Held && to != Self::Held).then_some(to)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::ReservationState::*;
    use crate::commerce::inventory::{Level, Reason, plan};

    proptest! {
        /// Cancellations, expiries and hand-overs in any order and number: the level
        /// gives the units back or sells them once, and never goes negative.
        #[test]
        fn a_reservation_is_released_at_most_once(
            attempts in proptest::collection::vec(any::<bool>(), 1..20),
            quantity in 1i64..5,
        ) {
            let mut level = Level { on_hand: 10, reserved: 0, safety: 0 };
            level = level.apply(&plan(&level, Reason::Reserved, quantity).unwrap());
            let mut state = Held;
            let mut moved = 0;
            for sell in attempts {
                let to = if sell { Sold } else { Released };
                if let Some(next) = state.settle(to) {
                    state = next;
                    moved += 1;
                    let reason = if sell { Reason::Sold } else { Reason::Released };
                    level = level.apply(&plan(&level, reason, quantity).unwrap());
                }
            }
            prop_assert_eq!(moved, 1);
            prop_assert_eq!(level.reserved, 0);
            prop_assert!(level.on_hand == 10 || level.on_hand == 10 - quantity);
        }
    }
}
