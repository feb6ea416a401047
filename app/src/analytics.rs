//! Pure product-analytics logic: A/B test statistics, stable variant assignment and funnels.
//!
//! Everything here is deterministic, allocation-light and free of I/O so that the server and the
//! browser compute the same numbers. Only `std` is used; serialisation is the caller's business.
//!
//! # Contents
//! - Normal distribution: [`normal_cdf`] (W. J. Cody's erfc, ~1e-15 relative) and
//!   [`inverse_normal_cdf`] (Acklam's algorithm plus one Halley step).
//! - Conversion experiments: [`wilson_interval`], [`difference_interval`] (Newcombe),
//!   [`two_proportion_p_value`], [`always_valid_p_value`] (mSPRT), [`too_small`], and
//!   [`experiment_results`] which bundles them per variant.
//! - Assignment: [`assign_variant`], a documented hash so any language can reproduce it.
//! - Funnels: [`funnel_outcome`] and [`median`].

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

// --- Normal distribution -------------------------------------------------------------------------

/// Two-sided critical value for 95 % intervals: `inverse_normal_cdf(0.975)`.
pub const Z_95: f64 = 1.959_963_984_540_054_3;

/// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
/// as in Netlib SPECFUN `calerf`. Digits are kept as published so they can be checked against the
/// source; the compiler rounds them to the nearest f64.
#[rustfmt::skip]
#[allow(clippy::excessive_precision, reason = "coefficients kept exactly as published")]
mod cody {
    pub const A: [f64; 5] = [
        3.161_123_743_870_565_60, 1.138_641_541_510_501_56e2, 3.774_852_376_853_020_21e2,
        3.209_377_589_138_469_47e3, 1.857_777_061_846_031_53e-1,
    ];
    pub const B: [f64; 4] = [
        2.360_129_095_234_412_09e1, 2.440_246_379_344_441_73e2, 1.282_616_526_077_372_28e3,
        2.844_236_833_439_170_62e3,
    ];
    pub const C: [f64; 9] = [
        5.641_884_969_886_700_89e-1, 8.883_149_794_388_375_94, 6.611_919_063_714_162_95e1,
        2.986_351_381_974_001_31e2, 8.819_522_212_417_690_90e2, 1.712_047_612_634_070_58e3,
        2.051_078_377_826_071_47e3, 1.230_339_354_797_997_25e3, 2.153_115_354_744_038_46e-8,
    ];
    pub const D: [f64; 8] = [
        1.574_492_611_070_983_47e1, 1.176_939_508_913_124_99e2, 5.371_811_018_620_098_58e2,
        1.621_389_574_566_690_19e3, 3.290_799_235_733_459_63e3, 4.362_619_090_143_247_16e3,
        3.439_367_674_143_721_64e3, 1.230_339_354_803_749_42e3,
    ];
    pub const P: [f64; 6] = [
        3.053_266_349_612_323_44e-1, 3.603_448_999_498_044_39e-1, 1.257_817_261_112_292_46e-1,
        1.608_378_514_874_227_66e-2, 6.587_491_615_298_378_03e-4, 1.631_538_713_730_209_78e-2,
    ];
    pub const Q: [f64; 5] = [
        2.568_520_192_289_822_42, 1.872_952_849_923_460_47, 5.279_051_029_514_284_12e-1,
        6.051_834_131_244_131_91e-2, 2.335_204_976_268_691_85e-3,
    ];
    /// Beyond this, erfc(x) is below the smallest normal f64.
    pub const XBIG: f64 = 26.543;
}

/// `exp(y²)·erfc(y)` for `0.46875 < y < cody::XBIG`: the smooth factor left once the Gaussian is
/// taken out, so that callers can compute the Gaussian as precisely as their argument allows.
fn erfc_scaled(y: f64) -> f64 {
    if y <= 4.0 {
        let mut num = cody::C[8] * y;
        let mut den = y;
        for (c, d) in cody::C[..7].iter().zip(&cody::D[..7]) {
            num = (num + c) * y;
            den = (den + d) * y;
        }
        (num + cody::C[7]) / (den + cody::D[7])
    } else {
        let inv_sq = 1.0 / (y * y);
        let mut num = cody::P[5] * inv_sq;
        let mut den = inv_sq;
        for (p, q) in cody::P[..4].iter().zip(&cody::Q[..4]) {
            num = (num + p) * inv_sq;
            den = (den + q) * inv_sq;
        }
        let correction = inv_sq * (num + cody::P[4]) / (den + cody::Q[4]);
        (0.5 * FRAC_2_SQRT_PI - correction) / y
    }
}

