//! Deduplication, the lottery, the allocation and its verification.

use std::collections::HashMap;

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::OfficeCode;
use sha2::{Digest, Sha256};

use crate::canon::{ALLOCATION_TAG, Canon, INPUTS_TAG, code_to_u64, u64_to_digits};
use crate::{
    Allocation, MAX_PREFERENCES, Publication, Rejection, ReleaseSpec, Request, Seed, SpecError,
    VerifyError,
};

/// The lottery key of a citizen: `SHA-256(seed ‖ the 10 ASCII digits of the national code)`.
/// Citizens are drawn in ascending byte order of their keys.
pub fn lottery_key(seed: &Seed, code: &NationalCode) -> [u8; 32] {
    key_of_digits(seed, code.as_str().as_bytes())
}

fn key_of_digits(seed: &Seed, digits: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(digits);
    h.finalize().into()
}

/// The codes in lottery order: ascending [`lottery_key`], ties (a SHA-256 collision) broken by
/// national code. Every code given is kept, repeated ones included.
pub fn lottery_order(seed: &Seed, codes: &[NationalCode]) -> Vec<NationalCode> {
    let mut keyed: Vec<([u8; 32], &NationalCode)> =
        codes.iter().map(|c| (lottery_key(seed, c), c)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, c)| c.clone()).collect()
}

/// A valid request, its offices resolved to indices into `spec.offices`.
#[derive(Clone, Copy)]
struct Valid {
    code: u64,
    input: u32,
    len: u8,
    prefs: [u32; MAX_PREFERENCES],
}

impl Valid {
    fn prefs(&self) -> &[u32] {
        &self.prefs[..usize::from(self.len)]
    }
}

fn resolve(r: &Request, index: &HashMap<OfficeCode, u32>) -> Result<Valid, Rejection> {
    let p = &r.preferences;
    if p.is_empty() {
        return Err(Rejection::NoPreferences);
    }
    if p.len() > MAX_PREFERENCES {
        return Err(Rejection::TooManyPreferences { count: p.len() });
    }
    for (i, o) in p.iter().enumerate() {
        if p[..i].contains(o) {
            return Err(Rejection::DuplicatePreference { office: *o });
        }
    }
    let mut prefs = [0u32; MAX_PREFERENCES];
    for (slot, o) in prefs.iter_mut().zip(p) {
        *slot = *index
            .get(o)
            .ok_or(Rejection::UnknownOffice { office: *o })?;
    }
    Ok(Valid {
        code: code_to_u64(r.national_code.as_str()),
        input: 0,
        len: p.len() as u8,
        prefs,
    })
}

/// Rejected requests by input index.
type Rejected = Vec<(usize, Rejection)>;

/// Validation and deduplication: the effective requests sorted by national code, and the
/// rejections sorted by input index.
fn dedup(spec: &ReleaseSpec, requests: &[Request]) -> Result<(Vec<Valid>, Rejected), SpecError> {
    spec.validate()?;
    if u32::try_from(requests.len()).is_err() {
        return Err(SpecError::TooManyRequests);
    }
    let index: HashMap<OfficeCode, u32> = spec
        .offices
        .iter()
        .enumerate()
        .map(|(i, &(o, _))| (o, i as u32))
        .collect();

    let mut rejected = Vec::new();
    let mut valid = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        match resolve(r, &index) {
            Ok(mut v) => {
                v.input = i as u32;
                valid.push(v);
            }
            Err(why) => rejected.push((i, why)),
        }
    }

    // The last valid request of each national code wins.
    valid.sort_unstable_by_key(|v| (v.code, v.input));
    let mut effective: Vec<Valid> = Vec::with_capacity(valid.len());
    for group in valid.chunk_by(|a, b| a.code == b.code) {
        let (last, earlier) = group.split_last().expect("chunks are non-empty");
        for e in earlier {
            rejected.push((
                e.input as usize,
                Rejection::Superseded {
                    by: last.input as usize,
                },
            ));
        }
        effective.push(*last);
    }
    drop(valid);
    rejected.sort_unstable_by_key(|&(i, _)| i);
    Ok((effective, rejected))
}

