//! Integration tests for `pishkhan-sign`, using only its public API.

mod common;
mod config;
mod interop;
mod jws_rules;
mod keyring;
mod keys;
mod messages;
mod replay;
mod rfc8037;