/// erf(x) for `|x| <= 0.46875`.
fn erf_small(x: f64) -> f64 {
    let ysq = x * x;
    let mut num = cody::A[4] * ysq;
    let mut den = ysq;
    for (a, b) in cody::A[..3].iter().zip(&cody::B[..3]) {
        num = (num + a) * ysq;
        den = (den + b) * ysq;
    }
    x * (num + cody::A[3]) / (den + cody::B[3])
}

/// `exp(-scale·a²) · r` for `scale` 1 or 1/2, with `a²` split so that the large part is exact: a
/// plain `exp(-a*a)` would amplify the rounding of `a*a` by up to ~1400× in the far tail.
fn times_gaussian(a: f64, scale: f64, r: f64) -> f64 {
    let head = (a * 16.0).trunc() / 16.0;
    let del = (a - head) * (a + head);
    (-scale * head * head).exp() * (-scale * del).exp() * r
}

/// Standard normal cumulative distribution function Φ(x).
///
/// Relative accuracy is about 1e-15 in the lower tail (down to Φ ≈ 1e-308) and absolute accuracy
/// about 1e-16 elsewhere. `NaN` maps to `NaN`.
#[must_use]
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs() * FRAC_1_SQRT_2;
    if y <= 0.468_75 {
        // No cancellation worth worrying about: |erf| <= 0.5 here.
        return 0.5 + 0.5 * erf_small(x * FRAC_1_SQRT_2);
    }
    // Φ(-|x|) = exp(-x²/2)·erfc_scaled(|x|/√2) / 2. Taking the Gaussian from x itself, rather than
    // from the rounded |x|/√2, keeps the tail accurate to ~1e-15 instead of ~1e-13 (Cody's ANORM
    // does the same).
    let tail = if y < cody::XBIG {
        0.5 * times_gaussian(x.abs(), 0.5, erfc_scaled(y))
    } else {
        0.0
    };
    if x < 0.0 { tail } else { 1.0 - tail }
}

/// P. J. Acklam, "An algorithm for computing the inverse normal cumulative distribution function"
/// (2003); relative error below 1.15e-9 before refinement.
#[rustfmt::skip]
mod acklam {
    pub const A: [f64; 6] = [
        -3.969_683_028_665_376e1, 2.209_460_984_245_205e2, -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2, -3.066_479_806_614_716e1, 2.506_628_277_459_239,
    ];
    pub const B: [f64; 5] = [
        -5.447_609_879_822_406e1, 1.615_858_368_580_409e2, -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1, -1.328_068_155_288_572e1,
    ];
    pub const C: [f64; 6] = [
        -7.784_894_002_430_293e-3, -3.223_964_580_411_365e-1, -2.400_758_277_161_838,
        -2.549_732_539_343_734, 4.374_664_141_464_968, 2.938_163_982_698_783,
    ];
    pub const D: [f64; 4] = [
        7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    /// Below this (and above 1 - it) the tail formula takes over from the central one.
    pub const P_LOW: f64 = 0.024_25;
}

/// Acklam's unrefined approximation, for `p` in `(0, 0.5]`.
fn acklam_lower_half(p: f64) -> f64 {
    let [a0, a1, a2, a3, a4, a5] = acklam::A;
    let [b0, b1, b2, b3, b4] = acklam::B;
    let [c0, c1, c2, c3, c4, c5] = acklam::C;
    let [d0, d1, d2, d3] = acklam::D;
    if p < acklam::P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5)
            / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q
            / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0)
    }
}

/// Inverse of [`normal_cdf`]: the `x` with Φ(x) = `p`.
///
/// Acklam's approximation followed by one Halley step against [`normal_cdf`], which brings the
/// relative error to about 1e-15. Returns `-inf` for 0, `+inf` for 1, and `NaN` outside `[0, 1]`.
#[must_use]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    // 1 - p is exact for p >= 0.5 (Sterbenz), and Φ is only accurate in relative terms in the
    // lower tail, so refining there and mirroring keeps the upper tail accurate too.
    if p > 0.5 {
        return -inverse_normal_cdf_lower_half(1.0 - p);
    }
    inverse_normal_cdf_lower_half(p)
}

