//! The verification bundle: everything `pishkhan release verify FILE` needs.
//!
//! Two encodings of the same [`Bundle`], chosen by the file name:
//! - **JSON document** (any name but the two below):
//!   `{"spec": {...}, "requests": [...], "publication": {...}}`. Handy for small releases and
//!   for reading by eye.
//! - **JSON lines** (`*.jsonl` or `*.ndjson`): the first line is
//!   `{"spec": {...}, "publication": {...}}`, then one request object per line, in arrival
//!   order. This is the format for large releases: it can be produced and consumed one request
//!   at a time, `grep` finds a citizen's request, `wc -l` counts them, and a damaged line is
//!   reported by number. Blank lines and a trailing `\r` are ignored.
//!
//! In both the requests are kept in arrival order, which the deduplication rule needs, and
//! unknown fields are refused. Both read the file whole and parse from memory, which is the
//! fastest path through serde_json (a 1,000,000-request bundle is about 70 MB).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Publication, ReleaseSpec, Request, VerifyError, verify};

/// A release's spec, its requests in arrival order, and what was published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub spec: ReleaseSpec,
    pub requests: Vec<Request>,
    pub publication: Publication,
}

#[derive(serde::Serialize)]
struct HeaderOut<'a> {
    spec: &'a ReleaseSpec,
    publication: &'a Publication,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderIn {
    spec: ReleaseSpec,
    publication: Publication,
}

/// A bundle file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}, line {line}: {source}", path.display())]
    JsonLine {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: empty file; the first line holds the spec and the publication", path.display())]
    Empty { path: PathBuf },
}

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a bundle: JSON lines for `*.jsonl` and `*.ndjson`, a JSON document otherwise.
pub fn read_bundle(path: impl AsRef<Path>) -> Result<Bundle, BundleError> {
    let path = path.as_ref();
    if is_jsonl(path) {
        read_bundle_jsonl(path)
    } else {
        read_bundle_json(path)
    }
}

/// Writes a bundle: JSON lines for `*.jsonl` and `*.ndjson`, a JSON document otherwise.
pub fn write_bundle(path: impl AsRef<Path>, bundle: &Bundle) -> Result<(), BundleError> {
    let path = path.as_ref();
    if is_jsonl(path) {
        write_bundle_jsonl(path, bundle)
    } else {
        write_bundle_json(path, bundle)
    }
}

/// Reads a bundle written as one JSON document.
pub fn read_bundle_json(path: impl AsRef<Path>) -> Result<Bundle, BundleError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|source| BundleError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a bundle as one compact JSON document.
pub fn write_bundle_json(path: impl AsRef<Path>, bundle: &Bundle) -> Result<(), BundleError> {
    let path = path.as_ref();
    let file = File::create(path).map_err(io_err(path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut out, bundle).map_err(|source| BundleError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    out.write_all(b"\n").map_err(io_err(path))?;
    out.flush().map_err(io_err(path))
}

/// Reads a bundle written as JSON lines.
pub fn read_bundle_jsonl(path: impl AsRef<Path>) -> Result<Bundle, BundleError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let line_err = |line: usize| {
        move |source| BundleError::JsonLine {
            path: path.to_path_buf(),
            line,
            source,
        }
    };
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    let (n, first) = lines.next().ok_or_else(|| BundleError::Empty {
        path: path.to_path_buf(),
    })?;
    let header: HeaderIn = serde_json::from_slice(first).map_err(line_err(n))?;
    // About 60 bytes a request: a good guess for the capacity.
    let mut requests = Vec::with_capacity(bytes.len() / 60);
    for (n, line) in lines {
        requests.push(serde_json::from_slice::<Request>(line).map_err(line_err(n))?);
    }
    requests.shrink_to_fit();
    Ok(Bundle {
        spec: header.spec,
        requests,
        publication: header.publication,
    })
}

/// Writes a bundle as JSON lines: the spec and publication, then one request a line.
pub fn write_bundle_jsonl(path: impl AsRef<Path>, bundle: &Bundle) -> Result<(), BundleError> {
    let path = path.as_ref();
    let file = File::create(path).map_err(io_err(path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let json_err = |source| BundleError::Json {
        path: path.to_path_buf(),
        source,
    };
    let header = HeaderOut {
        spec: &bundle.spec,
        publication: &bundle.publication,
    };
    serde_json::to_writer(&mut out, &header).map_err(json_err)?;
    out.write_all(b"\n").map_err(io_err(path))?;
    for r in &bundle.requests {
        serde_json::to_writer(&mut out, r).map_err(json_err)?;
        out.write_all(b"\n").map_err(io_err(path))?;
    }
    out.flush().map_err(io_err(path))
}

/// Verifies a bundle's publication against its spec and requests; see [`verify`].
pub fn verify_bundle(bundle: &Bundle, commitment: Option<&str>) -> Result<(), VerifyError> {
    verify(
        &bundle.spec,
        &bundle.requests,
        &bundle.publication,
        commitment,
    )
}
