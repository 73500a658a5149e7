//! Fixtures: a claim that matches a registry person in every attribute.

use pishkhan_identity::{CardStatus, Claim, JalaliDate, RegistryPerson, RegistryRecord};

/// A checksum-valid national code.
pub const CODE: &str = "0013542419";
/// Another checksum-valid national code.
pub const OTHER_CODE: &str = "4487900123";

pub fn claim() -> Claim {
    Claim {
        national_code: CODE.into(),
        first_name: "محمدعلی".into(),
        last_name: "کریمی".into(),
        father_name: Some("حسین".into()),
        birth_date: "1370-01-05".into(),
        card_serial: Some("0A12345678".into()),
        mobile: Some("09121234567".into()),
    }
}

pub fn person() -> RegistryPerson {
    RegistryPerson {
        national_code: None,
        first_name: "محمدعلی".into(),
        last_name: "کریمی".into(),
        father_name: Some("حسین".into()),
        birth_date: date("1370-01-05"),
        card_serial: Some("0A12345678".into()),
        card_status: CardStatus::Valid,
        alive: true,
    }
}

pub fn found(person: RegistryPerson) -> RegistryRecord {
    RegistryRecord::Found(person)
}

pub fn date(s: &str) -> JalaliDate {
    JalaliDate::parse(s).expect("a valid test date")
}
