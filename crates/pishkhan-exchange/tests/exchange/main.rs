//! The exchange over real components: reference agency servers on 127.0.0.1:0 behind
//! `SignedEnvelope`, the `Exchange` client over real HTTP, and the message log.

mod agency_side;
mod cache;
mod common;
mod directory;
mod inquiry;
mod log;
mod purpose_schema;
mod resilience;
