//! A small deterministic pseudo-random generator.
//!
//! The demo nation must be identical on every machine and forever: screenshots, tests and
//! the demo logins' office all depend on it. An external crate such as `rand` may change its
//! algorithms or value-to-range mappings between versions, so the generator is written out
//! here: SplitMix64 to expand the seed, xoshiro256** for the stream (both by Blackman and
//! Vigna, public domain), and range mappings that never depend on the platform.

/// xoshiro256** seeded through SplitMix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

/// One step of SplitMix64: advances `state` and returns the next output.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for `seed`. Every seed, zero included, gives a non-zero state.
    pub(crate) fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { s }
    }

    /// An independent stream for one part of the nation, so that adding draws to one part
    /// (say, office addresses) does not reshuffle another (say, staff names).
    pub(crate) fn fork(seed: u64, stream: u64) -> Self {
        let mut sm = seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F);
        Self::new(splitmix64(&mut sm))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-and-reject, exact for every `n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        debug_assert!(lo <= hi);
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// Uniform index into a slice of length `len`.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[-r, r)`.
    pub(crate) fn jitter(&mut self, r: f64) -> f64 {
        (self.unit() * 2.0 - 1.0) * r
    }

    /// `true` with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index chosen with probability proportional to `weights[i]`.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        unreachable!("x < total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs for seed 0 are pinned: if this fails, every generated nation changed.
    #[test]
    fn stream_is_pinned() {
        let mut sm = 0u64;
        // Reference values of SplitMix64 from Vigna's splitmix64.c for seed 0.
        assert_eq!(splitmix64(&mut sm), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut sm), 0x6E78_9E6A_A1B9_65F4);
        let mut r = Rng::new(1405);
        let a: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        let mut r2 = Rng::new(1405);
        let b: Vec<u64> = (0..4).map(|_| r2.next_u64()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            assert!(r.below(3) < 3);
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.weighted(&[0, 5, 0]), 1);
    }
}
