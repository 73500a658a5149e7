//! The domain's one test binary: primitives, authorization, input parsing and the booking
//! decision, all through the public API.

mod access;
mod booking_decision;
mod compliance;
mod input;
mod primitives;
