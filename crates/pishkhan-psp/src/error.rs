//! Why the PSP could not start.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PspError {
    #[error("bad PSP configuration: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another process holds the journal: two writers would interleave their events.
    #[error("{0} is in use by another PSP process")]
    Locked(PathBuf),
    /// The journal holds a line that is not an event, or an event that cannot follow the
    /// ones before it.
    #[error("{path} line {line}: {message}")]
    Journal {
        path: PathBuf,
        line: u64,
        message: String,
    },
}
