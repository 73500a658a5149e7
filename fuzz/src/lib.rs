//! What several fuzz targets share: turning parsed values back into the loose input records
//! they came from (for parse → write → parse round trips), and the fixed signing key.

use pishkhan_domain::input::{OfficeInput, ServiceInput};
use pishkhan_domain::model::{Office, Service};
use std::sync::LazyLock;

use pishkhan_sign::KeyPair;

/// The fuzz input as text: the parsers take `&str`, so bytes that are not UTF-8 are of no use.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The RFC 8032 test 1 secret, the key of the RFC 8037 examples, so that seeds can be made
/// with any JOSE tool. Its kid (RFC 7638 thumbprint) is [`KID`].
pub const SECRET: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

/// The kid of [`SECRET`], as RFC 8037 appendix A.3 gives it.
pub const KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/// The key pair of [`SECRET`], derived once per process (deriving it costs as much as a
/// signature, which would halve the signing targets' speed).
pub fn key() -> &'static KeyPair {
    static KEY: LazyLock<KeyPair> = LazyLock::new(|| {
        let key = KeyPair::from_secret_bytes(&SECRET);
        assert_eq!(key.kid(), KID, "the RFC 8037 thumbprint");
        key
    });
    &KEY
}

/// The record an import or the API would have to send to get `office` back.
pub fn office_to_input(office: &Office) -> OfficeInput {
    OfficeInput {
        code: Some(office.code.to_string()),
        name_fa: Some(office.name.fa.clone()),
        name_en: Some(office.name.en.clone()),
        province: Some(office.province_id.to_string()),
        city_fa: Some(office.city.fa.clone()),
        city_en: Some(office.city.en.clone()),
        address_fa: Some(office.address.fa.clone()),
        address_en: Some(office.address.en.clone()),
        postal_code: Some(office.postal_code.to_string()),
        phone: Some(office.phone.clone()),
        lat: Some(office.lat.to_string()),
        lon: Some(office.lon.to_string()),
        licence_no: Some(office.licence_no.clone()),
        licence_issued: Some(office.licence_issued.to_string()),
        status: Some(office.status.code().to_string()),
        counters: Some(office.counters.to_string()),
        hours: Some(office.hours.to_compact()),
    }
}

/// The record an import would have to send to get `service` back.
pub fn service_to_input(service: &Service) -> ServiceInput {
    ServiceInput {
        code: Some(service.code.to_string()),
        title_fa: Some(service.title.fa.clone()),
        title_en: Some(service.title.en.clone()),
        agency: Some(service.agency.to_string()),
        category: Some(service.category.code().to_string()),
        required_documents: Some(service.required_documents.clone()),
        required_inquiries: Some(service.required_inquiries.clone()),
        avg_handling_minutes: Some(service.avg_handling_minutes.to_string()),
        channel: Some(service.channel.code().to_string()),
        digitization: Some(service.digitization.code().to_string()),
    }
}

/// Checks what every imported office must satisfy beyond `Office::validate`, then that writing
/// it back as a record and parsing that gives the same office.
pub fn check_office(office: &Office, defaults: &pishkhan_domain::input::OfficeDefaults) {
    use pishkhan_domain::input::MAX_TEXT_CHARS;
    use pishkhan_domain::plain_text::forbidden_in_line;
    office.validate().expect("a parsed office validates");
    for text in [
        &office.name.fa,
        &office.name.en,
        &office.city.fa,
        &office.city.en,
        &office.address.fa,
        &office.address.en,
        &office.licence_no,
    ] {
        assert!(
            !text.is_empty() && text.trim() == text,
            "{text:?} is trimmed"
        );
        assert!(
            text.chars().count() <= MAX_TEXT_CHARS,
            "{text:?} is bounded"
        );
        assert!(
            !text.chars().any(forbidden_in_line),
            "{text:?} is one plain line"
        );
    }
    let again = office_to_input(office)
        .parse(defaults)
        .expect("an office written back parses");
    assert_eq!(&again, office, "office round trip");
}

/// The same for a catalogue service. Its texts, the required documents included, come from
/// outside like an office's and are held to the same rules.
pub fn check_service(service: &Service) {
    use pishkhan_domain::input::MAX_TEXT_CHARS;
    use pishkhan_domain::plain_text::forbidden_in_line;
    service.validate().expect("a parsed service validates");
    let documents = service
        .required_documents
        .iter()
        .flat_map(|d| [&d.fa, &d.en]);
    for text in [&service.title.fa, &service.title.en]
        .into_iter()
        .chain(documents)
    {
        assert!(
            text.chars().count() <= MAX_TEXT_CHARS,
            "{text:?} is bounded"
        );
        assert!(
            !text.chars().any(forbidden_in_line),
            "{text:?} is one plain line"
        );
    }
    let again = service_to_input(service)
        .parse()
        .expect("a service written back parses");
    assert_eq!(&again, service, "service round trip");
}
