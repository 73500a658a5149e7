//! Serde forms of the domain codes used here, which carry no serde impls of their own.
//! Office codes are written as 8-digit strings and read from strings or numbers.

use std::fmt;

use pishkhan_domain::model::OfficeCode;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// An office code read from `"10000001"` or `10000001`.
struct OfficeDe(OfficeCode);

impl<'de> Deserialize<'de> for OfficeDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OfficeDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an 8-digit office code")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OfficeDe, E> {
                OfficeCode::parse(s).map(OfficeDe).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<OfficeDe, E> {
                let n = u32::try_from(n).map_err(|_| E::custom("office code out of range"))?;
                OfficeCode::from_u32(n).map(OfficeDe).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<OfficeDe, E> {
                let n = u64::try_from(n).map_err(|_| E::custom("office code out of range"))?;
                self.visit_u64(n)
            }
        }
        d.deserialize_any(V)
    }
}

struct OfficeSer(OfficeCode);

impl Serialize for OfficeSer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `Vec<OfficeCode>` as a list of office-code strings.
pub mod offices {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[OfficeCode], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for &o in v {
            seq.serialize_element(&OfficeSer(o))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OfficeCode>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<OfficeCode>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of office codes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // A request lists at most five; a larger hint is not trusted for capacity.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8));
                while let Some(OfficeDe(o)) = seq.next_element()? {
                    out.push(o);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `Vec<(OfficeCode, u32)>` as `[{"office": "10000001", "slots": 200}, ...]`.
pub mod spec_offices {
    use super::*;

    #[derive(Serialize)]
    struct Ser {
        office: OfficeSer,
        slots: u32,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct De {
        office: OfficeDe,
        slots: u32,
    }

    pub fn serialize<S: Serializer>(v: &[(OfficeCode, u32)], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for &(o, slots) in v {
            seq.serialize_element(&Ser {
                office: OfficeSer(o),
                slots,
            })?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(OfficeCode, u32)>, D::Error> {
        let v = Vec::<De>::deserialize(d)?;
        Ok(v.into_iter().map(|e| (e.office.0, e.slots)).collect())
    }
}

/// A service code as its string.
pub mod service {
    use super::*;
    use pishkhan_domain::model::ServiceCode;

    pub fn serialize<S: Serializer>(v: &ServiceCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ServiceCode, D::Error> {
        let s = String::deserialize(d)?;
        ServiceCode::parse(&s).map_err(de::Error::custom)
    }
}

/// The seed as 64 lowercase hex digits.
pub mod seed {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        crate::parse_seed(&s).ok_or_else(|| de::Error::custom("a seed is 64 hex digits"))
    }
}
