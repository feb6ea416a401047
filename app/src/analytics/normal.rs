//! The normal distribution: [`normal_cdf`] (W. J. Cody's erfc, ~1e-15 relative) and
//! [`inverse_normal_cdf`] (Acklam's algorithm plus one Halley step).

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

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
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
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
}
