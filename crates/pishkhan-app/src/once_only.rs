//! The once-only table: which documents a citizen is asked to bring that an inquiry the
//! exchange already answers could replace. Kept as data here, in one place, so the regulator's
//! view, its CSV and its tests read the same table.
//!
//! A document matches by its exact English or Persian catalogue text (trimmed); the catalogue
//! writes each document the same way everywhere (`pishkhan-nation`'s `docs` table), and an
//! import that words one differently simply does not match, which the view shows as paper
//! still asked for rather than guessing.

use pishkhan_domain::model::LocalizedText;
use pishkhan_protocol::Service as Inquiry;

/// (English text, Persian text, the inquiry that answers what the paper proves).
const REPLACEABLE: &[(&str, &str, Inquiry)] = &[
    // Identity and civil status: the civil registry's person record (name, parents, birth,
    // card serial, alive or deceased) says what these cards and booklets are brought to show.
    (
        "Original national ID card",
        "اصل کارت ملی",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Original birth certificate (shenasnameh)",
        "اصل شناسنامه",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Old (paper) national ID card",
        "کارت ملی قدیمی",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Expired smart national ID card",
        "کارت هوشمند ملی منقضی‌شده",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Birth certificates of both spouses",
        "شناسنامه زوجین",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Parents' birth certificates and national ID cards",
        "شناسنامه و کارت ملی پدر و مادر",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Birth certificate and national ID card of the deceased",
        "شناسنامه و کارت ملی متوفی",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Informant's national ID card",
        "کارت ملی اعلام‌کننده",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "National ID cards of seller and buyer",
        "کارت ملی فروشنده و خریدار",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Birth certificates of the dependants",
        "شناسنامه افراد تحت تکفل",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Birth certificates and national ID cards of the heirs",
        "شناسنامه و کارت ملی وراث",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "National ID cards of partners and directors",
        "کارت ملی شرکا و مدیران",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Birth certificates and national ID cards of household members",
        "شناسنامه و کارت ملی اعضای خانوار",
        Inquiry::CivilRegistryPerson,
    ),
    (
        "Death certificate",
        "گواهی فوت",
        Inquiry::CivilRegistryPerson,
    ),
    // Where someone lives: the post's address record for their postal code.
    ("Proof of residence", "گواهی سکونت", Inquiry::PostalAddress),
    // Which number is theirs: the operator's ownership record (Shahkar).
    (
        "Proof of mobile ownership",
        "گواهی مالکیت سیم‌کارت",
        Inquiry::MobileOwnership,
    ),
    // Unpaid fines: the traffic police's record.
    (
        "Traffic fines clearance",
        "مفاصاحساب خلافی خودرو",
        Inquiry::TrafficFines,
    ),
];

/// The inquiry that could replace `document`, if the table names one.
pub fn replacing_inquiry(document: &LocalizedText) -> Option<Inquiry> {
    let en = document.en.trim();
    let fa = document.fa.trim();
    REPLACEABLE
        .iter()
        .find(|(e, f, _)| *e == en || *f == fa)
        .map(|(_, _, inquiry)| *inquiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_named_once() {
        let mut seen = std::collections::HashSet::new();
        for (en, fa, _) in REPLACEABLE {
            assert!(seen.insert(*en), "{en} twice");
            assert!(seen.insert(*fa), "{fa} twice");
        }
    }
}
