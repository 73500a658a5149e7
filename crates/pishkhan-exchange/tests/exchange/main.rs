//! The exchange's own parts without agencies: purposes, the schema subset and the message log.
//! The end-to-end suite (reference agency servers behind `SignedEnvelope`, the `Exchange`
//! client over real HTTP) is in `pishkhan-demo`'s tests, which may link the agencies.

mod common;
mod log;
mod purpose_schema;
