//! Rollup buckets: their 48-byte stored records, and folding buckets together.

use crate::storage::keys::BUCKET_RECORD;

/// How many buckets a chunk string holds (for storage measurements).
#[must_use]
pub fn chunk_bucket_count(chunk: &[u8]) -> usize {
    chunk
        .chunks_exact(BUCKET_RECORD)
        .filter(|record| Bucket::decode(record).is_some())
        .count()
}

/// One rollup bucket as stored, or several folded together.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub(crate) struct Bucket {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) sum: f64,
    pub(super) count: u64,
    pub(super) last: f64,
    pub(super) last_ts: i64,
}

impl Bucket {
    /// Folds `other` in (min of mins, sum of sums, the later last value); returns whether
    /// `other` held the latest value (on a tie it does: it is taken as the newer).
    pub(crate) fn merge(&mut self, other: &Bucket) -> bool {
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.sum += other.sum;
        let latest = self.count == 0 || other.last_ts >= self.last_ts;
        if latest {
            self.last = other.last;
            self.last_ts = other.last_ts;
        }
        self.count += other.count;
        latest
    }

    /// Decodes one 48-byte record; `None` for an empty slot.
    pub(super) fn decode(record: &[u8]) -> Option<Self> {
        let field = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&record[i * 8..i * 8 + 8]);
            f64::from_le_bytes(bytes)
        };
        let count = field(3);
        (count > 0.0).then(|| Self {
            min: field(0),
            max: field(1),
            sum: field(2),
            count: count as u64,
            last: field(4),
            last_ts: field(5) as i64,
        })
    }

    /// Appends the 48-byte record [`Bucket::decode`] reads.
    pub(crate) fn encode_into(&self, record: &mut Vec<u8>) {
        for field in [
            self.min,
            self.max,
            self.sum,
            self.count as f64,
            self.last,
            self.last_ts as f64,
        ] {
            record.extend_from_slice(&field.to_le_bytes());
        }
    }

    pub(super) fn point(ts: i64, value: f64) -> Self {
        Self::observed(ts, value, value)
    }

    /// One observation of `value`, whose bucket shows `last` as its latest value (a counter's
    /// running total, else the value itself).
    pub(crate) fn observed(ts: i64, value: f64, last: f64) -> Self {
        Self {
            min: value,
            max: value,
            sum: value,
            count: 1,
            last,
            last_ts: ts,
        }
    }
}
