//! Commerce's storage (migration 0034): locations, the catalogue, one inventory across
//! every location, carts and wish lists, orders with their fulfilments and
//! reservations, returns, promotions, and the store each staff member works at.

mod carts;
mod catalogue;
mod embedded;
mod inventory;
mod locations;
mod order_tx;
mod orders;
mod placing;
mod privacy;
mod promotions;
mod returns;
mod staff;

pub use carts::CartLine;
pub use catalogue::{ProductRecord, VariantRecord};
pub use embedded::{EmbeddedOrderTx, JobDone, OrderJob, OrderWriter, complete};
pub use inventory::{LevelRecord, MovementRecord, NewMovement};
pub use locations::LocationRecord;
pub use order_tx::OrderTx;
pub use orders::{
    FulfillmentRecord, HistoryRecord, NewOrder, OrderLineRecord, OrderRecord, ReservationRecord,
};
pub use placing::{OrderCustomer, PlacedTrail, StockTake};
pub use privacy::ErasedCommerce;
pub use promotions::{CouponRecord, PromotionRecord};
pub use returns::{ReturnLine, ReturnRecord};
pub use staff::StaffRecord;

fn parse<T: std::str::FromStr>(what: &'static str, text: &str) -> crate::StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| crate::corrupt(what, e))
}

fn json<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> crate::StoreResult<T> {
    serde_json::from_str(text).map_err(|e| crate::corrupt(what, e))
}
