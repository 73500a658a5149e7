//! JSON imports of offices and services, read as `pishkhan import` and the registry API read
//! them (an array of objects, each through serde into the loose record, which takes strings,
//! numbers and booleans as text), then parsed into domain values. The first byte picks offices
//! or services. Every record that parses satisfies the domain's rules and round trips through
//! the record it would be written back as.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::input::{OfficeDefaults, OfficeInput, ServiceInput};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(values) = serde_json::from_slice::<Vec<Value>>(rest) else {
        return;
    };
    if which % 2 == 0 {
        let defaults = OfficeDefaults {
            code: None,
            licence_issued: JalaliDate::new(1405, 1, 1).expect("a real day"),
        };
        for v in values.into_iter().take(64) {
            let Ok(input) = serde_json::from_value::<OfficeInput>(v) else {
                continue;
            };
            if let Ok(office) = input.parse(&defaults) {
                pishkhan_fuzz::check_office(&office, &defaults);
            }
        }
    } else {
        for v in values.into_iter().take(64) {
            let Ok(input) = serde_json::from_value::<ServiceInput>(v) else {
                continue;
            };
            if let Ok(service) = input.parse() {
                pishkhan_fuzz::check_service(&service);
            }
        }
    }
});
