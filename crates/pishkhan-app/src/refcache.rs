//! A short-lived cache of the reference data the booking path reads on every request: offices,
//! services, slot policies, holidays and closures.
//!
//! Entries live for [`TTL`]. Changes made through this process drop the affected entries at
//! once; changes made through another process sharing a PostgreSQL database show here within
//! `TTL`. Capacity itself is never cached: the store decides it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{LocalizedText, Office, OfficeCode, Service, ServiceCode};
use pishkhan_domain::schedule::SlotPolicy;

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries per map; past this the map is emptied rather than grown.
const MAX_ENTRIES: usize = 50_000;

type Days = Vec<(JalaliDate, LocalizedText)>;
type Counters = Vec<(u16, Option<Vec<ServiceCode>>)>;
/// A cached value with the moment it was read.
type Timed<K, V> = Mutex<HashMap<K, (Instant, V)>>;

#[derive(Default)]
pub struct RefCache {
    offices: Timed<u32, Office>,
    services: Timed<String, Service>,
    policies: Timed<u32, Option<SlotPolicy>>,
    holidays: Timed<(JalaliDate, JalaliDate), Days>,
    closures: Timed<(u32, JalaliDate, JalaliDate), Days>,
    /// Per office: which services each counter handles.
    counters: Timed<u32, Counters>,
    /// Every service's code and title, for pickers.
    catalogue: Timed<(), Vec<(ServiceCode, LocalizedText)>>,
}

fn get<K: std::hash::Hash + Eq, V: Clone>(m: &Timed<K, V>, k: &K) -> Option<V> {
    let map = m.lock().unwrap_or_else(|p| p.into_inner());
    map.get(k)
        .filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, v)| v.clone())
}

fn put<K: std::hash::Hash + Eq, V>(m: &Timed<K, V>, k: K, v: V) {
    let mut map = m.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(k, (Instant::now(), v));
}

impl RefCache {
    pub fn office(&self, code: OfficeCode) -> Option<Office> {
        get(&self.offices, &code.get())
    }
    pub fn put_office(&self, o: &Office) {
        put(&self.offices, o.code.get(), o.clone());
    }
    pub fn service(&self, code: &ServiceCode) -> Option<Service> {
        get(&self.services, &code.as_str().to_string())
    }
    pub fn put_service(&self, s: &Service) {
        put(&self.services, s.code.as_str().to_string(), s.clone());
    }
    pub fn policy(&self, office: OfficeCode) -> Option<Option<SlotPolicy>> {
        get(&self.policies, &office.get())
    }
    pub fn put_policy(&self, office: OfficeCode, p: Option<SlotPolicy>) {
        put(&self.policies, office.get(), p);
    }
    pub fn holidays(&self, from: JalaliDate, to: JalaliDate) -> Option<Days> {
        get(&self.holidays, &(from, to))
    }
    pub fn put_holidays(&self, from: JalaliDate, to: JalaliDate, d: Days) {
        put(&self.holidays, (from, to), d);
    }
    pub fn closures(&self, office: OfficeCode, from: JalaliDate, to: JalaliDate) -> Option<Days> {
        get(&self.closures, &(office.get(), from, to))
    }
    pub fn put_closures(&self, office: OfficeCode, from: JalaliDate, to: JalaliDate, d: Days) {
        put(&self.closures, (office.get(), from, to), d);
    }

    pub fn counters(&self, office: OfficeCode) -> Option<Counters> {
        get(&self.counters, &office.get())
    }
    pub fn put_counters(&self, office: OfficeCode, c: Counters) {
        put(&self.counters, office.get(), c);
    }
    pub fn catalogue(&self) -> Option<Vec<(ServiceCode, LocalizedText)>> {
        get(&self.catalogue, &())
    }
    pub fn put_catalogue(&self, c: Vec<(ServiceCode, LocalizedText)>) {
        put(&self.catalogue, (), c);
    }

    /// After a change to an office's settings, status or closures.
    pub fn forget_office(&self, office: OfficeCode) {
        let code = office.get();
        self.offices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&code);
        self.policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&code);
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&code);
        self.closures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(o, _, _), _| *o != code);
    }

    /// After a holiday is entered.
    pub fn forget_holidays(&self) {
        self.holidays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
