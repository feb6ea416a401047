//! Reading one series over a plan: raw points or rollup buckets (with their sketches or
//! HyperLogLog keys), and the unique counts of a line's steps.

use std::collections::BTreeSet;

use app::query::Aggregation;

use super::accumulate::Steps;
use super::codec::Bucket;
use crate::config::TIERS;
use crate::storage::keys::{
    BUCKET_RECORD, CHUNK_BUCKETS, OPEN_BUCKET_RECORD, RAW_CHUNK_MS, RAW_RECORD, open_bucket_field,
};
use crate::storage::plan::Plan;
use crate::storage::{SeriesId, StorageError, Store};

impl Store {
    pub(super) async fn read_series(
        &self,
        id: &SeriesId,
        plan: &Plan,
        aggregation: Aggregation,
        now_ms: i64,
    ) -> Result<Steps, StorageError> {
        let mut steps = Steps::new(plan);
        if plan.is_empty() {
            return Ok(steps);
        }
        let Some(tier_index) = plan.tier else {
            for (ts, value) in self.read_raw(id, plan, now_ms).await? {
                let accumulator = steps.at(ts);
                accumulator.add_bucket(&Bucket::point(ts, value));
                if matches!(aggregation, Aggregation::Quantile { .. }) {
                    accumulator.extra().exact.push(value);
                }
            }
            return Ok(steps);
        };
        let (tier, width) = TIERS[tier_index];
        let buckets = plan.buckets();
        if matches!(aggregation, Aggregation::Unique) {
            for index in buckets {
                let start = index * width;
                let accumulator = steps.at(start);
                accumulator
                    .extra()
                    .hll_keys
                    .push(self.keys.set_bucket(id, tier, start));
            }
            return Ok(steps);
        }
        let (first, last) = (*buckets.start(), *buckets.end());
        let chunks = plan.rollup_chunks();
        let mut pipe = redis::pipe();
        for chunk in chunks.clone() {
            pipe.cmd("GET").arg(self.keys.rollup_chunk(id, tier, chunk));
        }
        pipe.cmd("HGET")
            .arg(self.keys.meta(id))
            .arg(open_bucket_field(tier));
        let mut strings: Vec<Option<Vec<u8>>> = pipe.query_async(&mut self.connection()).await?;
        let open = strings.pop().flatten();
        let mut buckets: Vec<(i64, Bucket)> = Vec::new();
        for (chunk, bytes) in chunks.zip(strings) {
            let Some(bytes) = bytes else { continue };
            for (slot, record) in bytes.chunks_exact(BUCKET_RECORD).enumerate() {
                let index = chunk * CHUNK_BUCKETS + slot as i64;
                if index < first || index > last {
                    continue;
                }
                if let Some(bucket) = Bucket::decode(record) {
                    buckets.push((index * width, bucket));
                }
            }
        }
        // The open bucket lives in the meta hash until a newer one replaces it; chunks expire
        // with the tier's retention, so it is checked against the retention here.
        if let Some(record) = open.filter(|record| record.len() == OPEN_BUCKET_RECORD) {
            let start = f64::from_le_bytes(record[..8].try_into().unwrap_or_default()) as i64;
            let kept = start + width + self.retention().tiers_ms[tier_index] > now_ms;
            let index = start.div_euclid(width);
            if kept
                && (first..=last).contains(&index)
                && let Some(bucket) = Bucket::decode(&record[8..])
            {
                match buckets.iter_mut().find(|(at, _)| *at == start) {
                    Some((_, stored)) => {
                        stored.merge(&bucket);
                    }
                    None => buckets.push((start, bucket)),
                }
            }
        }
        buckets.sort_by_key(|(start, _)| *start);
        for (start, bucket) in &buckets {
            steps.at(*start).add_bucket(bucket);
        }
        if matches!(aggregation, Aggregation::Quantile { .. }) && !buckets.is_empty() {
            let mut pipe = redis::pipe();
            for (start, _) in &buckets {
                pipe.cmd("HGETALL")
                    .arg(self.keys.histogram_bucket(id, tier, *start));
            }
            let sketches: Vec<Vec<(String, u64)>> =
                pipe.query_async(&mut self.connection()).await?;
            for ((start, _), bins) in buckets.iter().zip(sketches) {
                let accumulator = steps.at(*start);
                for (bin, count) in bins {
                    accumulator
                        .extra()
                        .sketch
                        .add_bin(&bin, count)
                        .map_err(|reason| StorageError::Corrupt {
                            key: self.keys.histogram_bucket(id, tier, *start),
                            reason,
                        })?;
                }
            }
        }
        Ok(steps)
    }

    /// Raw points with `from <= ts < to`, in time order (points of the same time in arrival
    /// order).
    async fn read_raw(
        &self,
        id: &SeriesId,
        plan: &Plan,
        now_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        // Chunks expire whole, after their newest point's retention, so the retention is
        // applied to each point here; the plan's chunks already lie within it.
        let (from, to) = (
            plan.read_from.max(now_ms - self.retention().raw_ms),
            plan.to,
        );
        let chunks = plan.raw_chunks();
        let mut pipe = redis::pipe();
        for chunk in chunks.clone() {
            pipe.cmd("GET").arg(self.keys.raw_chunk(id, chunk));
        }
        let strings: Vec<Option<Vec<u8>>> = pipe.query_async(&mut self.connection()).await?;
        let mut points = Vec::new();
        for (chunk, bytes) in chunks.zip(strings) {
            let Some(bytes) = bytes else { continue };
            if bytes.len() % RAW_RECORD != 0 {
                return Err(StorageError::Corrupt {
                    key: self.keys.raw_chunk(id, chunk),
                    reason: format!("{} bytes is not a whole number of points", bytes.len()),
                });
            }
            let chunk_start = chunk * RAW_CHUNK_MS;
            for record in bytes.chunks_exact(RAW_RECORD) {
                let (offset, value) = record.split_at(4);
                let offset = u32::from_le_bytes(offset.try_into().unwrap_or_default());
                let ts = chunk_start + i64::from(offset);
                if (from..to).contains(&ts) {
                    points.push((ts, f64::from_le_bytes(value.try_into().unwrap_or_default())));
                }
            }
        }
        // Stable: points of the same time keep their arrival order.
        points.sort_by_key(|(ts, _)| *ts);
        Ok(points)
    }

    pub(super) async fn unique_counts(
        &self,
        steps: &Steps,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        let mut pipe = redis::pipe();
        let mut starts = Vec::new();
        for (start, accumulator) in steps.iter() {
            let keys: BTreeSet<&String> = accumulator
                .extra
                .iter()
                .flat_map(|extra| extra.hll_keys.iter())
                .collect();
            if keys.is_empty() {
                continue;
            }
            let command = pipe.cmd("PFCOUNT");
            for key in keys {
                command.arg(key);
            }
            starts.push(start);
        }
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        let counts: Vec<u64> = pipe.query_async(&mut self.connection()).await?;
        Ok(starts
            .into_iter()
            .zip(counts)
            .filter(|(_, count)| *count > 0)
            .map(|(start, count)| (start, count as f64))
            .collect())
    }
}
