//! Stable experiment assignment: [`assign_variant`], on a documented hash ([`assignment_hash`])
//! that any language can reproduce.

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
}
