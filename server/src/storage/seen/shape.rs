//! The shape of a Bloom filter (bits and hash functions) for an expected number of users and a
//! target false-positive rate, where a user's bits are, and the false-positive rate a filter
//! has once some of its bits are set.

/// A Bloom filter's size and number of hash functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub bits: u64,
    pub hashes: u32,
}

/// Redis's largest bitmap: 512 MB.
const MAX_BITS: u64 = 1 << 32;

impl Shape {
    /// The smallest filter holding `users` with a false-positive rate of `rate` (the textbook
    /// optimum: `m = -n ln p / (ln 2)^2` bits and `k = (m / n) ln 2` hash functions).
    #[must_use]
    pub fn for_users(users: u64, rate: f64) -> Self {
        let users = users.max(1) as f64;
        let ln2 = std::f64::consts::LN_2;
        let bits = (-users * rate.ln() / (ln2 * ln2))
            .ceil()
            .clamp(64.0, MAX_BITS as f64);
        let hashes = (bits / users * ln2).round().clamp(1.0, 30.0);
        Self {
            bits: bits as u64,
            hashes: hashes as u32,
        }
    }

    /// The same filter cut in `parts` (each user's bits all in one part: the part of its own
    /// partition), each part a `parts`-th of the bits, so every part keeps the rate.
    #[must_use]
    pub fn part(self, parts: usize) -> Self {
        Self {
            bits: self.bits.div_ceil(parts.max(1) as u64).max(64),
            hashes: self.hashes,
        }
    }

    /// The bits of `user`: Kirsch and Mitzenmacher's double hashing over two 64-bit halves of
    /// its BLAKE3 hash, which keeps a Bloom filter's rate with two hashes instead of `k`.
    #[must_use]
    pub fn positions(self, user: &str) -> Vec<u64> {
        let hash = blake3::hash(user.as_bytes());
        let bytes = hash.as_bytes();
        let half = |at: usize| {
            let mut word = [0_u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let (first, second) = (half(0), half(8) | 1);
        (0..u64::from(self.hashes))
            .map(|i| first.wrapping_add(i.wrapping_mul(second)) % self.bits)
            .collect()
    }

    /// The false-positive rate of this filter with `set` of its bits set: the chance that a
    /// user never added finds all of its bits set.
    #[must_use]
    pub fn false_positive_rate(self, set: u64) -> f64 {
        (set as f64 / self.bits as f64).powi(self.hashes as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_users_at_one_percent_take_about_1_2_megabytes_and_seven_hashes() {
        let shape = Shape::for_users(1_000_000, 0.01);
        assert_eq!(shape.hashes, 7);
        assert!((9_585_000..9_586_000).contains(&shape.bits), "{shape:?}");
        let part = shape.part(8);
        assert_eq!(part.bits, shape.bits.div_ceil(8));
        assert_eq!(part.hashes, 7);
    }

    #[test]
    fn positions_are_stable_distinct_and_in_range() {
        let shape = Shape::for_users(1_000, 0.001);
        let positions = shape.positions("user-1");
        assert_eq!(positions, shape.positions("user-1"));
        assert_eq!(positions.len(), shape.hashes as usize);
        assert!(positions.iter().all(|p| *p < shape.bits));
        assert_ne!(positions, shape.positions("user-2"));
    }

    #[test]
    fn the_rate_follows_the_share_of_bits_set() {
        let shape = Shape {
            bits: 1_000,
            hashes: 3,
        };
        assert_eq!(shape.false_positive_rate(0), 0.0);
        assert!((shape.false_positive_rate(500) - 0.125).abs() < 1e-12);
        assert_eq!(shape.false_positive_rate(1_000), 1.0);
    }
}