fn inputs_digest(spec: &ReleaseSpec, effective: &[Valid]) -> String {
    let mut offices = spec.offices.clone();
    offices.sort_unstable();
    let mut c = Canon::new(INPUTS_TAG);
    c.str(&spec.id);
    c.str(spec.service.as_str());
    c.u32(offices.len() as u32);
    for (office, slots) in offices {
        c.u32(office.get());
        c.u32(slots);
    }
    c.u64(effective.len() as u64);
    for e in effective {
        c.bytes(&u64_to_digits(e.code));
        c.u8(e.len);
        for &p in e.prefs() {
            c.u32(spec.offices[p as usize].0.get());
        }
    }
    c.finish_hex()
}

/// The positions in `effective` in lottery order. The keys are computed on all cores (worth
/// it from a few hundred thousand requests); the order itself does not depend on that.
fn draw(seed: &Seed, effective: &[Valid]) -> Vec<u32> {
    const PER_THREAD_MIN: usize = 100_000;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(effective.len() / PER_THREAD_MIN)
        .max(1);
    let chunk = effective.len().div_ceil(threads).max(1);
    // (key as two big-endian halves, which order like the bytes but compare without memcmp;
    // the national code for the impossible tie; the position in `effective`)
    type Keyed = (u128, u128, u64, u32);
    let mut keyed: Vec<Keyed> = vec![(0, 0, 0, 0); effective.len()];
    let fill = |start: usize, out: &mut [Keyed]| {
        for (k, slot) in out.iter_mut().enumerate() {
            let e = &effective[start + k];
            let key = key_of_digits(seed, &u64_to_digits(e.code));
            let (hi, lo) = key.split_at(16);
            *slot = (
                u128::from_be_bytes(hi.try_into().expect("16 bytes")),
                u128::from_be_bytes(lo.try_into().expect("16 bytes")),
                e.code,
                (start + k) as u32,
            );
        }
    };
    if threads == 1 {
        fill(0, &mut keyed);
    } else {
        std::thread::scope(|s| {
            for (n, part) in keyed.chunks_mut(chunk).enumerate() {
                s.spawn(move || fill(n * chunk, part));
            }
        });
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, _, k)| k).collect()
}

/// The lottery's outcome in input indices, before any national code is cloned.
struct Outcome {
    publication: Publication,
    /// Input index of each winner and the office won, in lottery order.
    winners: Vec<(u32, OfficeCode)>,
    /// Input index of each waitlisted request, in lottery order.
    waitlist: Vec<u32>,
    rejected: Rejected,
}

fn run(spec: &ReleaseSpec, requests: &[Request]) -> Result<Outcome, SpecError> {
    let (effective, rejected) = dedup(spec, requests)?;
    let inputs_digest_hex = inputs_digest(spec, &effective);
    let order = draw(&spec.seed, &effective);

    let mut free: Vec<u32> = spec.offices.iter().map(|&(_, s)| s).collect();
    let mut left = spec.total_slots();
    let expected_winners = usize::try_from(left)
        .unwrap_or(usize::MAX)
        .min(effective.len());
    let mut winners = Vec::with_capacity(expected_winners);
    let mut winner_keys: Vec<(u64, u32)> = Vec::with_capacity(expected_winners);
    let mut waitlist = Vec::with_capacity(effective.len() - expected_winners);

    // Random serial dictatorship: in lottery order, the first listed office with a free slot.
    for &k in &order {
        let e = &effective[k as usize];
        let got = if left > 0 {
            e.prefs().iter().copied().find(|&p| free[p as usize] > 0)
        } else {
            None
        };
        match got {
            Some(p) => {
                free[p as usize] -= 1;
                left -= 1;
                let office = spec.offices[p as usize].0;
                winners.push((e.input, office));
                winner_keys.push((e.code, office.get()));
            }
            None => {
                waitlist.push(e.input);
            }
        }
    }
    drop(order);
    drop(effective);

    winner_keys.sort_unstable();
    let mut c = Canon::new(ALLOCATION_TAG);
    c.u64(winner_keys.len() as u64);
    for &(code, office) in &winner_keys {
        c.bytes(&u64_to_digits(code));
        c.u32(office);
    }
    c.u64(waitlist.len() as u64);
    for &i in &waitlist {
        c.bytes(requests[i as usize].national_code.as_str().as_bytes());
    }
    let allocation_digest_hex = c.finish_hex();

    let publication = Publication {
        release_id: spec.id.clone(),
        seed_hex: hex::encode(spec.seed),
        inputs_digest_hex,
        allocation_digest_hex,
        winners: winners.len() as u64,
        waitlisted: waitlist.len() as u64,
    };
    Ok(Outcome {
        publication,
        winners,
        waitlist,
        rejected,
    })
}

