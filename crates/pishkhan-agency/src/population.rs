//! The deterministic population: person `i` is a pure function of `(seed, i)`.
//!
//! # Households
//!
//! People live in households, laid out by a fixed pattern that repeats every 33 indices:
//! ten households of sizes `4, 3, 5, 2, 4, 1, 3, 2, 4, 5` (mean 3.3, Iran's average household
//! size in the 2016 census). The first member is the head, the second the spouse, the rest are
//! children. A household shares one address and postal code. Children carry the surname of
//! the father (head, or the spouse when the head is a woman) and his first name as their
//! father's name; a wife keeps her own surname, as in Iran. A population whose size is not a
//! multiple of 33 cuts its last household short.
//!
//! # Attributes
//!
//! Ages are whole years at 1 Farvardin 1405 ([`REFERENCE_YEAR`]), `0..=100`; a person of age
//! `a` was born on a uniform day of year `1404 - a` (Esfand is taken as 29 days). Heads are
//! 20 to 100 years old following a rough Iranian age pyramid; spouses are within ten years of
//! the head; children are `0..=min(younger parent − 18, 45)`.
//!
//! About 3% of people are deceased (the rate rises steeply with age), 2% of ID cards are
//! reported lost and 0.5% revoked. Everyone aged 18 or more has a mobile; children have none.
//! Adults own 0 to 3 vehicles and about a third of vehicle owners owe traffic fines.
//!
//! # Card serial
//!
//! The serial of the person's current national ID card: ten characters, one digit (the
//! issuing batch), one Latin capital letter from `A`-`Z` without `I` and `O`, then eight digits,
//! such as `7K04381925`. Serials are random, not unique; they are what an operator compares
//! with the card in front of them.

use std::fmt;

use pishkhan_domain::digits::to_persian_digits;
use pishkhan_domain::{JalaliDate, Mobile, NationalCode, PostalCode};
use serde::Serialize;

use crate::codes::{
    CodeSpaces, MOBILE_SPACE, NATIONAL_CODE_SPACE, mobile_digits, mobile_of_slot,
    national_code_digits, national_code_of_body, postal_code_of_rank, province_of_postal_rank,
};
use crate::error::AgencyError;
use crate::rng::{Stream, tag};
use crate::tables::{ALLEYS, FEMALE_FIRST, LAST, MALE_FIRST, PROVINCES, SERIAL_LETTERS, STREETS};

/// The largest population: every person needs a distinct mobile slot, and there are
/// 300,000,000 (national codes would allow 999,999,990, postal codes 1.69 billion households).
pub const MAX_POPULATION: u64 = MOBILE_SPACE;
const _: () = assert!(MAX_POPULATION <= NATIONAL_CODE_SPACE && MAX_POPULATION < u32::MAX as u64);

/// Ages are counted at 1 Farvardin of this Jalali year.
pub const REFERENCE_YEAR: i32 = 1405;

/// Household sizes, repeating every [`HOUSEHOLD_BLOCK`] people.
const HOUSEHOLD_SIZES: [u8; 10] = [4, 3, 5, 2, 4, 1, 3, 2, 4, 5];
/// Offset of each household's head within the block.
const HOUSEHOLD_START: [u8; 10] = [0, 4, 7, 12, 14, 18, 19, 22, 24, 28];
const HOUSEHOLD_BLOCK: u64 = 33;
const HOUSEHOLDS_PER_BLOCK: u64 = 10;
/// The household (within the block) of each offset in the block.
const HOUSEHOLD_OF_OFFSET: [u8; 33] = {
    let mut t = [0u8; 33];
    let mut k = 0;
    while k < 10 {
        let mut j = 0;
        while j < HOUSEHOLD_SIZES[k] {
            t[(HOUSEHOLD_START[k] + j) as usize] = k as u8;
            j += 1;
        }
        k += 1;
    }
    t
};

/// Weights of the head's age by five-year band from 20 (the last band is 95..=100).
const HEAD_AGE_BANDS: [u32; 16] = [5, 9, 12, 13, 11, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1];

/// Gender as recorded in the civil registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

