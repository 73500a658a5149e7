//! The domain's one test binary: primitives, authorization and input parsing, all through the
//! public API.

mod access;
mod input;
mod primitives;
