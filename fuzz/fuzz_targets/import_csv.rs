//! CSV imports of offices and services, read exactly as `pishkhan import` reads them
//! (crates/pishkhan/src/import.rs: a header row, cells trimmed, empty cells absent, each row
//! through serde into the loose record), then parsed into domain values. The first byte picks
//! offices or services. Every record that parses satisfies the domain's rules and round trips
//! through the record it would be written back as.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::input::{OfficeDefaults, OfficeInput, ServiceInput};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The rows of `text` as the import's serde records; rows that do not deserialize are skipped.
fn rows<T: DeserializeOwned>(text: &str) -> Vec<T> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let Ok(headers) = reader.headers().cloned() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for record in reader.records().take(64) {
        let Ok(rec) = record else { continue };
        let map: Map<String, Value> = headers
            .iter()
            .zip(rec.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        if let Ok(v) = serde_json::from_value::<T>(Value::Object(map)) {
            out.push(v);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = pishkhan_fuzz::text(rest) else {
        return;
    };
    if which % 2 == 0 {
        let defaults = OfficeDefaults {
            code: None,
            licence_issued: JalaliDate::new(1405, 1, 1).expect("a real day"),
        };
        for input in rows::<OfficeInput>(text) {
            if let Ok(office) = input.parse(&defaults) {
                pishkhan_fuzz::check_office(&office, &defaults);
            }
        }
    } else {
        for input in rows::<ServiceInput>(text) {
            if let Ok(service) = input.parse() {
                pishkhan_fuzz::check_service(&service);
            }
        }
    }
});