/// Status of the person's current national ID card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    Valid,
    /// Reported lost or stolen: a card with this serial must not be accepted.
    Lost,
    /// Cancelled by the registry (for example after a forgery report).
    Revoked,
}

impl CardStatus {
    /// `valid`, `lost` or `revoked`: the API form.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Valid => "valid",
            CardStatus::Lost => "lost",
            CardStatus::Revoked => "revoked",
        }
    }

    fn code(self) -> u8 {
        match self {
            CardStatus::Valid => 0,
            CardStatus::Lost => 1,
            CardStatus::Revoked => 2,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(CardStatus::Valid),
            1 => Some(CardStatus::Lost),
            2 => Some(CardStatus::Revoked),
            _ => None,
        }
    }
}

/// A national ID card serial: digit, letter, eight digits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardSerial([u8; 10]);

impl CardSerial {
    fn new(batch: u8, letter: u8, number: u32) -> Self {
        let mut b = [b'0'; 10];
        b[0] = b'0' + batch;
        b[1] = letter;
        let mut x = number;
        for i in (2..10).rev() {
            b[i] = b'0' + (x % 10) as u8;
            x /= 10;
        }
        Self(b)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII")
    }

    fn number(&self) -> u32 {
        self.0[2..]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    }
}

impl fmt::Display for CardSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CardSerial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A person's role in their household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HouseholdRole {
    Head,
    Spouse,
    Child,
}

/// A household's address, in Persian and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub postal_code: PostalCode,
    pub province_fa: &'static str,
    pub province_en: &'static str,
    pub city_fa: &'static str,
    pub city_en: &'static str,
    /// The full address as Iran Post writes it, with Persian digits:
    /// `تهران، خیابان آزادی، کوچه گلستان، پلاک ۱۲، واحد ۳`.
    pub text_fa: String,
    /// `No. 12, Unit 3, Golestan Alley, Azadi St., Tehran, Tehran Province`.
    pub text_en: String,
}

/// One person as the agencies know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Position in the population, `0..size`.
    pub index: u64,
    pub national_code: NationalCode,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub father_name: &'static str,
    pub gender: Gender,
    pub birth_date: JalaliDate,
    /// City of birth, in Persian.
    pub birth_place: &'static str,
    pub card_serial: CardSerial,
    pub card_status: CardStatus,
    pub alive: bool,
    /// `None` for children under 18.
    pub mobile: Option<Mobile>,
    pub postal_code: PostalCode,
    pub address: Address,
    /// Unpaid traffic fines over all the person's vehicles, in rials.
    pub traffic_fines_rials: i64,
    /// Number of vehicle plates registered to the person.
    pub vehicle_plates: u8,
    /// Index of the household, `0..household_count`.
    pub household: u64,
    pub household_role: HouseholdRole,
}

impl Person {
    /// Age in whole years at 1 Farvardin [`REFERENCE_YEAR`].
    pub fn age(&self) -> u32 {
        age_from_birth_year(self.birth_date.year())
    }
}

fn age_from_birth_year(year: i32) -> u32 {
    (REFERENCE_YEAR - 1 - year).max(0) as u32
}

/// The compact form of a person: what a snapshot stores, 64 bytes on disk. Names, cities and
/// streets are indices into the generator's tables; codes are their ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonRecord {
    pub(crate) index: u64,
    pub(crate) national_body: u32,
    pub(crate) first: u16,
    pub(crate) last: u16,
    pub(crate) father: u16,
    pub(crate) flags: u8,
    pub(crate) plates: u8,
    pub(crate) birth_year: u16,
    pub(crate) birth_month: u8,
    pub(crate) birth_day: u8,
    pub(crate) birth_province: u8,
    pub(crate) birth_city: u8,
    pub(crate) serial: CardSerial,
    /// `u32::MAX` when the person has no mobile.
    pub(crate) mobile_slot: u32,
    pub(crate) household: u32,
    pub(crate) postal_rank: u32,
    pub(crate) province: u8,
    pub(crate) city: u8,
    pub(crate) street: u8,
    /// Bit 7 set: a numbered alley (low bits the number); clear: index into the alley names.
    pub(crate) alley: u8,
    pub(crate) plaque: u16,
    /// 0: a house; otherwise the unit number of a flat.
    pub(crate) unit: u8,
    pub(crate) role: u8,
    pub(crate) fines_rials: i64,
}

