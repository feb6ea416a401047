//! Conversion experiments: [`wilson_interval`], [`difference_interval`] (Newcombe),
//! [`two_proportion_p_value`], [`always_valid_p_value`] (mSPRT), [`too_small`], and
//! [`experiment_results`] which bundles them per variant.

use crate::analytics::normal::{Z_95, normal_cdf};

/// Users exposed to one variant and how many of them converted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantCounts {
    /// Distinct users assigned to (and exposed to) the variant.
    pub users: u64,
    /// Of those, users who converted at least once.
    pub conversions: u64,
}

impl VariantCounts {
    /// Counts for one variant.
    #[must_use]
    pub const fn new(users: u64, conversions: u64) -> Self {
        Self { users, conversions }
    }

    /// The conversion rate, or `None` without users. Conversions are capped at users.
    #[must_use]
    pub fn rate(self) -> Option<f64> {
        let c = self.clamped();
        (c.users > 0).then(|| count_f64(c.conversions) / count_f64(c.users))
    }

    /// Counts from separately aggregated streams can briefly show more conversions than users;
    /// treating that as "all converted" keeps every formula finite instead of producing NaN.
    fn clamped(self) -> Self {
        let conversions = self.conversions.min(self.users);
        Self {
            conversions,
            ..self
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
const fn count_f64(n: u64) -> f64 {
    n as f64
}

/// Wilson score interval for a conversion rate, with `z` the two-sided critical value (e.g.
/// [`Z_95`]).
///
/// Unlike the Wald interval it stays inside `[0, 1]` and keeps sensible coverage for rates near
/// 0 or 1. Without users it is the uninformative `(0, 1)`; with no conversions the lower bound is
/// exactly 0, and with all users converted the upper bound is exactly 1. Conversions are capped
/// at `users`.
#[must_use]
pub fn wilson_interval(conversions: u64, users: u64, z: f64) -> (f64, f64) {
    if users == 0 {
        return (0.0, 1.0);
    }
    let conversions = conversions.min(users);
    let n = count_f64(users);
    let p = count_f64(conversions) / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z.abs() / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // The closed form only reaches 0 and 1 up to rounding; the exact bounds there are 0 and 1.
    let lower = if conversions == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if conversions == users {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lower, upper)
}

/// Confidence interval for `rate(variant) - rate(control)`.
///
/// Newcombe's hybrid score interval ("method 10" in R. G. Newcombe, "Interval estimation for the
/// difference between independent proportions", Stat. Med. 17 (1998)): it combines the two
/// Wilson intervals, so it inherits their good behaviour with small counts and rates near 0 or 1,
/// where the simple Wald interval undercovers. If either arm has no users the difference is
/// unknown and the interval is the whole range `(-1, 1)`.
#[must_use]
pub fn difference_interval(control: VariantCounts, variant: VariantCounts, z: f64) -> (f64, f64) {
    let (Some(rate_c), Some(rate_v)) = (control.rate(), variant.rate()) else {
        return (-1.0, 1.0);
    };
    let (low_c, high_c) = wilson_interval(control.conversions, control.users, z);
    let (low_v, high_v) = wilson_interval(variant.conversions, variant.users, z);
    let diff = rate_v - rate_c;
    let lower = diff - (rate_v - low_v).hypot(high_c - rate_c);
    let upper = diff + (high_v - rate_v).hypot(rate_c - low_c);
    (lower.max(-1.0), upper.min(1.0))
}

/// Two-sided p-value of the pooled two-proportion z-test (no continuity correction).
///
/// Valid for one look at a sample size fixed in advance; for live dashboards use
/// [`always_valid_p_value`]. `None` when the test is undefined: an arm without users, or nobody
/// (or everybody) converted in both arms together.
#[must_use]
pub fn two_proportion_p_value(control: VariantCounts, variant: VariantCounts) -> Option<f64> {
    let (c, v) = (control.clamped(), variant.clamped());
    if c.users == 0 || v.users == 0 {
        return None;
    }
    let total_users = c.users.checked_add(v.users)?;
    let total_conversions = c.conversions.checked_add(v.conversions)?;
    if total_conversions == 0 || total_conversions == total_users {
        return None;
    }
    let pooled = count_f64(total_conversions) / count_f64(total_users);
    let (n_c, n_v) = (count_f64(c.users), count_f64(v.users));
    let se = (pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_v)).sqrt();
    let z = (count_f64(v.conversions) / n_v - count_f64(c.conversions) / n_c) / se;
    // 2·Φ(-|z|), not 2·(1 - Φ(|z|)), which would cancel for small p-values.
    Some((2.0 * normal_cdf(-z.abs())).min(1.0))
}

/// Default mixing variance τ² for [`always_valid_p_value`]: τ = 0.01, one percentage point of
/// absolute difference.
///
/// The mSPRT is valid for every τ; τ only decides which effect sizes it detects fastest, roughly
/// those of size τ (Johari et al. recommend matching τ to the effects seen in past experiments
/// and report that performance degrades slowly when it is off by a small factor). Product
/// conversion experiments typically move rates by a fraction of a point to a few points, so one
/// point is a middle-of-the-road default. Override it per metric when history says otherwise.
pub const DEFAULT_TAU2: f64 = 1e-4;

/// Always-valid p-value for "variant and control convert at the same rate", safe to watch live.
///
/// This is the mixture sequential probability ratio test (mSPRT) of R. Johari, L. Pekelis,
/// D. Walsh, "Always valid inference: bringing sequential analysis to A/B testing" (the KDD 2017
/// paper "Peeking at A/B tests"). With `d = p̂_v - p̂_c`, its plug-in variance
/// `V = p̂_c(1-p̂_c)/n_c + p̂_v(1-p̂_v)/n_v`, the normal approximation `d ~ N(θ, V)`, and a
/// `N(0, tau2)` mixture over the true difference θ, the likelihood ratio against θ = 0 is
///
/// `Λ = sqrt(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²)))`,
///
/// which for equal arms of `n` users is the paper's `sqrt(σ²/(σ²+nτ²)) · exp(n²τ²d²/(2σ²(σ²+nτ²)))`.
/// The function returns `min(1, 1/Λ)` **for the current look only**. The always-valid p-value is
/// the running minimum over all looks so far, `p_n = min(p_{n-1}, 1/Λ_n)`: the caller must keep
/// the smallest value seen for the experiment (and restart it if `tau2` or the metric changes).
/// Declaring a winner the first time that running minimum drops below α keeps the false-positive
/// rate at about α however often the dashboard refreshes (Ville's inequality); "about" because of
/// the normal approximation and the plug-in variance, so pair it with [`too_small`].
///
/// `None` when an arm has no users, `tau2` is not a positive finite number, or `V = 0` (both arms
/// at 0 % or 100 %, where the normal approximation says nothing).
#[must_use]
pub fn always_valid_p_value(
    control: VariantCounts,
    variant: VariantCounts,
    tau2: f64,
) -> Option<f64> {
    if !tau2.is_finite() || tau2 <= 0.0 {
        return None;
    }
    let (rate_c, rate_v) = (control.rate()?, variant.rate()?);
    let var = rate_c * (1.0 - rate_c) / count_f64(control.users)
        + rate_v * (1.0 - rate_v) / count_f64(variant.users);
    if var <= 0.0 || !var.is_finite() {
        return None;
    }
    let diff = rate_v - rate_c;
    // In logs, so that overwhelming evidence gives a p-value of 0 rather than inf/inf.
    let log_lambda =
        0.5 * (var / (var + tau2)).ln() + tau2 * diff * diff / (2.0 * var * (var + tau2));
    Some((-log_lambda).exp().min(1.0))
}

/// Fewest users per arm before the normal approximation is trusted.
pub const MIN_USERS_PER_ARM: u64 = 100;
/// Fewest conversions, and fewest non-conversions, per arm (the usual `np >= 10` rule).
pub const MIN_OUTCOMES_PER_ARM: u64 = 10;

/// A plain-language warning when the counts are too small for the normal approximation behind the
/// intervals and p-values, or `None` when they are large enough.
///
/// An arm is too small with fewer than [`MIN_USERS_PER_ARM`] users, or fewer than
/// [`MIN_OUTCOMES_PER_ARM`] conversions or non-conversions. Every failing reason is named.
#[must_use]
pub fn too_small(control: VariantCounts, variant: VariantCounts) -> Option<String> {
    small_sample_warning("control", control, "variant", variant)
}

fn small_sample_warning(
    control_name: &str,
    control: VariantCounts,
    variant_name: &str,
    variant: VariantCounts,
) -> Option<String> {
    let mut reasons = Vec::new();
    for (name, arm) in [(control_name, control), (variant_name, variant)] {
        let arm = arm.clamped();
        for (count, what, min) in [
            (arm.users, "users", MIN_USERS_PER_ARM),
            (arm.conversions, "conversions", MIN_OUTCOMES_PER_ARM),
            (
                arm.users - arm.conversions,
                "users who did not convert",
                MIN_OUTCOMES_PER_ARM,
            ),
        ] {
            if count < min {
                reasons.push(format!("{name} has {count} {what}, need at least {min}"));
            }
        }
    }
    if reasons.is_empty() {
        return None;
    }
    Some(format!(
        "Sample too small for reliable statistics: {}.",
        reasons.join("; ")
    ))
}

/// One row of an experiment's results table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VariantResult {
    /// Variant name as given.
    pub name: String,
    /// Users in the variant.
    pub users: u64,
    /// Converted users (capped at `users`).
    pub conversions: u64,
    /// Conversion rate, `None` without users.
    pub rate: Option<f64>,
    /// 95 % Wilson interval for the rate.
    pub rate_interval: (f64, f64),
    /// `rate - control rate`; `None` for the control or when either arm has no users.
    pub difference: Option<f64>,
    /// 95 % Newcombe interval for `difference`.
    pub difference_interval: Option<(f64, f64)>,
    /// Fixed-horizon two-sided p-value against the control.
    pub p_value: Option<f64>,
    /// Always-valid p-value at this look with [`DEFAULT_TAU2`]; keep the running minimum.
    pub always_valid_p_value: Option<f64>,
    /// [`too_small`]'s warning for this variant against the control.
    pub warning: Option<String>,
}

/// Per-variant results; the first entry is the control and every other one is compared with it.
///
/// Each comparison is made at 95 % on its own: with several variants, no multiple-comparison
/// correction is applied, which the UI should say.
#[must_use]
pub fn experiment_results(variants: &[(String, VariantCounts)]) -> Vec<VariantResult> {
    let Some((control_name, control)) = variants.first() else {
        return Vec::new();
    };
    let control = control.clamped();
    variants
        .iter()
        .enumerate()
        .map(|(index, (name, counts))| {
            let counts = counts.clamped();
            let mut row = VariantResult {
                name: name.clone(),
                users: counts.users,
                conversions: counts.conversions,
                rate: counts.rate(),
                rate_interval: wilson_interval(counts.conversions, counts.users, Z_95),
                difference: None,
                difference_interval: None,
                p_value: None,
                always_valid_p_value: None,
                warning: None,
            };
            if index > 0 {
                if let (Some(rate_c), Some(rate_v)) = (control.rate(), counts.rate()) {
                    row.difference = Some(rate_v - rate_c);
                    row.difference_interval = Some(difference_interval(control, counts, Z_95));
                }
                row.p_value = two_proportion_p_value(control, counts);
                row.always_valid_p_value = always_valid_p_value(control, counts, DEFAULT_TAU2);
                row.warning = small_sample_warning(control_name, control, name, counts);
            }
            row
        })
        .collect()
}

/// The p-value of a chi-square goodness-of-fit test of the users per variant against the
/// variants' weights: how likely a split at least this far from the weights is when assignment
/// works as designed. A very small value (below 0.001, say) is a sample-ratio mismatch:
/// something loses or double-counts the users of some variants, and the experiment's results
/// cannot be trusted. `None` without users, with counts and weights that do not pair up, or
/// with fewer than two variants of positive weight; 0 when a variant of weight 0 has users.
#[must_use]
pub fn sample_ratio_p_value(users: &[u64], weights: &[u32]) -> Option<f64> {
    let total_weight: f64 = weights.iter().map(|w| f64::from(*w)).sum();
    let total_users: f64 = users.iter().map(|u| count_f64(*u)).sum();
    if users.len() != weights.len() || total_users <= 0.0 || total_weight <= 0.0 {
        return None;
    }
    let mut statistic = 0.0;
    let mut cells = 0_usize;
    for (users, weight) in users.iter().zip(weights) {
        if *weight == 0 {
            if *users > 0 {
                return Some(0.0);
            }
            continue;
        }
        let expected = total_users * f64::from(*weight) / total_weight;
        statistic += (count_f64(*users) - expected).powi(2) / expected;
        cells += 1;
    }
    (cells >= 2).then(|| chi_square_survival(statistic, cells - 1))
}

/// `P(X >= x)` for `X` chi-square with `dof` (at least 1) degrees of freedom, in closed form:
/// for even `dof`, `e^(-x/2) Σ_{i < dof/2} (x/2)^i / i!`; for odd, `2 (1 - Φ(√x)) +
/// √(2/π) e^(-x/2) Σ_{i=1}^{(dof-1)/2} x^(i-1/2) / (1·3·…·(2i-1))`.
#[must_use]
pub fn chi_square_survival(x: f64, dof: usize) -> f64 {
    if x.is_nan() || x <= 0.0 || dof == 0 {
        return 1.0;
    }
    let half = x / 2.0;
    let value = if dof.is_multiple_of(2) {
        let (mut term, mut sum) = (1.0, 1.0);
        for i in 1..dof / 2 {
            term *= half / count_f64(i as u64);
            sum += term;
        }
        (-half).exp() * sum
    } else {
        let root = x.sqrt();
        let mut term = root * (2.0 / std::f64::consts::PI).sqrt() * (-half).exp();
        let mut sum = 0.0;
        for i in 1..=(dof - 1) / 2 {
            sum += term;
            term *= x / count_f64(2 * i as u64 + 1);
        }
        2.0 * normal_cdf(-root) + sum
    };
    value.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::float_cmp,
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        reason = "tests compare exact values on purpose and convert small counts"
    )]

    use super::*;
    use crate::analytics::test_support::close;
    use crate::random::Rng;

    fn close_pair(actual: (f64, f64), expected: (f64, f64), abs: f64) {
        let ok = (actual.0 - expected.0).abs() <= abs && (actual.1 - expected.1).abs() <= abs;
        assert!(ok, "{actual:?} vs {expected:?}");
    }

    fn vc(users: u64, conversions: u64) -> VariantCounts {
        VariantCounts::new(users, conversions)
    }

    fn val(value: Option<f64>) -> f64 {
        value.unwrap_or(f64::NAN)
    }

    // python: import math; z = 1.9599639845400543  # Z_95
    //   def wilson(x, n, z):
    //       p = x/n; d = 1 + z*z/n; c = (p + z*z/(2*n))/d
    //       h = z/d*math.sqrt(p*(1-p)/n + z*z/(4*n*n)); return (c - h, c + h)
    //   def newcombe(xc, nc, xv, nv, z):
    //       pc, pv = xc/nc, xv/nv; lc, uc = wilson(xc, nc, z); lv, uv = wilson(xv, nv, z)
    //       d = pv - pc
    //       return (d - math.sqrt((pv-lv)**2 + (uc-pc)**2), d + math.sqrt((uv-pv)**2 + (pc-lc)**2))
    #[rustfmt::skip]
    const WILSON_REFERENCE: [(u64, u64, (f64, f64)); 4] = [
        (56, 70, (0.691_833_555_037_469_5, 0.876_952_607_516_370_5)),
        (48, 80, (0.490_454_650_051_603_9, 0.700_381_724_041_290_6)),
        (0, 10, (0.0, 0.277_532_799_862_889_3)),
        (10, 10, (0.722_467_200_137_110_7, 1.0)),
    ];

    #[test]
    fn wilson_and_newcombe_match_python() {
        for (conversions, users, want) in WILSON_REFERENCE {
            close_pair(wilson_interval(conversions, users, Z_95), want, 1e-14);
        }
        // Newcombe (1998), worked examples: 56/70 vs 48/80 gives 0.0524 to 0.3339, and 5/56 vs
        // 0/29 gives -0.0381 to 0.1926. Full digits from the python above.
        let ci = difference_interval(vc(80, 48), vc(70, 56), Z_95);
        close_pair(ci, (0.052_431_472_402_364_98, 0.333_872_654_036_906), 1e-14);
        let ci = difference_interval(vc(29, 0), vc(56, 5), Z_95);
        let want = (-0.038_137_147_903_536_91, 0.192_560_013_855_111_62);
        close_pair(ci, want, 1e-14);
        assert_eq!(difference_interval(vc(0, 0), vc(10, 5), Z_95), (-1.0, 1.0));
    }

    #[test]
    fn wilson_edge_cases() {
        assert_eq!(wilson_interval(0, 0, Z_95), (0.0, 1.0));
        assert_eq!(wilson_interval(5, 0, Z_95), (0.0, 1.0));
        let (lo, hi) = wilson_interval(0, 1_000, Z_95);
        assert!(lo == 0.0 && hi > 0.0 && hi < 0.01);
        let (lo, hi) = wilson_interval(1_000, 1_000, Z_95);
        assert!(hi == 1.0 && lo > 0.99 && lo < 1.0);
        // More conversions than users is read as "all converted".
        assert_eq!(wilson_interval(12, 10, Z_95), wilson_interval(10, 10, Z_95));
        for n in 1..60_u64 {
            for x in 0..=n {
                let (lo, hi) = wilson_interval(x, n, Z_95);
                let p = x as f64 / n as f64;
                assert!(0.0 <= lo && lo <= p && p <= hi && hi <= 1.0, "{x}/{n}");
            }
        }
    }

    // python:
    //   def pval(xc, nc, xv, nv):
    //       p = (xc+xv)/(nc+nv); se = math.sqrt(p*(1-p)*(1/nc + 1/nv))
    //       return math.erfc(abs((xv/nv - xc/nc)/se)/math.sqrt(2))
    //   def msprt(xc, nc, xv, nv, t2):
    //       pc, pv = xc/nc, xv/nv; V = pc*(1-pc)/nc + pv*(1-pv)/nv; d = pv - pc
    //       l = 0.5*math.log(V/(V+t2)) + t2*d*d/(2*V*(V+t2)); return min(1.0, math.exp(-l))
    #[test]
    fn p_values_match_python() {
        let (c, v) = (vc(1_000, 200), vc(1_000, 240));
        let (big_c, big_v) = (vc(10_000, 1_000), vc(10_000, 1_100));
        let (small_c, small_v) = (vc(80, 48), vc(70, 56));
        // Overwhelming evidence must underflow to 0 rather than give NaN.
        let (huge_c, huge_v) = (vc(1 << 40, 1 << 38), vc(1 << 40, 1 << 39));
        for (got, want) in [
            (two_proportion_p_value(c, v), 0.030_837_167_828_904_333),
            (
                two_proportion_p_value(small_c, small_v),
                0.008_045_081_368_196_568,
            ),
            (two_proportion_p_value(vc(500, 50), vc(1_000, 100)), 1.0),
            (always_valid_p_value(c, v, 1e-4), 0.670_311_378_085_230_3),
            (
                always_valid_p_value(big_c, big_v, 1e-4),
                0.267_653_290_087_532_6,
            ),
            (always_valid_p_value(big_c, big_c, 1e-4), 1.0),
            (always_valid_p_value(huge_c, huge_v, 1e-4), 0.0),
        ] {
            close(val(got), want, 1e-12);
        }
        for undefined in [
            two_proportion_p_value(vc(0, 0), vc(9, 3)),
            two_proportion_p_value(vc(9, 0), vc(9, 0)),
            two_proportion_p_value(vc(9, 9), vc(9, 9)),
            always_valid_p_value(c, v, 0.0),
            always_valid_p_value(c, v, f64::NAN),
            always_valid_p_value(vc(0, 0), v, 1e-4),
            always_valid_p_value(vc(50, 0), vc(50, 0), 1e-4),
        ] {
            assert_eq!(undefined, None);
        }
    }

    /// A/A tests watched after every batch of 200 users: the running minimum of the always-valid
    /// p-value keeps the nominal 5 % false-positive rate while peeking at the fixed-horizon
    /// p-value does not; and a real 3-point lift is still found.
    #[test]
    fn always_valid_survives_peeking() {
        let mut rng = Rng::new(0x1234_5678_9abc_def1);
        let mut run = |rate_c: f64, rate_v: f64| {
            let (mut c, mut v) = (vc(0, 0), vc(0, 0));
            let (mut naive, mut running_min) = (false, 1.0_f64);
            for n in 1..=10_000 {
                (c.users, v.users) = (c.users + 1, v.users + 1);
                c.conversions += u64::from(rng.unit() < rate_c);
                v.conversions += u64::from(rng.unit() < rate_v);
                if n % 200 == 0 {
                    naive |= two_proportion_p_value(c, v).is_some_and(|p| p < 0.05);
                    let p = always_valid_p_value(c, v, DEFAULT_TAU2).unwrap_or(1.0);
                    running_min = running_min.min(p);
                }
            }
            (usize::from(naive), usize::from(running_min < 0.05))
        };
        let (mut naive_fp, mut valid_fp) = (0, 0);
        for _ in 0..300 {
            let (naive, valid) = run(0.1, 0.1);
            (naive_fp, valid_fp) = (naive_fp + naive, valid_fp + valid);
        }
        let detected: usize = (0..100).map(|_| run(0.1, 0.13).1).sum();
        assert!(naive_fp > 30, "naive peeking: {naive_fp}/300");
        assert!(valid_fp <= 18, "always-valid: {valid_fp}/300");
        assert!(detected >= 90, "power: {detected}/100");
    }

    #[test]
    fn too_small_names_reasons() {
        let big = vc(1_000, 100);
        assert_eq!(too_small(big, big), None);
        let warning = |c, v| too_small(c, v).unwrap_or_default();
        assert!(warning(vc(50, 25), big).contains("control has 50 users"));
        assert!(warning(big, vc(500, 5)).contains("variant has 5 conversions"));
        assert!(warning(big, vc(500, 495)).contains("variant has 5 users who did not convert"));
        assert_eq!(warning(vc(0, 0), big).matches("control has").count(), 3);
    }

    #[test]
    fn experiment_results_bundles_everything() {
        let (c, v) = (vc(1_000, 200), vc(1_000, 240));
        let rows = experiment_results(&[("a".into(), c), ("b".into(), v), ("e".into(), vc(0, 0))]);
        let control = VariantResult {
            name: "a".into(),
            users: 1_000,
            conversions: 200,
            rate: Some(0.2),
            rate_interval: wilson_interval(200, 1_000, Z_95),
            difference: None,
            difference_interval: None,
            p_value: None,
            always_valid_p_value: None,
            warning: None,
        };
        let variant = VariantResult {
            name: "b".into(),
            conversions: 240,
            rate: Some(0.24),
            rate_interval: wilson_interval(240, 1_000, Z_95),
            difference: Some(0.24 - 0.2),
            difference_interval: Some(difference_interval(c, v, Z_95)),
            p_value: two_proportion_p_value(c, v),
            always_valid_p_value: always_valid_p_value(c, v, DEFAULT_TAU2),
            ..control.clone()
        };
        let empty = VariantResult {
            name: "e".into(),
            users: 0,
            conversions: 0,
            rate: None,
            rate_interval: (0.0, 1.0),
            warning: too_small(c, vc(0, 0)).map(|w| w.replace("variant", "e")),
            ..control.clone()
        };
        assert_eq!(rows, [control, variant, empty]);
        assert!(experiment_results(&[]).is_empty());
    }

    #[test]
    fn chi_square_tails_match_the_tables() {
        // The 5 % and 0.1 % critical values for 1 to 4 degrees of freedom.
        for (dof, x5, x01) in [
            (1, 3.841, 10.828),
            (2, 5.991, 13.816),
            (3, 7.815, 16.266),
            (4, 9.488, 18.467),
        ] {
            let p = chi_square_survival(x5, dof);
            assert!((p - 0.05).abs() < 2e-4, "dof {dof}: {p}");
            let p = chi_square_survival(x01, dof);
            assert!((p - 0.001).abs() < 2e-5, "dof {dof}: {p}");
        }
        assert!((chi_square_survival(0.0, 3) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn a_split_far_from_the_weights_is_a_sample_ratio_mismatch() {
        // 50/50 by design, 5 000 against 5 200: χ² = 3.92 on one degree of freedom.
        let p = sample_ratio_p_value(&[5_000, 5_200], &[1, 1]).unwrap();
        assert!((p - 0.0477).abs() < 1e-3, "{p}");
        let fair = sample_ratio_p_value(&[5_000, 5_010], &[1, 1]).unwrap();
        assert!(fair > 0.9, "{fair}");
        let skewed = sample_ratio_p_value(&[1_000, 1_400, 1_000], &[1, 1, 1]).unwrap();
        assert!(skewed < 1e-6, "{skewed}");
        // 90/10 by design and so it is.
        assert!(sample_ratio_p_value(&[9_000, 1_000], &[9, 1]).unwrap() > 0.99);
        assert_eq!(sample_ratio_p_value(&[0, 0], &[1, 1]), None);
        assert_eq!(sample_ratio_p_value(&[5, 1], &[1, 0]), Some(0.0));
        assert_eq!(sample_ratio_p_value(&[5], &[1, 1]), None);
    }
}
