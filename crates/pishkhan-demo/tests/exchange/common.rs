//! A small exchange network for the tests: a regulator, the central exchange and the four
//! reference agencies, each a real `pishkhan_agency` server on 127.0.0.1:0 behind a
//! `SignedEnvelope`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use pishkhan_agency::{AgencyState, Envelope, Population};
use pishkhan_demo::{
    ReferenceAgency, ReferenceAgencySpec, ReferenceParams, reference_directory,
    reference_service_id,
};
use pishkhan_exchange::{
    Directory, DirectoryConfig, DirectoryHandle, Exchange, Inquiry, Limits, MemberId, MemberKey,
    Purpose, ServiceId, SignedEnvelope,
};
use pishkhan_sign::{ConfigEnvelope, KeyPair, KeyStatus, Keyring, unix_now};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const SEED: u64 = 1405;
pub const POPULATION: u64 = 2_000;
pub const OFFICE: &str = "office:11000001";

/// A key from a fixed seed, so a test can hold several copies of "the same" key.
pub fn key(seed: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[seed; 32])
}

pub const REGULATOR_SEED: u8 = 1;
pub const EXCHANGE_SEED: u8 = 2;

pub fn agency_seed(a: ReferenceAgency) -> u8 {
    match a {
        ReferenceAgency::CivilRegistry => 10,
        ReferenceAgency::Cra => 11,
        ReferenceAgency::Post => 12,
        ReferenceAgency::TrafficPolice => 13,
    }
}

pub fn member(id: &str) -> MemberId {
    MemberId::parse(id).unwrap()
}

pub fn service(s: pishkhan_agency::Service) -> ServiceId {
    reference_service_id(s)
}

pub fn exchange_id() -> MemberId {
    member("exchange:central")
}

pub fn regulator_ring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(key(REGULATOR_SEED).public(), KeyStatus::Active, None)
        .unwrap();
    ring
}

/// Which catalogue services need which inquiry, in the reference directories of the tests.
pub fn required_by() -> BTreeMap<ServiceId, Vec<String>> {
    use pishkhan_agency::Service as S;
    let mut m = BTreeMap::new();
    m.insert(
        service(S::CivilRegistryPerson),
        vec!["SR001".into(), "SR010".into()],
    );
    m.insert(
        service(S::MobileOwnership),
        vec!["SR001".into(), "SR002".into()],
    );
    m.insert(service(S::PostalAddress), vec!["SR003".into()]);
    m.insert(service(S::PostalAddressMatch), vec!["SR003".into()]);
    m.insert(service(S::TrafficFines), vec!["SR004".into()]);
    m
}

pub fn params(base_urls: &HashMap<ReferenceAgency, String>, limits: Limits) -> ReferenceParams {
    ReferenceParams {
        exchange: exchange_id(),
        exchange_keys: vec![MemberKey::new(
            &key(EXCHANGE_SEED).public(),
            KeyStatus::Active,
        )],
        agencies: ReferenceAgency::ALL
            .iter()
            .map(|&a| ReferenceAgencySpec {
                agency: a,
                base_url: base_urls[&a].clone(),
                keys: vec![MemberKey::new(
                    &key(agency_seed(a)).public(),
                    KeyStatus::Active,
                )],
            })
            .collect(),
        required_by: required_by(),
        limits,
    }
}

pub fn sign(config: &DirectoryConfig, version: u64) -> String {
    let now = unix_now();
    let envelope = ConfigEnvelope {
        version,
        issued_at: now - 10,
        expires_at: now + 3600,
        config: config.clone(),
    };
    Directory::sign(&envelope, &key(REGULATOR_SEED)).unwrap()
}