const FLAG_FEMALE: u8 = 1;
const FLAG_DECEASED: u8 = 2;
const STATUS_SHIFT: u8 = 2;
const STATUS_MASK: u8 = 0b1100;
const NO_MOBILE: u32 = u32::MAX;

/// Size of one encoded record.
pub(crate) const RECORD_BYTES: usize = 64;

impl PersonRecord {
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The national code's ten ASCII digits.
    pub fn national_code_digits(&self) -> [u8; 10] {
        national_code_digits(self.national_body)
    }

    pub fn national_code(&self) -> NationalCode {
        national_code_of_body(self.national_body)
    }

    pub fn gender(&self) -> Gender {
        if self.flags & FLAG_FEMALE != 0 {
            Gender::Female
        } else {
            Gender::Male
        }
    }

    pub fn first_name(&self) -> &'static str {
        let list = match self.gender() {
            Gender::Male => MALE_FIRST,
            Gender::Female => FEMALE_FIRST,
        };
        list[usize::from(self.first)]
    }

    pub fn last_name(&self) -> &'static str {
        LAST[usize::from(self.last)]
    }

    pub fn father_name(&self) -> &'static str {
        MALE_FIRST[usize::from(self.father)]
    }

    pub fn birth_date(&self) -> JalaliDate {
        JalaliDate::new(i32::from(self.birth_year), self.birth_month, self.birth_day)
            .expect("generated birth dates are valid")
    }

    /// `YYYY-MM-DD` in ASCII digits, without allocating.
    pub fn birth_date_digits(&self) -> [u8; 10] {
        let mut b = *b"0000-00-00";
        let y = self.birth_year;
        b[0] = b'0' + (y / 1000 % 10) as u8;
        b[1] = b'0' + (y / 100 % 10) as u8;
        b[2] = b'0' + (y / 10 % 10) as u8;
        b[3] = b'0' + (y % 10) as u8;
        b[5] = b'0' + self.birth_month / 10;
        b[6] = b'0' + self.birth_month % 10;
        b[8] = b'0' + self.birth_day / 10;
        b[9] = b'0' + self.birth_day % 10;
        b
    }

    pub fn age(&self) -> u32 {
        age_from_birth_year(i32::from(self.birth_year))
    }

    pub fn birth_place(&self) -> &'static str {
        PROVINCES[usize::from(self.birth_province)].cities[usize::from(self.birth_city)].fa
    }

    pub fn card_serial(&self) -> CardSerial {
        self.serial
    }

    pub fn card_status(&self) -> CardStatus {
        CardStatus::from_code((self.flags & STATUS_MASK) >> STATUS_SHIFT)
            .unwrap_or(CardStatus::Revoked)
    }

    pub fn alive(&self) -> bool {
        self.flags & FLAG_DECEASED == 0
    }

    pub fn has_mobile(&self) -> bool {
        self.mobile_slot != NO_MOBILE
    }

    /// The mobile slot, when the person has a mobile.
    pub(crate) fn mobile_slot(&self) -> Option<u32> {
        self.has_mobile().then_some(self.mobile_slot)
    }

    pub fn mobile(&self) -> Option<Mobile> {
        self.mobile_slot().map(mobile_of_slot)
    }

    /// The mobile's eleven ASCII digits, without allocating.
    pub fn mobile_digits(&self) -> Option<[u8; 11]> {
        self.mobile_slot().map(mobile_digits)
    }

    pub fn household(&self) -> u64 {
        u64::from(self.household)
    }

    pub fn household_role(&self) -> HouseholdRole {
        match self.role {
            0 => HouseholdRole::Head,
            1 => HouseholdRole::Spouse,
            _ => HouseholdRole::Child,
        }
    }

    pub(crate) fn postal_rank(&self) -> u32 {
        self.postal_rank
    }

    pub fn postal_code(&self) -> PostalCode {
        postal_code_of_rank(self.postal_rank)
    }

    pub fn traffic_fines_rials(&self) -> i64 {
        self.fines_rials
    }

    pub fn vehicle_plates(&self) -> u8 {
        self.plates
    }

    pub fn province_fa(&self) -> &'static str {
        PROVINCES[usize::from(self.province)].fa
    }

    pub fn province_en(&self) -> &'static str {
        PROVINCES[usize::from(self.province)].en
    }

    pub fn city_fa(&self) -> &'static str {
        PROVINCES[usize::from(self.province)].cities[usize::from(self.city)].fa
    }

    pub fn city_en(&self) -> &'static str {
        PROVINCES[usize::from(self.province)].cities[usize::from(self.city)].en
    }

    /// The household's address.
    pub fn address(&self) -> Address {
        let (street_fa, street_en) = STREETS[usize::from(self.street)];
        let (alley_fa, alley_en) = if self.alley & 0x80 != 0 {
            let n = self.alley & 0x7F;
            (
                format!("کوچه {}", to_persian_digits(&n.to_string())),
                format!("Alley {n}"),
            )
        } else {
            let (fa, en) = ALLEYS[usize::from(self.alley)];
            (fa.to_string(), en.to_string())
        };
        let plaque_fa = to_persian_digits(&self.plaque.to_string());
        let (unit_fa, unit_en) = if self.unit == 0 {
            (String::new(), String::new())
        } else {
            (
                format!("، واحد {}", to_persian_digits(&self.unit.to_string())),
                format!(", Unit {}", self.unit),
            )
        };
        let (province_fa, province_en) = (self.province_fa(), self.province_en());
        let (city_fa, city_en) = (self.city_fa(), self.city_en());
        Address {
            postal_code: self.postal_code(),
            province_fa,
            province_en,
            city_fa,
            city_en,
            text_fa: format!(
                "{province_fa}، {city_fa}، {street_fa}، {alley_fa}، پلاک {plaque_fa}{unit_fa}"
            ),
            text_en: format!(
                "No. {}{unit_en}, {alley_en}, {street_en}, {city_en}, {province_en} Province",
                self.plaque
            ),
        }
    }

    /// The full person.
    pub fn to_person(&self) -> Person {
        let address = self.address();
        Person {
            index: self.index,
            national_code: self.national_code(),
            first_name: self.first_name(),
            last_name: self.last_name(),
            father_name: self.father_name(),
            gender: self.gender(),
            birth_date: self.birth_date(),
            birth_place: self.birth_place(),
            card_serial: self.serial,
            card_status: self.card_status(),
            alive: self.alive(),
            mobile: self.mobile(),
            postal_code: address.postal_code.clone(),
            address,
            traffic_fines_rials: self.fines_rials,
            vehicle_plates: self.plates,
            household: self.household(),
            household_role: self.household_role(),
        }
    }

    /// The 64-byte little-endian encoding; see [`crate::snapshot`] for the layout.
    pub(crate) fn encode(&self, out: &mut [u8]) {
        let out: &mut [u8; RECORD_BYTES] = out.try_into().expect("a record is 64 bytes");
        out[0..4].copy_from_slice(&self.national_body.to_le_bytes());
        out[4..6].copy_from_slice(&self.first.to_le_bytes());
        out[6..8].copy_from_slice(&self.last.to_le_bytes());
        out[8..10].copy_from_slice(&self.father.to_le_bytes());
        out[10] = self.flags;
        out[11] = self.plates;
        out[12..14].copy_from_slice(&self.birth_year.to_le_bytes());
        out[14] = self.birth_month;
        out[15] = self.birth_day;
        out[16] = self.birth_province;
        out[17] = self.birth_city;
        out[18] = self.serial.0[0] - b'0';
        out[19] = self.serial.0[1];
        out[20..24].copy_from_slice(&self.serial.number().to_le_bytes());
        out[24..28].copy_from_slice(&self.mobile_slot.to_le_bytes());
        out[28..32].copy_from_slice(&self.household.to_le_bytes());
        out[32..36].copy_from_slice(&self.postal_rank.to_le_bytes());
        out[36] = self.province;
        out[37] = self.city;
        out[38] = self.street;
        out[39] = self.alley;
        out[40..42].copy_from_slice(&self.plaque.to_le_bytes());
        out[42] = self.unit;
        out[43] = self.role;
        out[44..52].copy_from_slice(&self.fines_rials.to_le_bytes());
        out[52..60].fill(0);
        let sum = crate::rng::checksum(&out[..60]) as u32;
        out[60..64].copy_from_slice(&sum.to_le_bytes());
    }

    /// Decodes and checks a record read from disk. `None` when the record checksum or any
    /// table index is wrong.
    pub(crate) fn decode(index: u64, b: &[u8; RECORD_BYTES]) -> Option<Self> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if crate::rng::checksum(&b[..60]) as u32 != u32_at(60) {
            return None;
        }
        let mut fines = [0u8; 8];
        fines.copy_from_slice(&b[44..52]);
        let letter = b[19];
        if b[18] > 9 || !SERIAL_LETTERS.contains(&letter) || u32_at(20) > 99_999_999 {
            return None;
        }
        let r = Self {
            index,
            national_body: u32_at(0),
            first: u16_at(4),
            last: u16_at(6),
            father: u16_at(8),
            flags: b[10],
            plates: b[11],
            birth_year: u16_at(12),
            birth_month: b[14],
            birth_day: b[15],
            birth_province: b[16],
            birth_city: b[17],
            serial: CardSerial::new(b[18], letter, u32_at(20)),
            mobile_slot: u32_at(24),
            household: u32_at(28),
            postal_rank: u32_at(32),
            province: b[36],
            city: b[37],
            street: b[38],
            alley: b[39],
            plaque: u16_at(40),
            unit: b[42],
            role: b[43],
            fines_rials: i64::from_le_bytes(fines),
        };
        r.indices_are_valid().then_some(r)
    }

    /// Whether every table index is in range, so that accessors cannot panic.
    fn indices_are_valid(&self) -> bool {
        let first_len = match self.gender() {
            Gender::Male => MALE_FIRST.len(),
            Gender::Female => FEMALE_FIRST.len(),
        };
        let city_ok = |p: u8, c: u8| {
            PROVINCES
                .get(usize::from(p))
                .is_some_and(|p| usize::from(c) < p.cities.len())
        };
        usize::from(self.first) < first_len
            && usize::from(self.last) < LAST.len()
            && usize::from(self.father) < MALE_FIRST.len()
            && city_ok(self.birth_province, self.birth_city)
            && city_ok(self.province, self.city)
            && usize::from(self.street) < STREETS.len()
            && (self.alley & 0x80 != 0 || usize::from(self.alley) < ALLEYS.len())
            && (self.mobile_slot == NO_MOBILE || u64::from(self.mobile_slot) < MOBILE_SPACE)
            && u64::from(self.national_body) <= 999_999_999
            && u64::from(self.postal_rank) < crate::codes::POSTAL_CODE_SPACE
            && (self.flags & STATUS_MASK) >> STATUS_SHIFT <= 2
            && JalaliDate::new(i32::from(self.birth_year), self.birth_month, self.birth_day).is_ok()
    }
}

