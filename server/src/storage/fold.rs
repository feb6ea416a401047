//! Folds one series' plain values of one write into what the write script stores: raw point
//! records per raw chunk and one bucket record per tier and bucket.
//!
//! Doing this here rather than per point in Lua keeps the single-threaded Redis to a few calls
//! per series and write, however many points the write holds (docs/benchmarks.md).

use app::model::MetricKind;

use super::keys::{OPEN_BUCKET_RECORD, RAW_CHUNK_MS, RAW_RECORD};
use super::query::Bucket;
use crate::config::{Retention, TIERS};

/// One series' points of one write, folded.
#[derive(Debug, PartialEq)]
pub(crate) struct Folded {
    /// Time of the newest point.
    pub newest_ts: i64,
    /// A gauge's value at that time (the later arrival on a tie); a counter's sum of
    /// increments.
    pub value: f64,
    /// Raw records to append, by raw chunk, in arrival order within each.
    pub raw: Vec<(i64, Vec<u8>)>,
    /// Per tier of [`TIERS`], the 56-byte bucket records the write touches.
    pub tiers: [Vec<u8>; TIERS.len()],
}

/// Folds `points` (time, value) in arrival order. `kind` is a gauge or a counter: a counter's
/// bucket `last` is its running sum of increments within the write (the script adds the stored
/// total). Points past a tier's retention at `now` are left out of it, as are raw points past
/// the raw retention.
pub(crate) fn fold(
    kind: MetricKind,
    points: &[(i64, f64)],
    now: i64,
    retention: Retention,
) -> Folded {
    let counter = kind == MetricKind::Counter;
    let mut newest_ts = i64::MIN;
    let mut value = 0.0;
    let mut running = 0.0;
    let mut raw: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut tiers: [Vec<(i64, Bucket)>; TIERS.len()] = Default::default();
    let raw_min = now - retention.raw_ms;
    for &(ts, x) in points {
        running += x;
        if ts >= newest_ts {
            newest_ts = ts;
            if !counter {
                value = x;
            }
        }
        if ts >= raw_min {
            let chunk = ts.div_euclid(RAW_CHUNK_MS);
            let records = match raw.iter_mut().rev().find(|(at, _)| *at == chunk) {
                Some((_, records)) => records,
                None => {
                    raw.push((chunk, Vec::with_capacity(points.len() * RAW_RECORD)));
                    &mut raw.last_mut().expect("just pushed").1
                }
            };
            let offset = u32::try_from(ts - chunk * RAW_CHUNK_MS).expect("within one chunk");
            records.extend_from_slice(&offset.to_le_bytes());
            records.extend_from_slice(&x.to_le_bytes());
        }
        let last = if counter { running } else { x };
        for ((buckets, (_, width)), keep) in tiers.iter_mut().zip(TIERS).zip(retention.tiers_ms) {
            let start = ts - ts.rem_euclid(width);
            if start + width + keep <= now {
                continue;
            }
            // Points mostly arrive in time order, so the bucket is nearly always the newest.
            let point = Bucket::observed(ts, x, last);
            match buckets.iter_mut().rev().find(|(at, _)| *at == start) {
                Some((_, bucket)) => {
                    bucket.merge(&point);
                }
                None => buckets.push((start, point)),
            }
        }
    }
    if counter {
        value = running;
    }
    Folded {
        newest_ts,
        value,
        raw,
        tiers: tiers.map(|buckets| {
            let mut records = Vec::with_capacity(buckets.len() * OPEN_BUCKET_RECORD);
            for (start, bucket) in buckets {
                records.extend_from_slice(&(start as f64).to_le_bytes());
                bucket.encode_into(&mut records);
            }
            records
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(records: &[u8]) -> Vec<[f64; 7]> {
        records
            .chunks_exact(56)
            .map(|record| {
                std::array::from_fn(|i| {
                    f64::from_le_bytes(record[i * 8..i * 8 + 8].try_into().unwrap())
                })
            })
            .collect()
    }

    /// Buckets hold min, max, sum, count and the value of the latest time (the later arrival
    /// on a tie), per tier; raw records keep arrival order per chunk.
    #[test]
    fn gauges_fold_per_bucket() {
        let now = 100 * 86_400_000;
        let base = now - 60_000;
        let points = [
            (base + 1_000, 5.0),
            (base + 12_000, 1.0),
            (base + 2_000, 7.0),
            (base + 2_000, 6.0),
        ];
        let folded = fold(MetricKind::Gauge, &points, now, Retention::default());
        assert_eq!((folded.newest_ts, folded.value), (base + 12_000, 1.0));
        let ten_s = decode(&folded.tiers[0]);
        let b = |offset: i64| (base + offset) as f64;
        assert_eq!(
            ten_s,
            [
                [b(0), 5.0, 7.0, 18.0, 3.0, 6.0, b(2_000)],
                [b(10_000), 1.0, 1.0, 1.0, 1.0, 1.0, b(12_000)]
            ]
        );
        let minute = decode(&folded.tiers[1]);
        assert_eq!(minute, [[b(0), 1.0, 7.0, 19.0, 4.0, 1.0, b(12_000)]]);
        assert_eq!(folded.raw.len(), 1);
        let (chunk, records) = &folded.raw[0];
        assert_eq!(records.len(), 4 * RAW_RECORD);
        let first_offset = u32::from_le_bytes(records[..4].try_into().unwrap());
        assert_eq!(i64::from(first_offset), base + 1_000 - chunk * RAW_CHUNK_MS);
        assert_eq!(f64::from_le_bytes(records[40..48].try_into().unwrap()), 6.0);
    }

    /// A counter's bucket `last` is the running sum at its latest point; its value is the
    /// sum of all increments.
    #[test]
    fn counters_carry_running_sums() {
        let now = 100 * 86_400_000;
        let base = now - 60_000;
        let points = [
            (base + 11_000, 2.0),
            (base + 1_000, 3.0),
            (base + 12_000, 4.0),
        ];
        let folded = fold(MetricKind::Counter, &points, now, Retention::default());
        assert_eq!((folded.newest_ts, folded.value), (base + 12_000, 9.0));
        let ten_s = decode(&folded.tiers[0]);
        assert_eq!(
            ten_s[0][5], 9.0,
            "bucket of base+10 s: running sum after its latest"
        );
        assert_eq!(
            ten_s[1][5], 5.0,
            "bucket of base: running sum after its only point"
        );
    }

    /// What is already past a retention is left out of that tier or of the raw records.
    #[test]
    fn retention_applies_per_tier() {
        let now = 100 * 86_400_000;
        let retention = Retention {
            raw_ms: 1_000,
            tiers_ms: [60_000, 86_400_000, 86_400_000, 86_400_000],
        };
        let folded = fold(MetricKind::Gauge, &[(now - 3_600_000, 1.0)], now, retention);
        assert!(folded.raw.is_empty());
        assert!(folded.tiers[0].is_empty());
        assert_eq!(decode(&folded.tiers[1]).len(), 1);
    }
}
