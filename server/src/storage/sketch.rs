//! The histogram sketch: log-spaced bins (after DDSketch) with a bounded relative error.
//!
//! The write script puts an observation `x > 0` into bin `p<i>` with `i = ceil(ln x / ln γ)`
//! (negative values into `n<i>` by magnitude, zero into `z`). Every value in bin `i` lies in
//! `(γ^(i-1), γ^i]`, so reporting `2γ^i / (γ + 1)` is off by at most `(γ - 1) / (γ + 1)`,
//! [`RELATIVE_ERROR`], relative. Bins merge by adding counts, so the sketch of a range is the sum
//! of its buckets' sketches and a quantile over any range keeps the same bound.

use std::collections::BTreeMap;

/// Relative accuracy of reported quantiles.
pub const RELATIVE_ERROR: f64 = 0.01;
/// `ln γ` with `γ = (1 + α) / (1 - α)`.
pub const LN_GAMMA: f64 = 0.020_000_666_706_669_435;

/// Most bins a sketch can hold: every bin index a finite value (subnormals included) falls in,
/// for either sign, and the zero bin. A sketch's size is bounded by this whatever is written.
pub const MAX_BINS: usize = 2 * 72_709 + 1;

/// The bin the write script puts `x` in (`p12`, `n-3`, `z`); for sketches livedash fills from
/// Rust (funnel step times).
#[must_use]
pub fn bin_name(x: f64) -> String {
    if x > 0.0 {
        format!("p{}", (x.ln() / LN_GAMMA).ceil() as i64)
    } else if x < 0.0 {
        format!("n{}", ((-x).ln() / LN_GAMMA).ceil() as i64)
    } else {
        "z".into()
    }
}

/// A merged sketch: bin index (signed by value sign) to count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    /// Negative values by magnitude bin.
    negative: BTreeMap<i64, u64>,
    /// Exact zeros.
    zeros: u64,
    /// Positive values by bin.
    positive: BTreeMap<i64, u64>,
}

impl Sketch {
    /// Adds one stored bin (`p12`, `n-3`, `z`) with its count.
    ///
    /// # Errors
    /// The bin name is not one the write script produces.
    pub fn add_bin(&mut self, bin: &str, count: u64) -> Result<(), String> {
        let parse = |index: &str| {
            index
                .parse::<i64>()
                .map_err(|_| format!("bad sketch bin {bin:?}"))
        };
        match bin.split_at_checked(1) {
            Some(("p", index)) => *self.positive.entry(parse(index)?).or_default() += count,
            Some(("n", index)) => *self.negative.entry(parse(index)?).or_default() += count,
            Some(("z", "")) => self.zeros += count,
            _ => return Err(format!("bad sketch bin {bin:?}")),
        }
        Ok(())
    }

    /// Adds every bin of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        for (bin, count) in &other.positive {
            *self.positive.entry(*bin).or_default() += count;
        }
        for (bin, count) in &other.negative {
            *self.negative.entry(*bin).or_default() += count;
        }
        self.zeros += other.zeros;
    }

    /// Each bin's representative value (within [`RELATIVE_ERROR`] of every value in it) and its
    /// count, in ascending value order.
    pub fn values(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let gamma = LN_GAMMA.exp();
        let value_of = move |bin: i64| 2.0 * gamma.powf(bin as f64) / (gamma + 1.0);
        self.negative
            .iter()
            .rev()
            .map(move |(bin, count)| (-value_of(*bin), *count))
            .chain((self.zeros > 0).then_some((0.0, self.zeros)))
            .chain(
                self.positive
                    .iter()
                    .map(move |(bin, count)| (value_of(*bin), *count)),
            )
    }

    /// How many observations it holds.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.negative.values().sum::<u64>() + self.zeros + self.positive.values().sum::<u64>()
    }

    /// The `q` quantile (0 ≤ q ≤ 1), within [`RELATIVE_ERROR`] of the exact one; `None` when
    /// empty. The rank is the lower one, `floor(q (n - 1))`, as in DDSketch.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (total - 1) as f64).floor() as u64;
        let gamma = LN_GAMMA.exp();
        let value_of = |bin: i64| 2.0 * gamma.powf(bin as f64) / (gamma + 1.0);
        let mut seen = 0;
        // Ascending value order: large-magnitude negatives first.
        for (bin, count) in self.negative.iter().rev() {
            seen += count;
            if seen > rank {
                return Some(-value_of(*bin));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for (bin, count) in &self.positive {
            seen += count;
            if seen > rank {
                return Some(value_of(*bin));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constant matches its definition.
    #[test]
    fn gamma_constant() {
        let gamma = (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR);
        assert!((gamma.ln() - LN_GAMMA).abs() < 1e-15);
    }

    /// Finite values fall into the bins [`MAX_BINS`] counts.
    #[test]
    fn bins_are_bounded() {
        let index = |x: f64| bin_name(x)[1..].parse::<i64>().unwrap();
        let (low, high) = (index(f64::from_bits(1)), index(f64::MAX));
        assert_eq!(2 * usize::try_from(high - low + 1).unwrap() + 1, MAX_BINS);
    }

    /// Quantiles of a sketch built the way the script bins are within the bound of exact ones.
    #[test]
    fn quantiles_within_relative_error() {
        let values: Vec<f64> = (1..=10_000)
            .map(|i| (f64::from(i) * 0.37).powf(1.3) - 40.0)
            .collect();
        let mut sketch = Sketch::default();
        for x in &values {
            sketch.add_bin(&bin_name(*x), 1).unwrap();
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = sorted[(q * (sorted.len() - 1) as f64).floor() as usize];
            let estimate = sketch.quantile(q).unwrap();
            assert!(
                (estimate - exact).abs() <= RELATIVE_ERROR * exact.abs() + 1e-12,
                "q={q}: {estimate} vs {exact}"
            );
        }
        assert_eq!(Sketch::default().quantile(0.5), None);
        assert!(sketch.add_bin("x1", 1).is_err());
    }
}
