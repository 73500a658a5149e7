//! Bijections between person (or household) indices and identifiers, so that every lookup by
//! identifier is O(1) arithmetic: no index, no hash map, nothing stored.
//!
//! Each identifier space is first *ranked*: its valid values are numbered `0..M` in order.
//! An affine permutation `rank = (a·i + b) mod M`, with `a` coprime to `M` and `a`, `b` drawn
//! from the seed, spreads indices over the whole space; its inverse
//! `i = a⁻¹·(rank − b) mod M` takes an identifier back to its index. An identifier whose
//! index is `>= size` is valid but belongs to nobody.
//!
//! | space | valid values | `M` |
//! |---|---|---|
//! | national code | 9-digit bodies, minus the ten one-digit-repeated ones (the check digit is computed) | 999,999,990 |
//! | mobile | 30 operator prefixes × 10⁷ subscriber numbers | 300,000,000 |
//! | postal code | `[13-9]{4}` not all equal × `[1346-9]` × `[013-9]{5}` | 1,689,746,184 |
//!
//! People index national codes and mobiles, households index postal codes, so the population
//! is limited by the mobile space: [`crate::MAX_POPULATION`] is 300,000,000.

use pishkhan_domain::{Mobile, NationalCode, PostalCode};

use crate::rng::{Stream, tag};
use crate::tables::{MOBILE_PREFIXES, POSTAL_HEAD_DIGITS, POSTAL_PREFIX_PROVINCE};

/// Number of national-code bodies that make a valid code: 10⁹ minus `000000000`,
/// `111111111`, … `999999999`, whose codes are one repeated digit.
pub const NATIONAL_CODE_SPACE: u64 = 999_999_990;
/// Number of mobile numbers handed out: 30 prefixes of 10⁷ numbers.
pub const MOBILE_SPACE: u64 = MOBILE_PREFIXES.len() as u64 * SUBSCRIBERS;
/// Number of valid postal codes (see the module table).
pub const POSTAL_CODE_SPACE: u64 = POSTAL_HEAD4 * 7 * POSTAL_TAIL;

const SUBSCRIBERS: u64 = 10_000_000;
const REPEATED_BODY_STEP: u32 = 111_111_111;
/// Four head digits from 8 symbols, minus the 8 combinations of one repeated digit.
const POSTAL_HEAD4: u64 = 8 * 8 * 8 * 8 - 8;
const POSTAL_TAIL: u64 = 9 * 9 * 9 * 9 * 9;
/// Base-8 value of four equal head digits `dddd` is `d · 585`.
const POSTAL_REPEATED_STEP: u64 = 8 * 8 * 8 + 8 * 8 + 8 + 1;
const POSTAL_FIFTH_DIGITS: [u8; 7] = *b"1346789";
const POSTAL_TAIL_DIGITS: [u8; 9] = *b"013456789";

/// `x ↦ (a·x + b) mod m`, a permutation of `0..m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Affine {
    m: u64,
    a: u64,
    a_inv: u64,
    b: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The inverse of `a` modulo `m`, for `gcd(a, m) == 1`.
fn mod_inverse(a: u64, m: u64) -> u64 {
    let (mut old_r, mut r) = (i128::from(a), i128::from(m));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    debug_assert_eq!(old_r, 1);
    old_s.rem_euclid(i128::from(m)) as u64
}

impl Affine {
    fn new(m: u64, stream: &mut Stream) -> Self {
        // A multiplier in the upper two thirds, so that neighbours land far apart.
        let a = loop {
            let a = m / 3 + stream.below(m - m / 3);
            if gcd(a, m) == 1 {
                break a;
            }
        };
        let b = stream.below(m);
        Self {
            m,
            a,
            a_inv: mod_inverse(a, m),
            b,
        }
    }

    fn forward(&self, x: u64) -> u64 {
        ((u128::from(self.a) * u128::from(x) + u128::from(self.b)) % u128::from(self.m)) as u64
    }

