//! The lookups the agency services answer, over any source of person records: the in-memory
//! generated [`Population`] or an on-disk [`Snapshot`].
//!
//! Every lookup by identifier is arithmetic (the inverse bijection of [`CodeSpaces`]) followed
//! by at most one record read, so it costs the same for 1,000 people and for 84 million.

use pishkhan_domain::{Mobile, NationalCode, PostalCode};

use crate::codes::CodeSpaces;
use crate::error::AgencyError;
use crate::population::{PersonRecord, Population, head_of_household, household_count};
use crate::snapshot::Snapshot;

/// A source of person records with O(1) lookups by national code, mobile and postal code.
pub trait Registry: Send + Sync + 'static {
    /// The seed the records were generated from.
    fn seed(&self) -> u64;
    /// Number of people.
    fn size(&self) -> u64;
    /// The identifier bijections of the seed.
    fn codes(&self) -> &CodeSpaces;
    /// `"generated"` (computed in memory) or `"snapshot"` (read from disk).
    fn source(&self) -> &'static str;
    /// The record of person `index`; [`AgencyError::OutOfRange`] for `index >= size`.
    fn read_record(&self, index: u64) -> Result<PersonRecord, AgencyError>;

    /// Number of households.
    fn household_count(&self) -> u64 {
        household_count(self.size())
    }

    /// The person with this national code, if they belong to the population.
    fn record_by_national_code(
        &self,
        code: &NationalCode,
    ) -> Result<Option<PersonRecord>, AgencyError> {
        match self.codes().index_of_national_code(code) {
            Some(i) if i < self.size() => self.read_record(i).map(Some),
            _ => Ok(None),
        }
    }

    /// The owner of a mobile number, if it belongs to someone in the population.
    fn record_by_mobile(&self, mobile: &Mobile) -> Result<Option<PersonRecord>, AgencyError> {
        match self.codes().index_of_mobile(mobile) {
            Some(i) if i < self.size() => {
                let r = self.read_record(i)?;
                Ok(r.has_mobile().then_some(r))
            }
            _ => Ok(None),
        }
    }

    /// The head of the household registered at a postal code; its
    /// [`address`](PersonRecord::address) is the household's address.
    fn record_by_postal_code(
        &self,
        code: &PostalCode,
    ) -> Result<Option<PersonRecord>, AgencyError> {
        match self.codes().household_of_postal_code(code) {
            Some(h) if h < self.household_count() => {
                self.read_record(head_of_household(h)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Shahkar's question: is this mobile registered to this national code?
    fn mobile_matches(&self, code: &NationalCode, mobile: &Mobile) -> Result<bool, AgencyError> {
        let (Some(i), Some(j)) = (
            self.codes().index_of_national_code(code),
            self.codes().index_of_mobile(mobile),
        ) else {
            return Ok(false);
        };
        if i != j || i >= self.size() {
            return Ok(false);
        }
        Ok(self.read_record(i)?.has_mobile())
    }

    /// Is this postal code the registered address of this person?
    fn postal_code_matches(
        &self,
        postal: &PostalCode,
        code: &NationalCode,
    ) -> Result<bool, AgencyError> {
        let Some(rank) = crate::codes::rank_of_postal(postal) else {
            return Ok(false);
        };
        Ok(self
            .record_by_national_code(code)?
            .is_some_and(|r| r.postal_rank() == rank))
    }
}

impl Registry for Population {
    fn seed(&self) -> u64 {
        Population::seed(self)
    }

    fn size(&self) -> u64 {
        Population::size(self)
    }

    fn codes(&self) -> &CodeSpaces {
        Population::codes(self)
    }

    fn source(&self) -> &'static str {
        "generated"
    }

    fn read_record(&self, index: u64) -> Result<PersonRecord, AgencyError> {
        if index >= Population::size(self) {
            return Err(AgencyError::OutOfRange {
                index,
                size: Population::size(self),
            });
        }
        Ok(self.record(index))
    }
}

impl Registry for Snapshot {
    fn seed(&self) -> u64 {
        Snapshot::seed(self)
    }

    fn size(&self) -> u64 {
        Snapshot::size(self)
    }

    fn codes(&self) -> &CodeSpaces {
        Snapshot::codes(self)
    }

    fn source(&self) -> &'static str {
        "snapshot"
    }

    fn read_record(&self, index: u64) -> Result<PersonRecord, AgencyError> {
        Snapshot::record(self, index)
    }
}