fn inverse_normal_cdf_lower_half(p: f64) -> f64 {
    let x = acklam_lower_half(p);
    // Near the median Φ(x) - p cancels; 0.5 - p is exact there (p >= 0.25), so forming the
    // residual from erf keeps x accurate relative to its own small size.
    let half_erf_arg = x * FRAC_1_SQRT_2;
    let e = if half_erf_arg.abs() <= 0.468_75 {
        0.5 * erf_small(half_erf_arg) - (p - 0.5)
    } else {
        normal_cdf(x) - p
    };
    let u = e * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
    let refined = x - u / (1.0 + 0.5 * x * u);
    // For p in the subnormal range exp(x²/2) overflows; Acklam alone is then the best we have.
    if refined.is_finite() { refined } else { x }
}

// --- Proportions ---------------------------------------------------------------------------------

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

// --- Stable assignment ---------------------------------------------------------------------------

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The 64-bit hash behind [`assign_variant`], published so other services can reproduce it.
///
/// FNV-1a 64 over the UTF-8 bytes of `experiment_id`, one `0xFF` byte, then the bytes of
/// `user_id`, followed by the splitmix64 finaliser. `0xFF` never occurs in UTF-8, so distinct
/// (experiment, user) pairs never hash the same byte string; including the experiment id makes
/// assignments independent across experiments; the finaliser spreads FNV's weak high bits, which
/// the multiply-shift in [`assign_variant`] relies on.
#[must_use]
pub fn assignment_hash(experiment_id: &str, user_id: &str) -> u64 {
    let bytes = experiment_id
        .bytes()
        .chain(std::iter::once(0xFF))
        .chain(user_id.bytes());
    let mut h = FNV_OFFSET_BASIS;
    for byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Deterministically picks a variant index for a user, with probability proportional to
/// `weights`.
///
/// The same inputs give the same answer in every process, release and platform. The hash
/// ([`assignment_hash`]) is mapped to `[0, total_weight)` by `hash · total >> 64`, which avoids
/// the bias of `hash % total` (what remains is below `total / 2^64`). Variants with weight 0 are
/// never chosen. Changing the weights reassigns some users, so keep them fixed while an
/// experiment runs. `None` when `weights` is empty or sums to 0.
#[must_use]
pub fn assign_variant(experiment_id: &str, user_id: &str, weights: &[u32]) -> Option<usize> {
    let total = weights
        .iter()
        .try_fold(0_u64, |sum, &w| sum.checked_add(u64::from(w)))?;
    if total == 0 {
        return None;
    }
    let scaled = (u128::from(assignment_hash(experiment_id, user_id)) * u128::from(total)) >> 64;
    let point = u64::try_from(scaled).ok()?;
    let mut upper = 0_u64;
    for (index, &weight) in weights.iter().enumerate() {
        upper += u64::from(weight);
        if point < upper {
            return Some(index);
        }
    }
    None
}

// --- Funnels -------------------------------------------------------------------------------------

/// How far one user got through a funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelOutcome {
    /// Steps completed in order within the window: 0 (never started) to the number of steps.
    pub depth: usize,
    /// Milliseconds between consecutive completed steps of the counted attempt
    /// (`depth - 1` entries; empty when `depth < 2`).
    pub step_gaps_ms: Vec<i64>,
}

