//! Integration tests of `pishkhan-identity`, through its public API only.

mod common;
mod decisions;
mod normalization;
mod profile_json;
mod records;
mod signals;
