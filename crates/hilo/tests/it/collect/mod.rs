//! Collection: the Segment API, the SDKs, durability of what was acknowledged.

mod durability;
mod sdks;
mod segment_api;