/// One user's progress through a funnel of `step_count` steps (indexed from 0).
///
/// `events` are the user's events as `(timestamp_ms, steps)`, where `steps` lists every funnel
/// step the event matches (one event can match several steps, e.g. the same event name under
/// different filters; indices `>= step_count` are ignored). They need not be sorted: they are
/// ordered by timestamp, keeping the given order among equal timestamps.
///
/// A user counts at step k only after completing steps 0 to k in order within the window that
/// starts at step 0: the attempt is events `e_0 < e_1 < … < e_k` (distinct events, strictly later
/// in that order, so one event never completes two steps) with `e_i` matching step `i` and
/// `ts(e_k) - ts(e_0) <= window_ms` (inclusive). Each occurrence of step 0 is a candidate start
/// and the best attempt counts; among starts reaching the same depth, the earliest wins, and its
/// gaps are reported for the attempt that completes every step as early as possible.
///
/// Runs in `O(n log n + s · k · log n)` for `n` events, `s` occurrences of step 0 and `k` steps.
#[must_use]
pub fn funnel_outcome<S: AsRef<[usize]>>(
    events: &[(i64, S)],
    step_count: usize,
    window_ms: i64,
) -> FunnelOutcome {
    let none = FunnelOutcome {
        depth: 0,
        step_gaps_ms: Vec::new(),
    };
    if step_count == 0 {
        return none;
    }
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| events[i].0); // stable: ties keep input order
    let times: Vec<i64> = order.iter().map(|&i| events[i].0).collect();
    // positions[s]: increasing positions (in `order`) of events matching step s.
    let mut positions: Vec<Vec<usize>> = vec![Vec::new(); step_count];
    for (pos, &i) in order.iter().enumerate() {
        for &step in events[i].1.as_ref() {
            if let Some(list) = positions.get_mut(step)
                && list.last() != Some(&pos)
            {
                list.push(pos);
            }
        }
    }

    // Why greedy is optimal for a fixed start e_0: let f_1 < … < f_d be any valid attempt from
    // e_0, and g_i the greedy choice (earliest event after g_{i-1} matching step i). Induction
    // gives g_i <= f_i: it holds for i = 0, and if g_{i-1} <= f_{i-1} < f_i then f_i is a
    // candidate after g_{i-1}, so the earliest candidate g_i is no later than f_i. Timestamps are
    // non-decreasing along the order, so ts(g_i) <= ts(f_i) and g_i is inside the window whenever
    // f_i is. Hence greedy reaches depth >= d, and completes every step as early as possible.
    let mut best: Vec<usize> = Vec::new();
    let mut chain: Vec<usize> = Vec::with_capacity(step_count);
    for &start in &positions[0] {
        chain.clear();
        chain.push(start);
        for list in &positions[1..] {
            let prev = chain[chain.len() - 1];
            let next = list.get(list.partition_point(|&p| p <= prev));
            match next {
                // i128: the span of two arbitrary i64 timestamps does not fit in an i64.
                Some(&p)
                    if i128::from(times[p]) - i128::from(times[start]) <= i128::from(window_ms) =>
                {
                    chain.push(p);
                }
                _ => break,
            }
        }
        // Strictly greater, so the earliest start wins ties.
        if chain.len() > best.len() {
            best.clone_from(&chain);
            if best.len() == step_count {
                break;
            }
        }
    }
    if best.is_empty() {
        return none;
    }
    FunnelOutcome {
        depth: best.len(),
        step_gaps_ms: best
            .windows(2)
            .map(|w| times[w[1]].saturating_sub(times[w[0]]))
            .collect(),
    }
}

/// Median of `values` (mean of the two middle values for an even count), or `None` when empty.
///
/// Reorders `values` (linear-time selection instead of a full sort).
#[must_use]
pub fn median(values: &mut [i64]) -> Option<f64> {
    let len = values.len();
    if len == 0 {
        return None;
    }
    let (lower, &mut upper_mid, _) = values.select_nth_unstable(len / 2);
    if len % 2 == 1 {
        return Some(ms_f64(upper_mid));
    }
    let lower_mid = *lower.iter().max()?;
    Some(f64::midpoint(ms_f64(lower_mid), ms_f64(upper_mid)))
}

