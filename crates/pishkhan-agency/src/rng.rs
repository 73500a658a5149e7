//! Counter-based randomness: every attribute of every person is a pure function of
//! `(seed, index, tag)`, so person `i` is computed in O(1) without generating persons `0..i`.
//!
//! The generator is written out here, like `pishkhan-nation`'s, so that the population never
//! changes when a dependency does: SplitMix64 (Steele, Lea and Flood; public domain reference by
//! Vigna) both as the mixing function and as the stream, and range mappings that do not depend
//! on the platform.

/// The SplitMix64 finalizer: a bijective mix of 64 bits.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

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

/// A SplitMix64 stream keyed by `(seed, index, tag)`.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    state: u64,
}

impl Stream {
    pub(crate) const fn new(seed: u64, index: u64, tag: u64) -> Self {
        let k = mix64(seed ^ mix64(tag.wrapping_mul(GOLDEN) ^ 0x5053_484B_4147_4E54));
        Self {
            state: mix64(k ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in `0..n` by multiply-shift. The bias is below `n / 2^64`, far under anything a
    /// demo population can show, and the mapping needs no rejection loop.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// `true` with probability `per_mille / 1000`, exactly.
    pub(crate) fn per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// An index into a list of `len` items, skewed towards the front (the minimum of two
    /// uniform draws): name tables are ordered by popularity, so `محمد` and `فاطمه` come up
    /// far more often than the names at the end.
    pub(crate) fn skewed(&mut self, len: usize) -> usize {
        let a = self.below(len as u64);
        let b = self.below(len as u64);
        a.min(b) as usize
    }

    /// An index chosen with probability proportional to `weights[i]`.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        self.weighted_by(weights.len(), |i| weights[i])
    }

    /// An index `< len` chosen with probability proportional to `weight(i)`.
    pub(crate) fn weighted_by(&mut self, len: usize, weight: impl Fn(usize) -> u32) -> usize {
        let total: u64 = (0..len).map(|i| u64::from(weight(i))).sum();
        let mut x = self.below(total);
        for i in 0..len {
            let w = u64::from(weight(i));
            if x < w {
                return i;
            }
            x -= w;
        }
        len - 1
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_pinned_and_independent() {
        // SplitMix64 reference output for state 0 (Vigna's splitmix64.c).
        assert_eq!(mix64(GOLDEN), 0xE220_A839_7B1D_CDAF);
        let a: Vec<u64> = {
            let mut s = Stream::new(1405, 7, tag::PERSON);
            (0..4).map(|_| s.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut s = Stream::new(1405, 7, tag::PERSON);
            (0..4).map(|_| s.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut c = Stream::new(1405, 7, tag::HOUSEHOLD);
        assert_ne!(a[0], c.next_u64());
        let mut d = Stream::new(1405, 8, tag::PERSON);
        assert_ne!(a[0], d.next_u64());
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut s = Stream::new(1, 2, 3);
        for _ in 0..10_000 {
            assert!(s.below(3) < 3);
            assert!((5..=9).contains(&s.range(5, 9)));
            assert!(s.skewed(4) < 4);
        }
        assert_eq!(s.weighted(&[0, 5, 0]), 1);
    }
}
