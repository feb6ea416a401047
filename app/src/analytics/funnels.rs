//! Funnels: how far each user got ([`funnel_outcome`]), and the [`median`] of their times.

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
mod tests {
    #![allow(
        clippy::float_cmp,
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        reason = "tests compare exact values on purpose and convert small counts"
    )]

    use super::*;
    use crate::random::Rng;

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
        let mut rng = Rng::new(0xdead_beef_cafe_f00d);
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
        let mut rng = Rng::new(42);
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
