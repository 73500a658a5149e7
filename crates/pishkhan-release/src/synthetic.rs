//! Deterministic synthetic releases: for trying `verify` (`pishkhan release synthetic`), the
//! tests, and `pishkhan-bench`.

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use sha2::{Digest, Sha256};

use crate::{ReleaseSpec, Request};

/// SplitMix64: a tiny deterministic generator, enough to shape synthetic data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The office code that [`synthetic`] uses for requests naming an office outside the release.
const FOREIGN_OFFICE: u32 = 99_999_999;

fn citizen(i: usize) -> NationalCode {
    // i ↦ i·7654321 + 100000007 mod 10^9 is a bijection (7654321 is prime to 10^9), so bodies
    // are distinct; the rare body whose code would be one repeated digit is nudged.
    let body = ((i as u64 * 7_654_321 + 100_000_007) % 1_000_000_000) as u32;
    NationalCode::from_body(body)
        .or_else(|_| NationalCode::from_body(body ^ 1))
        .expect("a nudged body is not a repeated digit")
}

/// A deterministic synthetic release: `offices` offices (clamped to 1..=1,000,000, codes from
/// 10000000) with `slots_per_office` slots each (at least 1), and `requests` requests.
///
/// Requests list 1..=5 distinct offices, half of the picks from the busiest tenth of the
/// offices. Every 100th request (from the 100th on) amends the request made 50 earlier, so
/// that request is superseded, and every 1000th names an office outside the release, so it
/// is rejected. The same arguments always give the same release.
pub fn synthetic(
    requests: usize,
    offices: usize,
    slots_per_office: u32,
) -> (ReleaseSpec, Vec<Request>) {
    let offices = offices.clamp(1, 1_000_000);
    let slots = slots_per_office.max(1);
    let codes: Vec<OfficeCode> = (0..offices)
        .map(|i| OfficeCode::from_u32(10_000_000 + i as u32).expect("in range"))
        .collect();
    let spec = ReleaseSpec {
        id: format!("bench-{requests}-{offices}x{slots}"),
        service: ServiceCode::parse("VAC-001").expect("valid service code"),
        offices: codes.iter().map(|&o| (o, slots)).collect(),
        seed: Sha256::digest(b"pishkhan-release synthetic seed").into(),
    };

    let mut rng = SplitMix(0x5EED_0F14_05AA);
    let busy = (offices / 10).max(1);
    let mut out = Vec::with_capacity(requests);
    for i in 0..requests {
        let national_code = if i % 100 == 99 && i >= 50 {
            out.get(i - 50)
                .map(|r: &Request| r.national_code.clone())
                .unwrap_or_else(|| citizen(i))
        } else {
            citizen(i)
        };
        let want = (1 + rng.below(5)).min(offices);
        let mut preferences = Vec::with_capacity(want);
        while preferences.len() < want {
            let pick = if rng.next() & 1 == 0 {
                rng.below(offices)
            } else {
                rng.below(busy)
            };
            if !preferences.contains(&codes[pick]) {
                preferences.push(codes[pick]);
            }
        }
        if i % 1000 == 999 {
            preferences[0] = OfficeCode::from_u32(FOREIGN_OFFICE).expect("in range");
        }
        out.push(Request {
            national_code,
            preferences,
        });
    }
    (spec, out)
}
