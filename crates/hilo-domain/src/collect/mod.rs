//! Collection: the Segment wire format and the channels events come from.

pub mod channel;
pub mod segment;