    fn inverse(&self, y: u64) -> u64 {
        let d = (y + self.m - self.b) % self.m;
        ((u128::from(self.a_inv) * u128::from(d)) % u128::from(self.m)) as u64
    }
}

/// The three identifier bijections of one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpaces {
    national: Affine,
    mobile: Affine,
    postal: Affine,
}

impl CodeSpaces {
    /// The bijections for `seed`; the same seed always gives the same ones.
    pub fn new(seed: u64) -> Self {
        let mut s = Stream::new(seed, 0, tag::CODES);
        Self {
            national: Affine::new(NATIONAL_CODE_SPACE, &mut s),
            mobile: Affine::new(MOBILE_SPACE, &mut s),
            postal: Affine::new(POSTAL_CODE_SPACE, &mut s),
        }
    }

    /// The nine-digit body of the national code of person `index` (`index < NATIONAL_CODE_SPACE`).
    pub fn national_body(&self, index: u64) -> u32 {
        body_of_rank(self.national.forward(index) as u32)
    }

    /// The national code of person `index`.
    pub fn national_code(&self, index: u64) -> NationalCode {
        national_code_of_body(self.national_body(index))
    }

    /// The person index a national code belongs to in a population of any size: compare the
    /// result with the size.
    pub fn index_of_national_code(&self, code: &NationalCode) -> Option<u64> {
        let body = body_of_code(code)?;
        let rank = rank_of_body(body)?;
        Some(self.national.inverse(u64::from(rank)))
    }

    /// The mobile slot (`0..MOBILE_SPACE`) of person `index`.
    pub fn mobile_slot(&self, index: u64) -> u32 {
        self.mobile.forward(index) as u32
    }

    /// The mobile number reserved for person `index`; it is theirs only from age 18.
    pub fn mobile(&self, index: u64) -> Mobile {
        mobile_of_slot(self.mobile_slot(index))
    }

    /// The person index whose mobile slot holds `mobile`, or `None` for prefixes that are
    /// not handed out.
    pub fn index_of_mobile(&self, mobile: &Mobile) -> Option<u64> {
        slot_of_mobile(mobile).map(|slot| self.mobile.inverse(u64::from(slot)))
    }

    /// The postal-code rank of household `household`.
    pub fn postal_rank(&self, household: u64) -> u32 {
        self.postal.forward(household) as u32
    }

    /// The postal code of household `household`.
    pub fn postal_code(&self, household: u64) -> PostalCode {
        postal_code_of_rank(self.postal_rank(household))
    }

    /// The household index a postal code belongs to (compare with the household count).
    pub fn household_of_postal_code(&self, code: &PostalCode) -> Option<u64> {
        rank_of_postal(code).map(|rank| self.postal.inverse(u64::from(rank)))
    }
}

/// Rank `0..NATIONAL_CODE_SPACE` to body, stepping over the ten repeated bodies
/// (the multiples of 111,111,111).
pub(crate) fn body_of_rank(rank: u32) -> u32 {
    let mut body = rank;
    for k in 0..10u32 {
        if body >= k * REPEATED_BODY_STEP {
            body += 1;
        } else {
            break;
        }
    }
    body
}

fn rank_of_body(body: u32) -> Option<u32> {
    if body > 999_999_999 || body.is_multiple_of(REPEATED_BODY_STEP) {
        return None;
    }
    Some(body - (body / REPEATED_BODY_STEP + 1))
}

