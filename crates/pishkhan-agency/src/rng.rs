//! Randomness and checksums of the population. The generator is `pishkhan-nation`'s counter-based
//! [`Stream`] (one copy of the demo data's PRNG): every attribute of every person is a pure
//! function of `(seed, index, tag)`, so person `i` is computed in O(1) without generating
//! persons `0..i`.

pub(crate) use pishkhan_nation::rng::{GOLDEN, Stream, mix64};

/// Tags that separate the independent streams of one seed.
pub(crate) mod tag {
    pub const PERSON: u64 = 1;
    pub const HOUSEHOLD: u64 = 2;
    pub const NAME: u64 = 3;
    pub const SURNAME: u64 = 4;
    pub const CODES: u64 = 5;
    pub const SAMPLE: u64 = 6;
    pub const ADDRESS: u64 = 7;
    pub const FATHER: u64 = 8;
}

/// A 64-bit checksum of bytes, eight at a time. It detects corruption and truncation; it is
/// not cryptographic (signatures are the exchange's job).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checksum(u64);

impl Checksum {
    pub(crate) const fn new() -> Self {
        Self(0x5049_5348_4B48_414E)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(23) ^ w).wrapping_mul(GOLDEN);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(23) ^ u64::from(b)).wrapping_mul(GOLDEN);
        }
        self.0 = h;
    }

    /// Folds in another checksum (of the next block) in order.
    pub(crate) fn combine(&mut self, next: u64) {
        self.0 = mix64(self.0 ^ next.wrapping_mul(GOLDEN));
    }

    pub(crate) fn finish(self) -> u64 {
        mix64(self.0)
    }
}

/// Checksum of one byte slice.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(bytes);
    c.finish()
}