/// Where a person sits in the household layout.
#[derive(Debug, Clone, Copy)]
struct Slot {
    household: u64,
    role: u8,
    head: u64,
}

fn slot_of(index: u64) -> Slot {
    let block = index / HOUSEHOLD_BLOCK;
    let offset = (index % HOUSEHOLD_BLOCK) as usize;
    let k = usize::from(HOUSEHOLD_OF_OFFSET[offset]);
    let start = u64::from(HOUSEHOLD_START[k]);
    Slot {
        household: block * HOUSEHOLDS_PER_BLOCK + k as u64,
        role: (offset as u64 - start) as u8,
        head: block * HOUSEHOLD_BLOCK + start,
    }
}

/// The index of the head of household `household`.
pub(crate) fn head_of_household(household: u64) -> u64 {
    let block = household / HOUSEHOLDS_PER_BLOCK;
    let k = (household % HOUSEHOLDS_PER_BLOCK) as usize;
    block * HOUSEHOLD_BLOCK + u64::from(HOUSEHOLD_START[k])
}

/// Number of households among `size` people.
pub(crate) fn household_count(size: u64) -> u64 {
    let rest = size % HOUSEHOLD_BLOCK;
    let partial = HOUSEHOLD_START
        .iter()
        .filter(|s| u64::from(**s) < rest)
        .count() as u64;
    size / HOUSEHOLD_BLOCK * HOUSEHOLDS_PER_BLOCK + partial
}

