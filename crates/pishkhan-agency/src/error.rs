//! Errors of the agency crate.

use std::path::PathBuf;

/// What can go wrong building a population or reading and writing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum AgencyError {
    #[error("a population of {size} does not fit the identifier spaces (at most {max} people)")]
    TooLarge { size: u64, max: u64 },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a pishkhan agency snapshot (bad magic bytes)")]
    NotASnapshot { path: PathBuf },
    #[error("{path}: snapshot format version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path}: snapshot header checksum mismatch; the header is corrupted")]
    HeaderChecksum { path: PathBuf },
    #[error(
        "{path}: snapshot was written by a generator with different tables or rules; regenerate it"
    )]
    TablesMismatch { path: PathBuf },
    #[error(
        "{path}: snapshot is {actual} bytes but its header promises {expected}; truncated or padded"
    )]
    WrongLength {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: record {index} is corrupted")]
    CorruptRecord { path: PathBuf, index: u64 },
    #[error("{path}: data checksum mismatch; the records are corrupted")]
    DataChecksum { path: PathBuf },
    #[error("person {index} is outside a population of {size}")]
    OutOfRange { index: u64, size: u64 },
}
