//! Surge releases: a seeded, publicly verifiable lottery for scarce appointment slots.
//!
//! When a scarce service opens (the vaccine-booking case), the regulator does not run a
//! first-come-first-served race that crashes sites and rewards bots. It opens a *release*: a
//! service, a set of offices with a number of slots each, and a request window. Citizens submit
//! requests with up to five preferred offices during the window; at the close the slots are
//! allocated by a seeded lottery, and the seed and the digests of inputs and result are
//! published so that anyone can re-run the allocation ([`verify`]) and get the same result.
//!
//! The crate is pure: no clock, no randomness, no I/O beyond the explicit bundle file helpers
//! ([`read_bundle`], [`write_bundle`]). The seed is an input, and the caller passes only the
//! requests received inside the window, in arrival order. [`allocate`] hashes on up to
//! [`std::thread::available_parallelism`] scoped threads for large releases; the result does
//! not depend on the number of threads.
//!
//! # Rules
//!
//! **Validation.** A request is rejected ([`Rejection`]) when it lists no office, more than
//! [`MAX_PREFERENCES`] offices, the same office twice, or an office that is not part of the
//! release. The checks run in that order and the first failure is reported. The national code
//! is already valid by type ([`NationalCode`] checks the check digit).
//!
//! **Deduplication: the last valid request of a national code wins.** The requests are given in
//! arrival order. Among the *valid* requests of one national code, the one received last
//! replaces the earlier ones; those are reported as [`Rejection::Superseded`] with the index of
//! the request that replaced them. Why the last, and why only valid ones:
//! - a citizen can correct a typo or change their mind until the window closes, which is how
//!   a form that can be edited behaves, and what a citizen expects;
//! - it gives no advantage: the lottery position depends only on the seed and the national
//!   code, never on the request, so submitting again does not "re-roll" the draw and early or
//!   repeated submission gains nothing (bots hammering the endpoint for one code gain nothing);
//! - an invalid amendment, which a live system refuses at submission, does not destroy the
//!   citizen's earlier valid request.
//!
//! Arrival order matters for nothing else: any reordering of the input that keeps each
//! citizen's own requests in their relative order gives the same allocation and digests.
//!
//! **Lottery.** Every deduplicated citizen gets the key `SHA-256(seed ‖ code)`, where `seed` is
//! the 32 seed bytes and `code` the 10 ASCII digits of the national code ([`lottery_key`]).
//! Citizens are ordered by key, byte-wise ascending (a tie would need a SHA-256 collision; it is
//! broken by national code anyway) — a uniformly random permutation fixed by the seed
//! ([`lottery_order`]). In that order each citizen gets the first office of their own list that
//! still has a free slot. A citizen whose listed offices are all full joins the waitlist; the
//! waitlist is therefore in lottery order.
//!
//! This is *random serial dictatorship*, which is **strategy-proof**: what is still free when a
//! citizen's turn comes depends only on the citizens drawn before them, never on the citizen's
//! own list, and they get the best office of their list among those. So listing one's true
//! preferences in true order is optimal: putting a less-wanted office first can only give the
//! less-wanted office, and leaving an acceptable office out can only lose a slot. (With the cap
//! of five offices, listing the five most wanted, in order, is optimal.) The outcome is also
//! Pareto-efficient: no two citizens could swap and both be better off.
//!
//! **Digests** (SHA-256, lowercase hex; integers big-endian; strings prefixed by their length as
//! a `u32`):
//! - *inputs*: `"pishkhan-release inputs v1" 0x00`, id, service code, office count (`u32`),
//!   then per office sorted by code `office (u32) slots (u32)`, then the deduplicated request
//!   count (`u64`) and per request sorted by national code: the 10 ASCII digits, the
//!   preference count (`u8`) and each preferred office (`u32`) in the citizen's order. The seed
//!   is not part of it; it is published on its own.
//! - *allocation*: `"pishkhan-release allocation v1" 0x00`, winner count (`u64`), per winner
//!   sorted by national code `digits office (u32)`, then the waitlist length (`u64`) and the
//!   waitlist's national codes in waitlist order.
//!
//! Rejected and superseded requests are not part of either digest: the digests commit to
//! exactly what decided the allocation. A citizen checks their own request appears in the
//! published deduplicated inputs.
//!
//! **Seed commitment.** At the opening the regulator publishes [`commitment`]`(seed)` =
//! `SHA-256(seed)` in hex; at the close it reveals the seed. [`verify`] checks the seed against
//! a commitment when given one, so the seed cannot have been chosen after the requests were
//! seen. This does not stop an insider who *knows* the seed during the window from adding
//! requests under national codes with good keys; keeping the seed with a separate custodian, or
//! mixing in public randomness drawn after the close, is the operational answer.
//!
//! **Waitlist offers.** See [`Waitlist`].
//!
//! **Files.** See [`read_bundle`]: a JSON document, or JSON lines for large releases.