fn body_of_code(code: &NationalCode) -> Option<u32> {
    let b = code.as_str().as_bytes();
    if b.len() != 10 {
        return None;
    }
    Some(
        b[..9]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

/// The national code of a body that [`body_of_rank`] produced.
pub(crate) fn national_code_of_body(body: u32) -> NationalCode {
    NationalCode::from_body(body).expect("ranked bodies are never one repeated digit")
}

/// The ten ASCII digits of a national code body with its check digit, without allocating.
pub(crate) fn national_code_digits(body: u32) -> [u8; 10] {
    let mut out = [b'0'; 10];
    let mut x = body;
    for i in (0..9).rev() {
        out[i] = b'0' + (x % 10) as u8;
        x /= 10;
    }
    let sum: u32 = out[..9]
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = (sum % 11) as u8;
    out[9] = b'0' + if r < 2 { r } else { 11 - r };
    out
}

/// The prefix (such as `912`) and subscriber number of a mobile slot.
pub(crate) fn mobile_parts(slot: u32) -> (u16, u32) {
    let slot = u64::from(slot);
    let prefix = MOBILE_PREFIXES[(slot / SUBSCRIBERS) as usize];
    (prefix, (slot % SUBSCRIBERS) as u32)
}

/// The mobile number of a slot.
pub(crate) fn mobile_of_slot(slot: u32) -> Mobile {
    let (prefix, subscriber) = mobile_parts(slot);
    Mobile::from_parts(prefix, subscriber).expect("handed-out prefixes are operator prefixes")
}

/// The eleven ASCII digits `09XXXXXXXXX` of a mobile slot, without allocating.
pub(crate) fn mobile_digits(slot: u32) -> [u8; 11] {
    let (prefix, subscriber) = mobile_parts(slot);
    let mut out = [b'0'; 11];
    out[1] = b'0' + (prefix / 100) as u8;
    out[2] = b'0' + (prefix / 10 % 10) as u8;
    out[3] = b'0' + (prefix % 10) as u8;
    let mut x = subscriber;
    for i in (4..11).rev() {
        out[i] = b'0' + (x % 10) as u8;
        x /= 10;
    }
    out
}

fn slot_of_mobile(mobile: &Mobile) -> Option<u32> {
    let b = mobile.as_str().as_bytes();
    if b.len() != 11 {
        return None;
    }
    let digit = |i: usize| u32::from(b[i] - b'0');
    let prefix = (digit(1) * 100 + digit(2) * 10 + digit(3)) as u16;
    let pos = MOBILE_PREFIXES.iter().position(|p| *p == prefix)? as u32;
    let subscriber = b[4..]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some(pos * SUBSCRIBERS as u32 + subscriber)
}

/// The ten ASCII digits of the postal code with rank `rank`.
pub(crate) fn postal_digits(rank: u32) -> [u8; 10] {
    let mut r = u64::from(rank);
    let mut out = [b'0'; 10];
    for i in (5..10).rev() {
        out[i] = POSTAL_TAIL_DIGITS[(r % 9) as usize];
        r /= 9;
    }
    out[4] = POSTAL_FIFTH_DIGITS[(r % 7) as usize];
    r /= 7;
    let mut head = postal_head_of_rank(r);
    for i in (0..4).rev() {
        out[i] = POSTAL_HEAD_DIGITS[(head % 8) as usize];
        head /= 8;
    }
    out
}

/// Rank of the four head digits (`0..POSTAL_HEAD4`) to their base-8 value, stepping over
/// `dddd`.
fn postal_head_of_rank(rank: u64) -> u64 {
    let mut head = rank;
    for k in 0..8 {
        if head >= k * POSTAL_REPEATED_STEP {
            head += 1;
        } else {
            break;
        }
    }
    head
}

/// The province index of the postal code with rank `rank`.
pub(crate) fn province_of_postal_rank(rank: u32) -> u8 {
    let head = postal_head_of_rank(u64::from(rank) / (POSTAL_TAIL * 7));
    POSTAL_PREFIX_PROVINCE[(head / 64) as usize]
}

/// The postal code with rank `rank`.
pub(crate) fn postal_code_of_rank(rank: u32) -> PostalCode {
    let digits = postal_digits(rank);
    let s = std::str::from_utf8(&digits).expect("ASCII digits");
    PostalCode::parse(s).expect("ranked postal codes follow the postal-code rule")
}

pub(crate) fn rank_of_postal(code: &PostalCode) -> Option<u32> {
    let b = code.as_str().as_bytes();
    if b.len() != 10 {
        return None;
    }
    let find = |set: &[u8], d: u8| set.iter().position(|x| *x == d).map(|p| p as u64);
    let mut head = 0u64;
    for &d in &b[..4] {
        head = head * 8 + find(&POSTAL_HEAD_DIGITS, d)?;
    }
    if head.is_multiple_of(POSTAL_REPEATED_STEP) {
        return None;
    }
    let head_rank = head - (head / POSTAL_REPEATED_STEP + 1);
    let mut r = head_rank * 7 + find(&POSTAL_FIFTH_DIGITS, b[4])?;
    for &d in &b[5..] {
        r = r * 9 + find(&POSTAL_TAIL_DIGITS, d)?;
    }
    u32::try_from(r).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_have_the_documented_sizes() {
        assert_eq!(MOBILE_SPACE, 300_000_000);
        assert_eq!(POSTAL_CODE_SPACE, 1_689_746_184);
        assert!(POSTAL_CODE_SPACE < u64::from(u32::MAX));
    }

    #[test]
    fn national_bodies_skip_repeated_digits_and_round_trip() {
        for rank in [0u32, 1, 111_111_109, 111_111_110, 555_555_550, 999_999_989] {
            let body = body_of_rank(rank);
            assert!(!body.is_multiple_of(REPEATED_BODY_STEP), "{rank} -> {body}");
            assert_eq!(rank_of_body(body), Some(rank));
            let code = national_code_of_body(body);
            assert_eq!(code.as_bytes_digits(), national_code_digits(body));
        }
        assert_eq!(body_of_rank(999_999_989), 999_999_998);
        for k in 0..10 {
            assert_eq!(rank_of_body(k * REPEATED_BODY_STEP), None);
        }
    }

    trait Digits {
        fn as_bytes_digits(&self) -> [u8; 10];
    }
    impl Digits for NationalCode {
        fn as_bytes_digits(&self) -> [u8; 10] {
            self.as_str().as_bytes().try_into().unwrap()
        }
    }

    #[test]
    fn postal_ranks_round_trip_at_the_edges() {
        let last = (POSTAL_CODE_SPACE - 1) as u32;
        for rank in [0u32, 1, 58_000, 413_342, 1_000_000_000, last] {
            let code = postal_code_of_rank(rank);
            assert_eq!(rank_of_postal(&code), Some(rank), "{code}");
            assert!(usize::from(province_of_postal_rank(rank)) < 31);
        }
        assert_eq!(postal_code_of_rank(0).as_str(), "1113100000");
        assert_eq!(postal_code_of_rank(last).as_str(), "9998999999");
    }

    #[test]
    fn mobiles_round_trip() {
        for slot in [0u32, 9_999_999, 10_000_000, 299_999_999] {
            let m = mobile_of_slot(slot);
            assert_eq!(m.as_str().as_bytes(), mobile_digits(slot));
            assert_eq!(slot_of_mobile(&m), Some(slot));
        }
        assert_eq!(slot_of_mobile(&Mobile::parse("09341234567").unwrap()), None);
    }

    #[test]
    fn affine_permutations_invert() {
        let spaces = CodeSpaces::new(1405);
        for x in [0u64, 1, 2, 12_345_678, 83_999_999, 299_999_999] {
            assert_eq!(spaces.national.inverse(spaces.national.forward(x)), x);
            assert_eq!(spaces.mobile.inverse(spaces.mobile.forward(x)), x);
            assert_eq!(spaces.postal.inverse(spaces.postal.forward(x)), x);
        }
        assert_ne!(CodeSpaces::new(1405), CodeSpaces::new(1406));
    }
}
