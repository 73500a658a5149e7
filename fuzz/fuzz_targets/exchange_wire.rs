//! The exchange's wire identifiers and headers (pishkhan-exchange): member ids, inquiry service
//! ids and the `Pishkhan-Purpose` header. The first byte picks the parser. Ids that parse keep
//! their documented shape and serde form; a purpose header that parses is written back as the
//! canonical header, which parses to the same purpose and is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::model::ServiceCode;
use pishkhan_exchange::directory::{MemberId, ServiceId};
use pishkhan_exchange::purpose::{MAX_PURPOSE_HEADER_BYTES, Purpose};

fn member_id(s: &str) {
    let Ok(id) = MemberId::parse(s) else { return };
    assert_eq!(id.as_str(), s);
    assert!(id.as_str().starts_with(&format!("{}:", id.kind().prefix())));
    let code = id.code();
    assert!((1..=64).contains(&code.len()) && code.as_bytes()[0].is_ascii_alphanumeric());
    let json = serde_json::to_string(&id).expect("an id serializes");
    assert_eq!(
        serde_json::from_str::<MemberId>(&json).ok().as_ref(),
        Some(&id)
    );
}

fn service_id(s: &str) {
    let Ok(id) = ServiceId::parse(s) else { return };
    assert_eq!(id.as_str(), s);
    let json = serde_json::to_string(&id).expect("an id serializes");
    assert_eq!(
        serde_json::from_str::<ServiceId>(&json).ok().as_ref(),
        Some(&id)
    );
}

fn purpose(s: &str) {
    let Ok(p) = Purpose::from_header_value(s) else {
        return;
    };
    assert!(s.len() <= MAX_PURPOSE_HEADER_BYTES);
    let code = ServiceCode::parse(p.service_code()).expect("a canonical service code");
    assert_eq!(code.as_str(), p.service_code());
    for field in [p.legal_basis(), p.case_id(), p.operator()] {
        assert!(!field.is_empty() && field.trim() == field, "{field:?}");
        assert!(!field.chars().any(char::is_control), "{field:?}");
    }
    let header = p.to_header_value();
    let again = Purpose::from_header_value(&header).expect("a written header parses");
    assert_eq!(again, p);
    assert_eq!(again.to_header_value(), header);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some(s) = pishkhan_fuzz::text(rest) else {
        return;
    };
    match which % 3 {
        0 => member_id(s),
        1 => service_id(s),
        _ => purpose(s),
    }
});
