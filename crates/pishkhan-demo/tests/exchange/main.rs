//! The exchange end to end over real components: reference agency servers on 127.0.0.1:0
//! behind `SignedEnvelope`, the reference directory, and the `Exchange` client over real HTTP.
//! (The exchange's own log and purpose tests are in `pishkhan-exchange`.)

mod agency_side;
mod cache;
mod common;
mod directory;
mod inquiry;
mod resilience;
