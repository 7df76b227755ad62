//! Commerce: locations, the catalogue and one inventory; carts that follow the
//! customer; orders from any channel with their reservations; racing checkouts.

mod carts;
mod catalogue;
mod orders;
mod pickups;
mod privacy;
mod promotions;
mod racing;
mod returns;
mod staff;