/// What every member of a household shares, drawn from the household's stream.
struct HouseholdDraws {
    head_female: bool,
    head_age: u32,
    spouse_age: u32,
    child_age_cap: u32,
}

fn household_draws(seed: u64, household: u64) -> HouseholdDraws {
    let k = (household % HOUSEHOLDS_PER_BLOCK) as usize;
    let size = HOUSEHOLD_SIZES[k];
    let mut s = Stream::new(seed, household, tag::HOUSEHOLD);
    // Single-person households are often widows; couples are mostly headed by the husband.
    let head_female = s.per_mille(if size == 1 { 350 } else { 60 });
    let band = s.weighted(&HEAD_AGE_BANDS) as u32;
    let head_age = if band == 15 {
        s.range(95, 100)
    } else {
        20 + band * 5 + s.range(0, 4)
    };
    let gap = s.range(0, 10);
    let spouse_age = if head_female {
        (head_age + gap).min(100)
    } else {
        head_age.saturating_sub(gap).max(18)
    };
    let child_age_cap = (head_age.min(spouse_age) - 18).min(45);
    HouseholdDraws {
        head_female,
        head_age,
        spouse_age,
        child_age_cap,
    }
}

/// First-name index of person `index` for `gender`: the first draw of the person's name
/// stream, so that a child can compute their father's first name.
fn first_name_index(seed: u64, index: u64, gender: Gender) -> u16 {
    let mut s = Stream::new(seed, index, tag::NAME);
    let len = match gender {
        Gender::Male => MALE_FIRST.len(),
        Gender::Female => FEMALE_FIRST.len(),
    };
    s.skewed(len) as u16
}