pub fn verified(config: &DirectoryConfig, version: u64) -> Directory {
    Directory::verify(&sign(config, version), &regulator_ring(), None, unix_now()).unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub struct AgencyNode {
    pub addr: SocketAddr,
    pub envelope: Arc<SignedEnvelope>,
    _stop: oneshot::Sender<()>,
}

pub struct World {
    pub config: DirectoryConfig,
    pub version: u64,
    pub exchange: Arc<Exchange>,
    pub agencies: HashMap<ReferenceAgency, AgencyNode>,
    pub population: Population,
}

/// Starts an agency server for `agency` on `listener`, with `wrap` around its envelope.
pub fn spawn_agency(
    listener: TcpListener,
    agency: ReferenceAgency,
    directory: &Directory,
    wrap: &dyn Fn(ReferenceAgency, Arc<SignedEnvelope>) -> Arc<dyn Envelope>,
) -> AgencyNode {
    let addr = listener.local_addr().unwrap();
    let envelope = Arc::new(
        SignedEnvelope::new(
            agency.member_id(),
            key(agency_seed(agency)),
            DirectoryHandle::new(directory.clone()),
        )
        .unwrap(),
    );
    let state = AgencyState::from(Population::new(SEED, POPULATION).unwrap())
        .with_envelope(wrap(agency, envelope.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(pishkhan_agency::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    AgencyNode {
        addr,
        envelope,
        _stop: stop,
    }
}

impl World {
    pub async fn start(limits: Limits, customize: impl FnOnce(&mut DirectoryConfig)) -> World {
        World::start_with(limits, customize, &|_, e| e).await
    }

    /// Like [`World::start`], with each agency's envelope wrapped by `wrap`.
    pub async fn start_with(
        limits: Limits,
        customize: impl FnOnce(&mut DirectoryConfig),
        wrap: &dyn Fn(ReferenceAgency, Arc<SignedEnvelope>) -> Arc<dyn Envelope>,
    ) -> World {
        let mut listeners = HashMap::new();
        let mut urls = HashMap::new();
        for a in ReferenceAgency::ALL {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            urls.insert(a, format!("http://{}", l.local_addr().unwrap()));
            listeners.insert(a, l);
        }
        let mut config = reference_directory(&params(&urls, limits));
        customize(&mut config);
        let directory = verified(&config, 1);
        let agencies = listeners
            .into_iter()
            .map(|(a, l)| (a, spawn_agency(l, a, &directory, wrap)))
            .collect();
        let exchange = Exchange::new(
            DirectoryHandle::new(directory),
            exchange_id(),
            key(EXCHANGE_SEED),
            http(),
        )
        .unwrap();
        World {
            config,
            version: 1,
            exchange: Arc::new(exchange),
            agencies,
            population: Population::new(SEED, POPULATION).unwrap(),
        }
    }

    /// Publishes the next directory version to the exchange and every agency.
    pub fn publish(&mut self, change: impl FnOnce(&mut DirectoryConfig)) {
        change(&mut self.config);
        self.version += 1;
        let token = sign(&self.config, self.version);
        let now = unix_now();
        let ring = regulator_ring();
        for node in self.agencies.values() {
            assert_eq!(
                node.envelope
                    .directory()
                    .update(&token, &ring, now)
                    .unwrap(),
                self.version
            );
        }
        self.exchange
            .directory()
            .update(&token, &ring, now)
            .unwrap();
    }

    pub fn url(&self, agency: ReferenceAgency, s: pishkhan_agency::Service) -> String {
        format!("http://{}{}", self.agencies[&agency].addr, s.path())
    }
}

pub fn purpose(code: &str) -> Purpose {
    Purpose::new(
        "قانون ثبت احوال، ماده ۱۰",
        code,
        "CASE-1405-0001",
        "operator.ali",
    )
    .unwrap()
}

pub fn inquiry(s: pishkhan_agency::Service, catalogue: &str, body: Value) -> Inquiry {
    Inquiry {
        office: member(OFFICE),
        office_active: true,
        service: service(s),
        catalogue_service: catalogue.to_owned(),
        purpose: purpose(catalogue),
        body,
        // These tests are about the agency call; the cache tests ask for cached answers.
        fresh: true,
    }
}

/// Published keys with their statuses, for a directory's key lists.
pub fn member_keys(keys: &[(&pishkhan_sign::PublicKey, KeyStatus)]) -> Vec<MemberKey> {
    keys.iter().map(|(k, s)| MemberKey::new(k, *s)).collect()
}

/// Changes the exchange key list of the directory.
pub fn set_exchange_keys(config: &mut DirectoryConfig, keys: Vec<MemberKey>) {
    let m = config
        .members
        .iter_mut()
        .find(|m| m.id == exchange_id())
        .unwrap();
    m.keys = keys;
}

/// Changes an agency's key list in the directory.
pub fn set_agency_keys(
    config: &mut DirectoryConfig,
    agency: ReferenceAgency,
    keys: Vec<MemberKey>,
) {
    let m = config
        .members
        .iter_mut()
        .find(|m| m.id == agency.member_id())
        .unwrap();
    m.keys = keys;
}

pub fn fast_limits() -> Limits {
    Limits {
        agency_timeout_ms: 5_000,
        retry_budget_ratio: 0.1,
        max_retries: 2,
        circuit_failures: 5,
        circuit_cooldown_ms: 10_000,
    }
}