#[allow(clippy::cast_precision_loss, reason = "values stay far below 2^53")]
const fn ms_f64(v: i64) -> f64 {
    v as f64
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "tests compare exact values on purpose and convert small counts"
)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) {
        let tol = rel * expected.abs().max(f64::MIN_POSITIVE);
        let ok = (actual - expected).abs() <= tol;
        assert!(ok, "{actual:e} vs {expected:e}");
    }

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

    /// xorshift64*: deterministic randomness for the property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1_u64 << 53) as f64
        }
    }

    // References: python3 with mpmath 1.3 at 60 digits (plain `math.erfc(-x/math.sqrt(2))` is
    // itself off by ~1e-13 in the far tail because x/√2 is rounded):
    //   import mpmath as mp; mp.mp.dps = 60
    //   Phi = lambda x: float(mp.ncdf(mp.mpf(x)))
    //   quantile = lambda p: float(-mp.sqrt(2) * mp.erfinv(1 - 2 * mp.mpf(p)) if p < 0.5
    //                              else mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1))
    //   (for 1e-300: mp.findroot(lambda x: mp.log(mp.ncdf(x)) - mp.log(mp.mpf(p)), -37))
    #[rustfmt::skip]
    const CDF_REFERENCE: [(f64, f64); 14] = [
        (-37.5, 4.605_353_009_581_955e-308), (-20.0, 2.753_624_118_606_233_7e-89),
        (-8.0, 6.220_960_574_271_784e-16), (-5.0, 2.866_515_718_791_939e-7),
        (-3.0, 0.001_349_898_031_630_094_6), (-0.7, 0.241_963_652_223_073_03),
        (-0.3, 0.382_088_577_811_047_4), (0.0, 0.5), (0.2, 0.579_259_709_439_103),
        (0.662_912_608_362_388_3, 0.746_306_736_929_215_2), // just past the first erfc branch
        (1.0, 0.841_344_746_068_542_9), (2.5, 0.993_790_334_674_223_8),
        (5.66, 0.999_999_992_431_350_3), (8.0, 0.999_999_999_999_999_3),
    ];
    #[rustfmt::skip]
    const QUANTILE_REFERENCE: [(f64, f64); 12] = [
        (1e-300, -37.047_096_299_361_2), (1e-10, -6.361_340_902_404_057),
        (0.001, -3.090_232_306_167_813_6), (0.024_25, -1.972_961_051_311_885),
        (0.025, -1.959_963_984_540_054_3), (0.3, -0.524_400_512_708_040_8),
        (0.499, -0.002_506_630_899_571_766), (0.9, 1.281_551_565_544_600_6),
        (0.975, 1.959_963_984_540_053_8), (0.975_75, 1.972_961_051_311_885),
        (0.999_999, 4.753_424_308_817_087), (0.999_999_999_999, 7.034_486_910_047_835_6),
    ];

    #[test]
    fn normal_cdf_and_inverse_match_reference() {
        for (x, expected) in CDF_REFERENCE {
            close(normal_cdf(x), expected, 2e-15);
        }
        for (p, expected) in QUANTILE_REFERENCE {
            close(inverse_normal_cdf(p), expected, 2e-15);
        }
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert!(normal_cdf(f64::NAN).is_nan());
        for i in -800..=800 {
            let x = f64::from(i) / 100.0;
            let sum = normal_cdf(x) + normal_cdf(-x);
            assert!((sum - 1.0).abs() < 2e-16, "x = {x}");
        }
        assert_eq!(inverse_normal_cdf(0.5), 0.0);
        assert_eq!(inverse_normal_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(1.0), f64::INFINITY);
        assert!(inverse_normal_cdf(-0.1).is_nan() && inverse_normal_cdf(f64::NAN).is_nan());
        assert!(inverse_normal_cdf(5e-324).is_finite());
        close(inverse_normal_cdf(0.975), Z_95, 1e-15);
    }

    #[test]
    fn inverse_round_trips_and_acklam_coefficients_are_right() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            // Log-uniform over (1e-300, 0.5], to cover both Acklam regions and deep tails.
            let p = 10_f64.powf(-300.0 * rng.unit()).min(0.5);
            let x = inverse_normal_cdf(p);
            close(normal_cdf(x), p, 1e-12);
            // Acklam's published bound on its raw relative error verifies the coefficient table.
            let raw_error = (acklam_lower_half(p) - x).abs();
            assert!(raw_error <= 1.2e-9 * x.abs().max(1e-300), "p = {p}");
        }
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
        let mut rng = Rng(0x1234_5678_9abc_def1);
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

    // python (same algorithm, independent implementation):
    //   M = (1 << 64) - 1
    //   def h(e, u):
    //       x = 0xcbf29ce484222325
    //       for b in e.encode() + b'\xff' + u.encode(): x ^= b; x = (x * 0x100000001b3) & M
    //       x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    //       x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    //       return x ^ (x >> 31)
    //   bucket among 100 equal weights: (h(e, u) * 100) >> 64
    #[test]
    fn assignment_is_pinned_and_stable() {
        let hundred = [1_u32; 100];
        for (experiment, user, hash, bucket) in [
            ("", "", 0x4f2d_b50f_1240_40cd, 30),
            ("exp-checkout", "user-1", 0x260b_60cc_8ccc_2bf5, 14),
            ("exp-checkout", "user-2", 0xbcff_ab60_4446_2012, 73),
            ("héllo", "wörld", 0x47b1_0eeb_c677_81b6, 28),
        ] {
            assert_eq!(assignment_hash(experiment, user), hash);
            assert_eq!(assign_variant(experiment, user, &hundred), Some(bucket));
        }
        for i in 0..1_000 {
            let user = format!("user-{i}");
            let first = assign_variant("exp", &user, &[1, 2, 3]);
            assert_eq!(first, assign_variant("exp", &user, &[1, 2, 3]));
            assert_eq!(assign_variant("exp", &user, &[0, 7, 0]), Some(1));
        }
        assert_eq!(assign_variant("exp", "u", &[]), None);
        assert_eq!(assign_variant("exp", "u", &[0, 0]), None);
        assert!(assign_variant("exp", "u", &[u32::MAX; 3]).is_some());
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(assignment_hash("ab", "c"), assignment_hash("a", "bc"));
    }

    #[test]
    fn assignment_splits_match_weights() {
        let users: Vec<String> = (0..100_000).map(|i| format!("user-{i}")).collect();
        for (weights, expected) in [
            (vec![50, 50], [0.5, 0.5, 0.0]),
            (vec![20, 30, 50], [0.2, 0.3, 0.5]),
        ] {
            let mut counts = [0_u32; 3];
            for user in &users {
                counts[assign_variant("exp-split", user, &weights).unwrap_or(2)] += 1;
            }
            for (count, want) in counts.iter().zip(expected) {
                let got = f64::from(*count) / 100_000.0;
                assert!((got - want).abs() < 0.01, "{weights:?}: {got} vs {want}");
            }
        }
        // Independent across experiments: 50/50 splits of two experiments agree for about half.
        let same = |user: &&String| {
            assign_variant("exp-a", user, &[1, 1]) == assign_variant("exp-b", user, &[1, 1])
        };
        let agree = users.iter().filter(same).count();
        let agreement = agree as f64 / 100_000.0;
        assert!((agreement - 0.5).abs() < 0.01, "{agreement}");
    }

    fn outcome(depth: usize, gaps: &[i64]) -> FunnelOutcome {
        let step_gaps_ms = gaps.to_vec();
        FunnelOutcome {
            depth,
            step_gaps_ms,
        }
    }

    fn run(events: &[(i64, &[usize])], steps: usize, window: i64) -> (usize, Vec<i64>) {
        let result = funnel_outcome(events, steps, window);
        (result.depth, result.step_gaps_ms)
    }

    #[test]
    fn funnel_examples() {
        let events: [(i64, &[usize]); 3] = [(0, &[0]), (5, &[1]), (100, &[2])];
        assert_eq!(run(&events, 3, 50), (2, vec![5]));
        assert_eq!(run(&events, 3, 100), (3, vec![5, 95])); // the window is inclusive
        assert_eq!(run(&events, 3, 99), (2, vec![5]));
        // A later retry completes the funnel; its gaps are the ones reported.
        let retry: [(i64, &[usize]); 5] =
            [(0, &[0]), (10, &[1]), (200, &[0]), (210, &[1]), (220, &[2])];
        assert_eq!(run(&retry, 3, 50), (3, vec![10, 10]));
        // Out of order does not count.
        assert_eq!(run(&[(0, &[1]), (5, &[0])], 2, 50), (1, vec![]));
        // One event cannot complete two steps; two such events can.
        assert_eq!(run(&[(0, &[0, 1])], 2, 50), (1, vec![]));
        assert_eq!(run(&[(0, &[0, 1]), (0, &[0, 1])], 2, 50), (2, vec![0]));
        // Unsorted input is ordered by time first.
        assert_eq!(
            run(&[(9, &[2]), (3, &[1]), (1, &[0])], 3, 50),
            (3, vec![2, 6])
        );
        // Tie on depth: the earliest start wins.
        assert_eq!(
            run(&[(0, &[0]), (30, &[0]), (40, &[1])], 3, 50),
            (2, vec![40])
        );
        assert_eq!(run(&[(0, &[5])], 2, 50), (0, vec![]));
        assert_eq!(run(&[], 2, 50), (0, vec![]));
        assert_eq!(run(&[(0, &[0])], 0, 50), (0, vec![]));
        assert_eq!(
            run(&[(i64::MIN, &[0]), (i64::MAX, &[1])], 2, i64::MAX),
            (1, vec![])
        );
    }

    /// Reference: tries every increasing index tuple in lexicographic order, deepest first. The
    /// first valid tuple of the maximum depth has the earliest start and, for it, the earliest
    /// completion of each step: the attempt `funnel_outcome` must report.
    fn brute_force(events: &[(i64, Vec<usize>)], steps: usize, window: i64) -> FunnelOutcome {
        fn first(
            events: &[(i64, Vec<usize>)],
            depth: usize,
            window: i64,
            tuple: &mut Vec<usize>,
        ) -> bool {
            if tuple.len() == depth {
                return true;
            }
            let from = tuple.last().map_or(0, |&last| last + 1);
            for i in from..events.len() {
                let in_window = tuple
                    .first()
                    .is_none_or(|&s| events[i].0 - events[s].0 <= window);
                if events[i].1.contains(&tuple.len()) && in_window {
                    tuple.push(i);
                    if first(events, depth, window, tuple) {
                        return true;
                    }
                    tuple.pop();
                }
            }
            false
        }
        for depth in (1..=steps).rev() {
            let mut tuple = Vec::new();
            if first(events, depth, window, &mut tuple) {
                let gaps: Vec<i64> = tuple
                    .windows(2)
                    .map(|w| events[w[1]].0 - events[w[0]].0)
                    .collect();
                return outcome(depth, &gaps);
            }
        }
        outcome(0, &[])
    }

    #[test]
    fn funnel_matches_brute_force() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for case in 0..20_000 {
            let steps = 1 + rng.below(4) as usize;
            let step = |rng: &mut Rng| rng.below(steps as u64) as usize;
            let mut ts = rng.below(1_000) as i64;
            let events: Vec<(i64, Vec<usize>)> = (0..rng.below(13))
                .map(|_| {
                    ts += rng.below(6) as i64; // 0 gives equal timestamps
                    // Mostly one step; sometimes none, two, or one past the funnel.
                    let matched = match rng.below(10) {
                        0 => Vec::new(),
                        1 => vec![step(&mut rng), step(&mut rng)],
                        2 => vec![steps],
                        _ => vec![step(&mut rng)],
                    };
                    (ts, matched)
                })
                .collect();
            let window = rng.below(25) as i64 - 3;
            let expected = brute_force(&events, steps, window);
            let got = funnel_outcome(&events, steps, window);
            assert_eq!(got, expected, "case {case}: {events:?}, {window}");
            // With distinct timestamps, the input order must not matter.
            let mut distinct = events.clone();
            for (i, event) in distinct.iter_mut().enumerate() {
                event.0 = event.0 * 100 + i as i64;
            }
            let in_order = funnel_outcome(&distinct, steps, window * 100);
            for i in (1..distinct.len()).rev() {
                distinct.swap(i, rng.below(i as u64 + 1) as usize);
            }
            assert_eq!(funnel_outcome(&distinct, steps, window * 100), in_order);
        }
    }

    #[test]
    fn median_cases() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7.0));
        assert_eq!(median(&mut [9, 1, 5]), Some(5.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut [i64::MAX, i64::MAX]), Some(i64::MAX as f64));
        let mut rng = Rng(42);
        for _ in 0..500 {
            let mut values: Vec<i64> = (0..=rng.below(30))
                .map(|_| rng.below(100) as i64 - 50)
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let n = sorted.len();
            let expected = (sorted[(n - 1) / 2] + sorted[n / 2]) as f64 / 2.0;
            assert_eq!(median(&mut values), Some(expected));
        }
    }
}
