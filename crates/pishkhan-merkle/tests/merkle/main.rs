//! Integration tests for `pishkhan-merkle`, through the public API only.
//!
//! * `kat`: RFC 6962 known answers from transparency-dev/merkle.
//! * `mtc_vectors`: accumulated digests over every proof for trees up to 130
//!   leaves (draft-ietf-plants-merkle-tree-certs Appendix C).
//! * `props`: exhaustive cross-checks and tamper detection for n = 1..=130.
//! * `scalable`: the persisted-log flow (batches, restart, O(log n) fetches).
//! * `checkpoint`: C2SP checkpoint body encoding and strict parsing.
//! * `python`: an independent Python verifier accepts our proofs.

mod checkpoint;
mod common;
mod kat;
mod mtc_vectors;
mod props;
mod python;
mod scalable;