/// The surname person `index` was born with.
fn own_surname_index(seed: u64, index: u64) -> u16 {
    Stream::new(seed, index, tag::SURNAME).skewed(LAST.len()) as u16
}

/// A city of the whole country, weighted by province population and then city size.
fn national_city(s: &mut Stream) -> (u8, u8) {
    let p = s.weighted_by(PROVINCES.len(), |i| PROVINCES[i].population / 1000);
    let c = s.weighted_by(PROVINCES[p].cities.len(), |i| PROVINCES[p].cities[i].weight);
    (p as u8, c as u8)
}

fn deceased_per_mille(age: u32) -> u32 {
    match age {
        0..=29 => 5,
        30..=49 => 12,
        50..=64 => 35,
        65..=74 => 110,
        75..=84 => 260,
        _ => 480,
    }
}

/// The household's address fields, from the household's own address stream.
struct AddressDraws {
    postal_rank: u32,
    province: u8,
    city: u8,
    street: u8,
    alley: u8,
    plaque: u16,
    unit: u8,
}

fn address_draws(seed: u64, codes: &CodeSpaces, household: u64) -> AddressDraws {
    let postal_rank = codes.postal_rank(household);
    let province = province_of_postal_rank(postal_rank);
    let cities = PROVINCES[usize::from(province)].cities;
    let mut s = Stream::new(seed, household, tag::ADDRESS);
    let city = s.weighted_by(cities.len(), |i| cities[i].weight) as u8;
    let street = s.below(STREETS.len() as u64) as u8;
    let alley = if s.per_mille(500) {
        0x80 | s.range(1, 60) as u8
    } else {
        s.below(ALLEYS.len() as u64) as u8
    };
    let plaque = s.range(1, 250) as u16;
    let unit = if s.per_mille(550) {
        s.range(1, 16) as u8
    } else {
        0
    };
    AddressDraws {
        postal_rank,
        province,
        city,
        street,
        alley,
        plaque,
        unit,
    }
}

