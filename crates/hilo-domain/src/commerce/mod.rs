//! Commerce: money, one inventory across every location, and the rules of carts,
//! orders, pickups, returns and coupons that need no I/O.

pub mod allocation;
pub mod catalogue;
pub mod codes;
pub mod inventory;
pub mod location;
pub mod money;
pub mod order;
pub mod policy;
pub mod promotion;
pub mod reservation;
pub mod returns;
