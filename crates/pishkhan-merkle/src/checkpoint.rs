//! C2SP tlog-checkpoint note bodies (<https://c2sp.org/tlog-checkpoint>).
//!
//! Only the body is produced and parsed here; the signed-note envelope and
//! signatures are handled elsewhere.

use crate::Hash;

/// A tree head: the log's origin line, its size and its RFC 6962 root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identity of the log, e.g. `pishkhan.example/inquiry-log`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash at `size`.
    pub root: Hash,
}

/// Why a checkpoint body could not be produced or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The origin contains a control character (newline, CR, ...).
    #[error("checkpoint origin contains a control character")]
    InvalidOrigin,
    /// The body does not end with a newline.
    #[error("checkpoint body must end with a newline")]
    MissingFinalNewline,
    /// Fewer than three lines.
    #[error("checkpoint body must have origin, size and root lines")]
    MissingLines,
    /// Extension lines are present; Pishkhan checkpoints never carry any.
    #[error("checkpoint body has unexpected extension lines")]
    ExtensionLines,
    /// The size line is not canonical ASCII decimal fitting in u64.
    #[error("checkpoint size is not a canonical decimal number")]
    InvalidSize,
    /// The root line is not canonical standard base64 of 32 bytes.
    #[error("checkpoint root is not canonical base64 of 32 bytes")]
    InvalidRoot,
}

impl Checkpoint {
    /// `origin\nsize\nbase64(root)\n`, the exact bytes a log signs.
    pub fn to_note_body(&self) -> Result<String, CheckpointError> {
        check_origin(&self.origin)?;
        Ok(format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64_encode(&self.root)
        ))
    }

    /// Strict parser: exactly three lines, each newline-terminated; size in
    /// decimal without sign or leading zeros; root in canonical padded
    /// standard base64. Anything else is rejected, so that one checkpoint
    /// has exactly one accepted encoding.
    pub fn from_note_body(body: &str) -> Result<Self, CheckpointError> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(CheckpointError::MissingFinalNewline);
        };
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MissingLines);
        };
        if lines.next().is_some() {
            return Err(CheckpointError::ExtensionLines);
        }
        check_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size).ok_or(CheckpointError::InvalidSize)?,
            root: base64_decode(root)
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or(CheckpointError::InvalidRoot)?,
        })
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::EmptyOrigin);
    }
    // A newline would forge extra lines; other control characters have no
    // business in an identifier and could hide in logs and UIs.
    if origin.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidOrigin);
    }
    Ok(())
}

/// ASCII digits only (`u64::from_str` would also accept a leading `+`), no
/// leading zeros except for `0` itself.
fn parse_size(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 4648 §4 standard base64 with padding.
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded standard base64 and accepts only the canonical encoding
/// (checked by re-encoding), which rules out stray padding, whitespace and
/// non-zero trailing bits.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            let v = BASE64.iter().position(|&a| a == c)?;
            n = n << 6 | v as u32;
        }
        n <<= 6 * pad;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    (base64_encode(&out) == s).then_some(out)
}