/// Computes the record of person `index`. Pure in `(seed, index)`; `codes` must be
/// `CodeSpaces::new(seed)`.
pub(crate) fn generate_record(seed: u64, codes: &CodeSpaces, index: u64) -> PersonRecord {
    let slot = slot_of(index);
    let hh = household_draws(seed, slot.household);
    let mut s = Stream::new(seed, index, tag::PERSON);

    let (female, age) = match slot.role {
        0 => (hh.head_female, hh.head_age),
        1 => (!hh.head_female, hh.spouse_age),
        _ => (s.per_mille(490), s.range(0, hh.child_age_cap)),
    };
    let gender = if female { Gender::Female } else { Gender::Male };
    let first = first_name_index(seed, index, gender);
    let (last, father) = if slot.role <= 1 {
        let father = Stream::new(seed, index, tag::FATHER).skewed(MALE_FIRST.len()) as u16;
        (own_surname_index(seed, index), father)
    } else {
        let father_index = if hh.head_female {
            slot.head + 1
        } else {
            slot.head
        };
        (
            own_surname_index(seed, father_index),
            first_name_index(seed, father_index, Gender::Male),
        )
    };

    let birth_year = (REFERENCE_YEAR - 1 - age as i32) as u16;
    let day_of_year = s.below(365) as u32;
    let (birth_month, birth_day) = if day_of_year < 186 {
        (day_of_year / 31 + 1, day_of_year % 31 + 1)
    } else if day_of_year < 336 {
        ((day_of_year - 186) / 30 + 7, (day_of_year - 186) % 30 + 1)
    } else {
        (12, day_of_year - 336 + 1)
    };

    let addr = address_draws(seed, codes, slot.household);
    let (birth_province, birth_city) = if slot.role >= 2 || s.per_mille(550) {
        (addr.province, addr.city)
    } else {
        national_city(&mut s)
    };

    let deceased = s.per_mille(deceased_per_mille(age));
    let status = match s.below(1000) {
        0..20 => CardStatus::Lost,
        20..25 => CardStatus::Revoked,
        _ => CardStatus::Valid,
    };
    let serial = CardSerial::new(
        s.below(10) as u8,
        SERIAL_LETTERS[s.below(SERIAL_LETTERS.len() as u64) as usize],
        s.below(100_000_000) as u32,
    );
    let mobile_slot = if age >= 18 {
        codes.mobile_slot(index)
    } else {
        NO_MOBILE
    };
    let plates = if age >= 18 {
        match s.below(1000) {
            0..600 => 0,
            600..930 => 1,
            930..985 => 2,
            _ => 3,
        }
    } else {
        0
    };
    let fines_rials = if plates > 0 && s.per_mille(350) {
        10_000 * i64::from(s.range(10, 5_000)) * i64::from(plates)
    } else {
        0
    };

    let mut flags = status.code() << STATUS_SHIFT;
    if female {
        flags |= FLAG_FEMALE;
    }
    if deceased {
        flags |= FLAG_DECEASED;
    }
    PersonRecord {
        index,
        national_body: codes.national_body(index),
        first,
        last,
        father,
        flags,
        plates,
        birth_year,
        birth_month: birth_month as u8,
        birth_day: birth_day as u8,
        birth_province,
        birth_city,
        serial,
        mobile_slot,
        household: slot.household as u32,
        postal_rank: addr.postal_rank,
        province: addr.province,
        city: addr.city,
        street: addr.street,
        alley: addr.alley,
        plaque: addr.plaque,
        unit: addr.unit,
        role: slot.role.min(2),
        fines_rials,
    }
}

/// A population of `size` people generated from `seed`. Holds no people: each is computed on
/// demand in O(1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    seed: u64,
    size: u64,
    codes: CodeSpaces,
}

