//! The canonical byte encodings behind the published digests (see the crate docs).

use sha2::{Digest, Sha256};

pub const INPUTS_TAG: &[u8] = b"pishkhan-release inputs v1\0";
pub const ALLOCATION_TAG: &[u8] = b"pishkhan-release allocation v1\0";

/// A SHA-256 writer with a buffer, so that millions of tiny fields cost one `update` per
/// 64 KiB rather than one each.
pub struct Canon {
    hasher: Sha256,
    buf: Vec<u8>,
}

const FLUSH_AT: usize = 64 * 1024;

impl Canon {
    pub fn new(tag: &[u8]) -> Self {
        let mut c = Self {
            hasher: Sha256::new(),
            buf: Vec::with_capacity(FLUSH_AT + 64),
        };
        c.bytes(tag);
        c
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= FLUSH_AT {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// A length-prefixed string.
    pub fn str(&mut self, s: &str) {
        let len = u32::try_from(s.len()).expect("canonical strings are short");
        self.u32(len);
        self.bytes(s.as_bytes());
    }

    pub fn finish_hex(mut self) -> String {
        self.hasher.update(&self.buf);
        hex::encode(self.hasher.finalize())
    }
}

/// A national code as a number: ten digits fit a `u64`, and numeric order is the order of the
/// zero-padded strings.
pub fn code_to_u64(digits: &str) -> u64 {
    digits
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b.wrapping_sub(b'0')))
}

/// The ten ASCII digits of a national code held as a number.
pub fn u64_to_digits(mut n: u64) -> [u8; 10] {
    let mut out = [b'0'; 10];
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}
