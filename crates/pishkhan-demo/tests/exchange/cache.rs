//! The answer cache: a service's `cache_ttl_ms` lets an office reuse a verified answer, without
//! skipping any check, and every reuse is logged as such.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, StatusCode};
use pishkhan_agency::{Envelope, Rejection, Service};
use pishkhan_demo::ReferenceAgency;
use pishkhan_exchange::{DirectoryConfig, InquiryError, LogEntry, MemberStatus, SignedEnvelope};
use serde_json::json;

use crate::common::*;

/// Counts the requests each agency verifies.
struct Counting {
    inner: Arc<SignedEnvelope>,
    seen: Arc<AtomicUsize>,
}

impl Envelope for Counting {
    fn verify_request(&self, s: Service, h: &HeaderMap, b: &[u8]) -> Result<(), Rejection> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        self.inner.verify_request(s, h, b)
    }

    fn sign_response(
        &self,
        s: Service,
        req: &[u8],
        st: StatusCode,
        resp: &[u8],
        h: &mut HeaderMap,
    ) {
        self.inner.sign_response(s, req, st, resp, h);
    }
}

fn set_ttl(config: &mut DirectoryConfig, s: Service, ttl_ms: u64) {
    let id = service(s);
    config
        .services
        .iter_mut()
        .find(|x| x.id == id)
        .unwrap()
        .cache_ttl_ms = ttl_ms;
}

async fn counted_world(customize: impl FnOnce(&mut DirectoryConfig)) -> (World, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let world = World::start_with(fast_limits(), customize, &move |a, e| {
        if a == ReferenceAgency::CivilRegistry {
            Arc::new(Counting {
                inner: e,
                seen: counter.clone(),
            })
        } else {
            e
        }
    })
    .await;
    (world, seen)
}

fn cached_inquiry(code: &str) -> pishkhan_exchange::Inquiry {
    let mut i = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": code}),
    );
    i.fresh = false;
    i
}

#[tokio::test]
async fn a_repeated_inquiry_within_the_ttl_reuses_the_signed_answer_and_is_logged_as_cached() {
    let (world, seen) = counted_world(|c| set_ttl(c, Service::CivilRegistryPerson, 60_000)).await;
    let person = world.population.sample(1).remove(0);
    let code = person.national_code.as_str();

    let first = world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
    assert_eq!(first.cached_at_ms, None);
    assert_eq!(first.attempts, 1);
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    let again = world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the agency was not asked again"
    );
    assert!(again.cached_at_ms.is_some());
    assert_eq!(again.attempts, 0);
    assert_eq!(again.body, first.body);
    // The evidence is the original answer's: the agency's signature over it and its nonce.
    assert_eq!(again.response_signature, first.response_signature);
    assert_eq!(again.request_nonce, first.request_nonce);
    assert_eq!(again.response_sha256, first.response_sha256);

    // The log says the answer was reused, and the entry stays canonical.
    let inq = cached_inquiry(code);
    let entry = world
        .exchange
        .log_entry(&inq, &Ok(again.clone()), 1_800_000_000_000);
    assert_eq!(entry.cached_at_ms, again.cached_at_ms);
    assert_eq!(entry.subject.as_deref(), Some(code));
    let bytes = entry.to_canonical_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("\"cached_at_ms\":"));
    assert_eq!(LogEntry::from_canonical_bytes(&bytes).unwrap(), entry);
    let fresh_entry = world
        .exchange
        .log_entry(&inq, &Ok(first), 1_800_000_000_000);
    assert!(!String::from_utf8_lossy(&fresh_entry.to_canonical_bytes()).contains("cached_at_ms"));

    // Asking fresh goes to the agency, and refreshes the cache.
    let mut fresh = cached_inquiry(code);
    fresh.fresh = true;
    let refreshed = world.exchange.inquire(&fresh).await.unwrap();
    assert_eq!(refreshed.cached_at_ms, None);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    let after = world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert_eq!(after.response_signature, refreshed.response_signature);

    // Another person, or the same question in another form, is another request.
    let other = world.population.sample(2).remove(1);
    world
        .exchange
        .inquire(&cached_inquiry(other.national_code.as_str()))
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_cache_never_skips_a_check() {
    let (mut world, seen) =
        counted_world(|c| set_ttl(c, Service::CivilRegistryPerson, 60_000)).await;
    let person = world.population.sample(1).remove(0);
    let code = person.national_code.as_str();
    world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    // A suspended office is refused even though an answer is cached for it.
    let mut suspended = cached_inquiry(code);
    suspended.office_active = false;
    let e = world.exchange.inquire(&suspended).await.unwrap_err();
    assert!(matches!(e, InquiryError::OfficeSuspended), "{e:?}");

    // A catalogue service that does not need the inquiry is refused.
    let mut other_case = cached_inquiry(code);
    other_case.catalogue_service = "SR999".into();
    other_case.purpose = purpose("SR999");
    let e = world.exchange.inquire(&other_case).await.unwrap_err();
    assert_eq!(e.code(), "inquiry_not_allowed");

    // Another office has no cached answer of its own: the agency is asked.
    let mut other_office = cached_inquiry(code);
    other_office.office = member("office:11000002");
    world.exchange.inquire(&other_office).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    // A new directory version (here the office suspended in it) drops what was cached.
    world.publish(|c| {
        c.members.push(pishkhan_exchange::Member {
            id: member(OFFICE),
            kind: pishkhan_exchange::MemberKind::Office,
            name_fa: "دفتر".into(),
            name_en: "Office".into(),
            status: MemberStatus::Suspended,
            base_url: None,
            keys: vec![],
        });
    });
    let e = world
        .exchange
        .inquire(&cached_inquiry(code))
        .await
        .unwrap_err();
    assert!(matches!(e, InquiryError::OfficeSuspended), "{e:?}");
    world.publish(|c| c.members.retain(|m| m.id != member(OFFICE)));
    world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "the new directory missed the cache"
    );
}