impl Population {
    /// A population of `size` people (`0..=MAX_POPULATION`).
    pub fn new(seed: u64, size: u64) -> Result<Self, AgencyError> {
        if size > MAX_POPULATION {
            return Err(AgencyError::TooLarge {
                size,
                max: MAX_POPULATION,
            });
        }
        Ok(Self {
            seed,
            size,
            codes: CodeSpaces::new(seed),
        })
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The identifier bijections of this population's seed.
    pub fn codes(&self) -> &CodeSpaces {
        &self.codes
    }

    /// Number of households.
    pub fn household_count(&self) -> u64 {
        household_count(self.size)
    }

    /// The compact record of person `index`.
    ///
    /// # Panics
    /// If `index >= size`.
    pub fn record(&self, index: u64) -> PersonRecord {
        assert!(
            index < self.size,
            "person {index} is outside a population of {}",
            self.size
        );
        generate_record(self.seed, &self.codes, index)
    }

    /// Person `index`.
    ///
    /// # Panics
    /// If `index >= size`.
    pub fn person(&self, index: u64) -> Person {
        self.record(index).to_person()
    }

    /// The index of the person with this national code, if they belong to the population.
    pub fn index_of(&self, code: &NationalCode) -> Option<u64> {
        self.codes
            .index_of_national_code(code)
            .filter(|i| *i < self.size)
    }

    pub fn find_by_national_code(&self, code: &NationalCode) -> Option<Person> {
        self.index_of(code).map(|i| self.person(i))
    }

    /// Whose mobile this is (Shahkar's question), if anyone's.
    pub fn owner_of_mobile(&self, mobile: &Mobile) -> Option<NationalCode> {
        let i = self
            .codes
            .index_of_mobile(mobile)
            .filter(|i| *i < self.size)?;
        let r = self.record(i);
        r.has_mobile().then(|| r.national_code())
    }

    /// The address registered under a postal code, if it is one of this population's
    /// households.
    pub fn address_by_postal_code(&self, code: &PostalCode) -> Option<Address> {
        let h = self
            .codes
            .household_of_postal_code(code)
            .filter(|h| *h < self.household_count())?;
        Some(self.household_address(h))
    }

    /// The address of household `household`, computed without generating its members.
    ///
    /// # Panics
    /// If `household >= household_count()`.
    pub fn household_address(&self, household: u64) -> Address {
        assert!(household < self.household_count());
        self.record(head_of_household(household)).address()
    }

    /// `n` people (at most `size`) chosen to exercise consumers: within the first
    /// `min(n, 8)` entries, spread evenly, are a deceased person, a lost card, a revoked card,
    /// a name with a zero-width non-joiner, a name with `ک`, a name with `ی`, a child without
    /// a mobile and someone with unpaid traffic fines, when the population has them. The rest
    /// are ordinary people. Deterministic for a seed and size.
    pub fn sample(&self, n: usize) -> Vec<Person> {
        crate::sample::sample(self, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn household_layout_is_consistent() {
        assert_eq!(
            HOUSEHOLD_SIZES.iter().map(|s| u64::from(*s)).sum::<u64>(),
            33
        );
        for i in 0..200u64 {
            let s = slot_of(i);
            assert_eq!(head_of_household(s.household), s.head);
            assert_eq!(s.head + u64::from(s.role), i);
        }
        assert_eq!(household_count(0), 0);
        assert_eq!(household_count(1), 1);
        assert_eq!(household_count(33), 10);
        assert_eq!(household_count(34), 11);
        assert_eq!(household_count(37), 11);
        assert_eq!(household_count(38), 12);
    }

    #[test]
    fn records_encode_and_decode() {
        let codes = CodeSpaces::new(7);
        for i in [0u64, 1, 2, 3, 100, 12_345] {
            let r = generate_record(7, &codes, i);
            let mut buf = [0u8; RECORD_BYTES];
            r.encode(&mut buf);
            assert_eq!(PersonRecord::decode(i, &buf), Some(r));
            buf[5] ^= 1;
            assert_eq!(PersonRecord::decode(i, &buf), None);
        }
    }

    #[test]
    fn children_carry_their_fathers_names() {
        let pop = Population::new(1405, 33).unwrap();
        // Household 0 is indices 0..4: head, spouse, two children.
        let head = pop.person(0);
        let spouse = pop.person(1);
        let father = if head.gender == Gender::Male {
            &head
        } else {
            &spouse
        };
        for c in [pop.person(2), pop.person(3)] {
            assert_eq!(c.household_role, HouseholdRole::Child);
            assert_eq!(c.last_name, father.last_name);
            assert_eq!(c.father_name, father.first_name);
            assert_eq!(c.postal_code, head.postal_code);
            assert!(c.age() + 18 <= head.age().min(spouse.age()));
        }
        assert_ne!(head.gender, spouse.gender);
    }
}