mod allocate;
mod bundle;
mod canon;
mod serde_impl;
mod synthetic;
mod waitlist;

pub use allocate::{allocate, lottery_key, lottery_order, verify};
pub use bundle::{
    Bundle, BundleError, read_bundle, read_bundle_json, read_bundle_jsonl, verify_bundle,
    write_bundle, write_bundle_json, write_bundle_jsonl,
};
pub use synthetic::synthetic;
pub use waitlist::Waitlist;

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use sha2::{Digest, Sha256};

/// The most offices one request may list.
pub const MAX_PREFERENCES: usize = 5;

/// The lottery seed: 32 bytes the regulator draws, commits to at the opening and reveals at the
/// close.
pub type Seed = [u8; 32];

/// A release the regulator opens: a service, offices with their slots, and the seed.
///
/// Serialized as `{"id": "...", "service": "PSP-001", "offices": [{"office": "10000001",
/// "slots": 200}], "seed": "<64 hex digits>"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// 1..=64 of `A-Z a-z 0-9 . _ -`.
    pub id: String,
    #[serde(with = "serde_impl::service")]
    pub service: ServiceCode,
    /// Each office of the release once, with its slots (at least one).
    #[serde(with = "serde_impl::spec_offices")]
    pub offices: Vec<(OfficeCode, u32)>,
    #[serde(with = "serde_impl::seed")]
    pub seed: Seed,
}

impl ReleaseSpec {
    /// N, the slots of the release: the sum over its offices.
    pub fn total_slots(&self) -> u64 {
        self.offices.iter().map(|&(_, s)| u64::from(s)).sum()
    }

    /// Checks the id, and that the offices are non-empty, distinct and each has a slot.
    pub fn validate(&self) -> Result<(), SpecError> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(SpecError::InvalidId);
        }
        if self.offices.is_empty() {
            return Err(SpecError::NoOffices);
        }
        if u32::try_from(self.offices.len()).is_err() {
            return Err(SpecError::TooManyOffices);
        }
        let mut codes: Vec<OfficeCode> = self.offices.iter().map(|&(o, _)| o).collect();
        codes.sort_unstable();
        if let Some(w) = codes.windows(2).find(|w| w[0] == w[1]) {
            return Err(SpecError::DuplicateOffice { office: w[0] });
        }
        if let Some(&(office, _)) = self.offices.iter().find(|&&(_, s)| s == 0) {
            return Err(SpecError::ZeroSlots { office });
        }
        Ok(())
    }
}

/// One citizen's request: their national code and 1..=5 distinct offices, most wanted first.
///
/// Serialized as `{"national_code": "0012345679", "preferences": ["10000001", "10000008"]}`;
/// office codes are read from strings or numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub national_code: NationalCode,
    #[serde(with = "serde_impl::offices")]
    pub preferences: Vec<OfficeCode>,
}

/// Why a request takes no part in the lottery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the request lists no office")]
    NoPreferences,
    #[error("the request lists {count} offices; at most {MAX_PREFERENCES} are allowed")]
    TooManyPreferences { count: usize },
    #[error("office {office} is listed more than once")]
    DuplicatePreference { office: OfficeCode },
    #[error("office {office} is not part of this release")]
    UnknownOffice { office: OfficeCode },
    /// A later valid request of the same national code replaced this one.
    #[error("replaced by the later request at index {by}")]
    Superseded { by: usize },
}