#[tokio::test]
async fn services_without_a_ttl_and_refusals_are_never_reused() {
    let (world, seen) = counted_world(|c| set_ttl(c, Service::CivilRegistryPerson, 0)).await;
    let person = world.population.sample(1).remove(0);
    let code = person.national_code.as_str();
    for n in 1..=3 {
        let o = world.exchange.inquire(&cached_inquiry(code)).await.unwrap();
        assert_eq!(o.cached_at_ms, None);
        assert_eq!(seen.load(Ordering::SeqCst), n);
    }
}

#[test]
fn a_ttl_is_bounded_and_only_for_idempotent_services() {
    let urls = ReferenceAgency::ALL
        .iter()
        .map(|a| (*a, "http://127.0.0.1:9".to_owned()))
        .collect();
    let base = pishkhan_demo::reference_directory(&params(&urls, fast_limits()));
    let now = pishkhan_sign::unix_now();
    // The regulator's signing refuses an invalid directory, as verifying does.
    let check = |change: &dyn Fn(&mut DirectoryConfig)| {
        let mut c = base.clone();
        change(&mut c);
        let envelope = pishkhan_sign::ConfigEnvelope {
            version: 1,
            issued_at: now - 10,
            expires_at: now + 3600,
            config: c,
        };
        pishkhan_exchange::Directory::sign(&envelope, &key(REGULATOR_SEED))
    };
    assert!(check(&|c| set_ttl(c, Service::PostalAddress, 86_400_000)).is_ok());
    let e = check(&|c| set_ttl(c, Service::PostalAddress, 86_400_001)).unwrap_err();
    assert!(e.to_string().contains("cache_ttl_ms"), "{e}");
    let e = check(&|c| {
        set_ttl(c, Service::PostalAddress, 1_000);
        let id = service(Service::PostalAddress);
        c.services
            .iter_mut()
            .find(|s| s.id == id)
            .unwrap()
            .idempotent = false;
    })
    .unwrap_err();
    assert!(e.to_string().contains("cache_ttl_ms"), "{e}");
}
