//! A small deterministic random generator (xorshift64*) for simulated traffic, workloads and
//! property tests: the same seed gives the same sequence, so failures reproduce. Not for
//! secrets (those come from the operating system). A leaf: depends on nothing in the workspace.

/// xorshift64* (Vigna, 2016): fast, 64 bits of state, good enough for simulations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`; 0 (a fixed point of xorshift) is taken as 1.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, n)`; `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Uniform in `[low, high)`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.unit() * (high - low) as f64) as i64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence_and_units_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let unit = a.unit();
            assert_eq!(unit.to_bits(), b.unit().to_bits());
            assert!((0.0..1.0).contains(&unit));
            let n = a.between(-5, 5);
            assert_eq!(n, b.between(-5, 5));
            assert!((-5..5).contains(&n));
        }
        assert_ne!(Rng::new(0).next_u64(), 0, "seed 0 would stay 0 forever");
    }
}
