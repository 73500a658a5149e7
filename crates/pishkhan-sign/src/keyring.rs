//! The verifier's set of trusted public keys.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::keys::{Jwks, KeyError, PublicKey};

/// What a key may still be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Current signing key; verifies. Several keys may be active at once
    /// during a rotation.
    Active,
    /// No longer signs new material but still verifies what it signed.
    Retired,
    /// Compromised or withdrawn: everything it signed is refused at once.
    Revoked,
}

/// A key with its status and, for member keys, the member id it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    pub key: PublicKey,
    pub status: KeyStatus,
    /// The member (agency or office) id this key signs for, if bound.
    /// [`crate::verify_message`] requires it to equal the message sender.
    pub owner: Option<String>,
}

/// Trusted public keys by `kid`, with per-key status and owner.
///
/// Revocation is permanent for the lifetime of the keyring: a revoked
/// `kid` stays revoked even if it is added again (for example from a stale
/// cached JWKS), and a `kid` may be revoked before its key is ever seen.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: BTreeMap<String, KeyEntry>,
    revoked: BTreeSet<String>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// A keyring holding every key of `jwks` as active and unowned.
    pub fn from_jwks(jwks: &Jwks) -> Result<Keyring, KeyError> {
        let mut ring = Keyring::new();
        ring.add_jwks(jwks, KeyStatus::Active, None)?;
        Ok(ring)
    }

    /// Adds a key, or changes the status of a key already present. Returns
    /// the key's effective status (`Revoked` if its `kid` was revoked).
    ///
    /// Fails with `owner_conflict` if the key is already bound to another
    /// owner (or bound where `owner` is `None`, or vice versa).
    pub fn add(
        &mut self,
        key: PublicKey,
        status: KeyStatus,
        owner: Option<&str>,
    ) -> Result<KeyStatus, KeyError> {
        let kid = key.kid().to_owned();
        if let Some(existing) = self.keys.get(&kid)
            && existing.owner.as_deref() != owner
        {
            return Err(KeyError::OwnerConflict {
                kid,
                existing: match &existing.owner {
                    Some(o) => format!("member {o:?}"),
                    None => "no member".to_owned(),
                },
            });
        }
        if status == KeyStatus::Revoked {
            self.revoked.insert(kid.clone());
        }
        let status = if self.revoked.contains(&kid) {
            KeyStatus::Revoked
        } else {
            status
        };
        self.keys.insert(
            kid,
            KeyEntry {
                key,
                status,
                owner: owner.map(str::to_owned),
            },
        );
        Ok(status)
    }

    /// Adds every key of `jwks` with the same status and owner. All keys
    /// are checked first: on error the keyring is unchanged.
    pub fn add_jwks(
        &mut self,
        jwks: &Jwks,
        status: KeyStatus,
        owner: Option<&str>,
    ) -> Result<(), KeyError> {
        let keys = jwks
            .keys
            .iter()
            .map(PublicKey::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        let mut staged = self.clone();
        for key in keys {
            staged.add(key, status, owner)?;
        }
        *self = staged;
        Ok(())
    }

    /// Revokes a `kid`, known or not. Permanent.
    pub fn revoke(&mut self, kid: &str) {
        self.revoked.insert(kid.to_owned());
        if let Some(entry) = self.keys.get_mut(kid) {
            entry.status = KeyStatus::Revoked;
        }
    }

    /// Marks a key retired: it still verifies but should sign no more.
    pub fn retire(&mut self, kid: &str) -> Result<(), KeyError> {
        self.set_live_status(kid, KeyStatus::Retired)
    }

    /// Marks a key active again (not possible once revoked).
    pub fn activate(&mut self, kid: &str) -> Result<(), KeyError> {
        self.set_live_status(kid, KeyStatus::Active)
    }

    fn set_live_status(&mut self, kid: &str, status: KeyStatus) -> Result<(), KeyError> {
        if self.revoked.contains(kid) {
            return Err(KeyError::Revoked(kid.to_owned()));
        }
        let entry = self
            .keys
            .get_mut(kid)
            .ok_or_else(|| KeyError::NotFound(crate::short(kid)))?;
        entry.status = status;
        Ok(())
    }

    /// Whether `kid` is revoked (whether or not its key is known).
    pub fn is_revoked(&self, kid: &str) -> bool {
        self.revoked.contains(kid)
    }

    /// The status of `kid`: `Revoked` for a revoked `kid` even if its key is
    /// unknown, `None` for an unknown one.
    pub fn status(&self, kid: &str) -> Option<KeyStatus> {
        if self.revoked.contains(kid) {
            return Some(KeyStatus::Revoked);
        }
        self.keys.get(kid).map(|e| e.status)
    }

    /// The entry for `kid`, whatever its status.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.get(kid)
    }

    /// The entry for `kid` if it may verify (active or retired).
    pub fn verifying_entry(&self, kid: &str) -> Option<&KeyEntry> {
        if self.revoked.contains(kid) {
            return None;
        }
        self.keys
            .get(kid)
            .filter(|e| e.status != KeyStatus::Revoked)
    }

    /// All entries, in `kid` order.
    pub fn entries(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.values()
    }

    /// Active entries (current signing keys), in `kid` order.
    pub fn active(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.values().filter(|e| e.status == KeyStatus::Active)
    }

    /// Number of keys held (revoked ones included).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JWKS to publish: active and retired keys, never revoked ones.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .keys
                .values()
                .filter(|e| e.status != KeyStatus::Revoked)
                .map(|e| e.key.to_jwk())
                .collect(),
        }
    }
}