/// Runs a release: validates and deduplicates the requests (given in arrival order), draws the
/// lottery and allocates slots by random serial dictatorship, then computes the publication.
/// See the crate docs for every rule.
pub fn allocate(spec: &ReleaseSpec, requests: &[Request]) -> Result<Allocation, SpecError> {
    let out = run(spec, requests)?;
    let code = |i: u32| requests[i as usize].national_code.clone();
    let winners = out.winners.iter().map(|&(i, o)| (code(i), o)).collect();
    let waitlist = out.waitlist.iter().map(|&i| code(i)).collect();
    let mut waitlist_prefs = Vec::with_capacity(out.waitlist.len() * 3);
    let mut waitlist_ends = Vec::with_capacity(out.waitlist.len());
    for &i in &out.waitlist {
        waitlist_prefs.extend_from_slice(&requests[i as usize].preferences);
        waitlist_ends.push(waitlist_prefs.len());
    }
    Ok(Allocation {
        winners,
        waitlist,
        rejected: out.rejected,
        publication: out.publication,
        waitlist_prefs,
        waitlist_ends,
    })
}

/// Re-runs a release and checks a publication against it: the release id, the published seed
/// against the spec's, the seed against `commitment` when one is given (the hex published at
/// the opening), then the inputs digest, the allocation digest and the counts. Hex is compared
/// without regard to case. The first mismatch is returned.
pub fn verify(
    spec: &ReleaseSpec,
    requests: &[Request],
    publication: &Publication,
    commitment: Option<&str>,
) -> Result<(), VerifyError> {
    spec.validate()?;
    if publication.release_id != spec.id {
        return Err(VerifyError::ReleaseId {
            published: publication.release_id.clone(),
            actual: spec.id.clone(),
        });
    }
    let seed_hex = hex::encode(spec.seed);
    if !publication.seed_hex.trim().eq_ignore_ascii_case(&seed_hex) {
        return Err(VerifyError::Seed {
            published: publication.seed_hex.clone(),
            actual: seed_hex,
        });
    }
    if let Some(expected) = commitment {
        let actual = crate::commitment(&spec.seed);
        if !expected.trim().eq_ignore_ascii_case(&actual) {
            return Err(VerifyError::Commitment {
                expected: expected.to_string(),
                actual,
            });
        }
    }
    let ran = run(spec, requests)?.publication;
    if !publication
        .inputs_digest_hex
        .trim()
        .eq_ignore_ascii_case(&ran.inputs_digest_hex)
    {
        return Err(VerifyError::InputsDigest {
            published: publication.inputs_digest_hex.clone(),
            recomputed: ran.inputs_digest_hex,
        });
    }
    if !publication
        .allocation_digest_hex
        .trim()
        .eq_ignore_ascii_case(&ran.allocation_digest_hex)
    {
        return Err(VerifyError::AllocationDigest {
            published: publication.allocation_digest_hex.clone(),
            recomputed: ran.allocation_digest_hex,
        });
    }
    if publication.winners != ran.winners || publication.waitlisted != ran.waitlisted {
        return Err(VerifyError::Counts {
            published_winners: publication.winners,
            published_waitlisted: publication.waitlisted,
            winners: ran.winners,
            waitlisted: ran.waitlisted,
        });
    }
    Ok(())
}
