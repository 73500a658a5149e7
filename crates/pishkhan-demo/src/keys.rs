//! The keys of a one-machine deployment and the reference directory signed with them.

use pishkhan_exchange::{Directory, Limits, MemberId, MemberKey, ServiceId};
use pishkhan_sign::{ConfigEnvelope, KeyPair, KeyStatus, Keyring};

use crate::reference::{
    ReferenceAgency, ReferenceAgencySpec, ReferenceParams, reference_directory,
};

/// The keys of a one-machine deployment of the exchange: the regulator (who signs the
/// directory), this server, the log, and each reference agency. Kept as private JWK files
/// (mode 0600) in one directory.
pub struct DeploymentKeys {
    pub regulator: KeyPair,
    pub exchange: KeyPair,
    pub log: KeyPair,
    pub receipt: KeyPair,
    pub agencies: Vec<(ReferenceAgency, KeyPair)>,
}

/// File name of an agency's key in a key directory, such as `agency-sabt.jwk`.
pub fn agency_key_file(agency: ReferenceAgency) -> String {
    let id = agency.member_id().to_string();
    format!("{}.jwk", id.replace(':', "-"))
}

impl DeploymentKeys {
    /// Reads the keys in `dir`, generating (and writing) the missing ones.
    pub fn load_or_create(dir: &std::path::Path) -> Result<DeploymentKeys, anyhow::Error> {
        std::fs::create_dir_all(dir)?;
        let key = |name: &str| -> Result<KeyPair, anyhow::Error> {
            let path = dir.join(name);
            if !path.exists() {
                let k = KeyPair::generate()?;
                // Another process may have written it meanwhile: then its key is the key.
                match k.write_file(&path) {
                    Ok(()) => return Ok(k),
                    Err(e) if e.code() == "already_exists" => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(KeyPair::read_file(&path)?)
        };
        Ok(DeploymentKeys {
            regulator: key("regulator.jwk")?,
            exchange: key("exchange.jwk")?,
            log: key("log.jwk")?,
            receipt: key("receipt.jwk")?,
            agencies: ReferenceAgency::ALL
                .iter()
                .map(|a| Ok((*a, key(&agency_key_file(*a))?)))
                .collect::<Result<_, anyhow::Error>>()?,
        })
    }

    /// Fresh keys held only in memory (tests, benchmarks).
    pub fn generate() -> Result<DeploymentKeys, anyhow::Error> {
        Ok(DeploymentKeys {
            regulator: KeyPair::generate()?,
            exchange: KeyPair::generate()?,
            log: KeyPair::generate()?,
            receipt: KeyPair::generate()?,
            agencies: ReferenceAgency::ALL
                .iter()
                .map(|a| Ok((*a, KeyPair::generate()?)))
                .collect::<Result<_, anyhow::Error>>()?,
        })
    }

    /// The regulator's public key as the trust anchor for directories.
    pub fn regulator_keyring(&self) -> Result<Keyring, anyhow::Error> {
        let mut k = Keyring::new();
        k.add(self.regulator.public(), KeyStatus::Active, None)?;
        Ok(k)
    }
}

/// Builds and signs the reference directory: the reference agencies at `agency_urls`,
/// the central exchange (`exchange:central`, this server) with the deployment's
/// exchange key, and access rights for every active office limited to the catalogue
/// services that need each inquiry (from each service's `required_inquiries`).
pub fn sign_reference_directory(
    keys: &DeploymentKeys,
    agency_urls: &[(ReferenceAgency, String)],
    catalogue: &[pishkhan_domain::model::Service],
    limits: Limits,
    version: u64,
    now: i64,
    valid_for_s: i64,
) -> Result<String, anyhow::Error> {
    let mut required_by: std::collections::BTreeMap<ServiceId, Vec<String>> = Default::default();
    for s in catalogue {
        for inquiry in &s.required_inquiries {
            if let Ok(id) = ServiceId::parse(inquiry) {
                required_by
                    .entry(id)
                    .or_default()
                    .push(s.code.as_str().to_string());
            }
        }
    }
    let agencies = agency_urls
        .iter()
        .map(|(agency, url)| {
            let key = keys
                .agencies
                .iter()
                .find(|(a, _)| a == agency)
                .map(|(_, k)| k)
                .ok_or_else(|| anyhow::anyhow!("no key for {}", agency.member_id()))?;
            Ok(ReferenceAgencySpec {
                agency: *agency,
                base_url: url.clone(),
                keys: vec![MemberKey::new(&key.public(), KeyStatus::Active)],
            })
        })
        .collect::<Result<Vec<_>, anyhow::Error>>()?;
    let config = reference_directory(&ReferenceParams {
        exchange: MemberId::parse(pishkhan_exchange::EXCHANGE_MEMBER)?,
        exchange_keys: vec![MemberKey::new(&keys.exchange.public(), KeyStatus::Active)],
        agencies,
        required_by,
        limits,
    });
    let envelope = ConfigEnvelope {
        version,
        issued_at: now,
        expires_at: now + valid_for_s,
        config,
    };
    Ok(Directory::sign(&envelope, &keys.regulator)?)
}