impl Rejection {
    /// A stable code for API clients and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::NoPreferences => "no_preferences",
            Rejection::TooManyPreferences { .. } => "too_many_preferences",
            Rejection::DuplicatePreference { .. } => "duplicate_preference",
            Rejection::UnknownOffice { .. } => "unknown_office",
            Rejection::Superseded { .. } => "superseded",
        }
    }
}

/// A release that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("a release id is 1..=64 of A-Z, a-z, 0-9, '.', '_' or '-'")]
    InvalidId,
    #[error("a release needs at least one office")]
    NoOffices,
    #[error("a release has at most 2^32 - 1 offices")]
    TooManyOffices,
    #[error("office {office} appears more than once in the release")]
    DuplicateOffice { office: OfficeCode },
    #[error("office {office} has no slots")]
    ZeroSlots { office: OfficeCode },
    #[error("a release takes at most 2^32 - 1 requests")]
    TooManyRequests,
}

/// What the regulator publishes at the close.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    pub release_id: String,
    /// The revealed seed, 64 lowercase hex digits.
    pub seed_hex: String,
    pub inputs_digest_hex: String,
    pub allocation_digest_hex: String,
    pub winners: u64,
    pub waitlisted: u64,
}

/// The result of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Each winner and their office, in lottery order.
    pub winners: Vec<(NationalCode, OfficeCode)>,
    /// Citizens whose listed offices were all full, in lottery order.
    pub waitlist: Vec<NationalCode>,
    /// Rejected and superseded requests by input index, ascending.
    pub rejected: Vec<(usize, Rejection)>,
    pub publication: Publication,
    /// The waitlisted citizens' preferences, flattened: `waitlist_prefs[waitlist_ends[i - 1]..
    /// waitlist_ends[i]]` belongs to `waitlist[i]`.
    waitlist_prefs: Vec<OfficeCode>,
    waitlist_ends: Vec<usize>,
}

impl Allocation {
    /// The waitlist, ready to offer slots freed by cancellations.
    pub fn waitlist_offers(&self) -> Waitlist {
        let mut start = 0usize;
        Waitlist::new(
            self.waitlist
                .iter()
                .zip(&self.waitlist_ends)
                .map(|(c, &end)| {
                    let prefs = self.waitlist_prefs[start..end].to_vec();
                    start = end;
                    (c.clone(), prefs)
                }),
        )
    }

    /// The office a citizen won, if any (a linear scan; build a map for many look-ups).
    pub fn office_of(&self, code: &NationalCode) -> Option<OfficeCode> {
        self.winners
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, office)| office)
    }
}

/// Why a publication does not match the inputs. The first mismatch found is reported, in the
/// order of the variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the release cannot be run: {0}")]
    Spec(#[from] SpecError),
    #[error("the publication is for release {published:?}, the spec is {actual:?}")]
    ReleaseId { published: String, actual: String },
    #[error("the published seed {published} is not the spec's seed {actual}")]
    Seed { published: String, actual: String },
    #[error("the seed does not match the commitment {expected}: it commits to {actual}")]
    Commitment { expected: String, actual: String },
    #[error("inputs digest differs: published {published}, recomputed {recomputed}")]
    InputsDigest {
        published: String,
        recomputed: String,
    },
    #[error("allocation digest differs: published {published}, recomputed {recomputed}")]
    AllocationDigest {
        published: String,
        recomputed: String,
    },
    #[error(
        "counts differ: published {published_winners} winners and {published_waitlisted} \
         waitlisted, recomputed {winners} and {waitlisted}"
    )]
    Counts {
        published_winners: u64,
        published_waitlisted: u64,
        winners: u64,
        waitlisted: u64,
    },
}

/// The commitment to a seed, published at the opening: `SHA-256(seed)` in lowercase hex.
pub fn commitment(seed: &Seed) -> String {
    hex::encode(Sha256::digest(seed))
}

/// Parses 64 hex digits into a seed.
pub fn parse_seed(s: &str) -> Option<Seed> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut seed).ok()?;
    Some(seed)
}
