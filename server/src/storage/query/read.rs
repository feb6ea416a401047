//! Reading one series over a plan: raw points or rollup buckets (with their sketches or
//! HyperLogLog keys), and the unique counts of a line's steps. A recent window's raw points
//! can be read from the end of their chunk only.

use std::collections::BTreeSet;

use app::query::Aggregation;

use super::accumulate::Steps;
use super::codec::Bucket;
use crate::config::TIERS;
use crate::storage::hll::Union;
use crate::storage::keys::{
    BUCKET_RECORD, CHUNK_BUCKETS, OPEN_BUCKET_RECORD, RAW_CHUNK_MS, RAW_RECORD, open_bucket_field,
};
use crate::storage::plan::Plan;
use crate::storage::slots::Batch;
use crate::storage::{SeriesId, StorageError, Store};
use redis::cluster_routing::Slot;

/// Raw points first read from a chunk's end, when only its tail is wanted.
const TAIL_RECORDS: i64 = 256;

impl Store {
    pub(super) async fn read_series(
        &self,
        id: &SeriesId,
        plan: &Plan,
        aggregation: Aggregation,
        now_ms: i64,
    ) -> Result<Steps, StorageError> {
        self.read_series_from(id, plan, aggregation, now_ms, None)
            .await
    }

    /// As [`Store::read_series`], with raw points read from the end of their chunks back
    /// only until one older than the plan's start by `late_ms` (see [`Store::read_raw_tail`]):
    /// what an alert rule's window reads thousands of times a second, while a chunk holds
    /// ten minutes.
    pub(super) async fn read_recent_series(
        &self,
        id: &SeriesId,
        plan: &Plan,
        aggregation: Aggregation,
        now_ms: i64,
        late_ms: i64,
    ) -> Result<Steps, StorageError> {
        self.read_series_from(id, plan, aggregation, now_ms, Some(late_ms))
            .await
    }

    async fn read_series_from(
        &self,
        id: &SeriesId,
        plan: &Plan,
        aggregation: Aggregation,
        now_ms: i64,
        late_ms: Option<i64>,
    ) -> Result<Steps, StorageError> {
        let mut steps = Steps::new(plan);
        if plan.is_empty() {
            return Ok(steps);
        }
        let Some(tier_index) = plan.tier else {
            let points = match late_ms {
                None => self.read_raw(id, plan, now_ms).await?,
                Some(late_ms) => self.read_raw_tail(id, plan, now_ms, late_ms).await?,
            };
            for (ts, value) in points {
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
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for chunk in chunks.clone() {
            batch.cmd("GET", &self.keys.rollup_chunk(id, tier, chunk));
        }
        batch
            .cmd("HGET", &self.keys.meta(id))
            .arg(open_bucket_field(tier));
        let mut strings: Vec<Option<Vec<u8>>> = batch.query(&connection).await?;
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
            let mut batch = Batch::new(&connection);
            for (start, _) in &buckets {
                batch.cmd("HGETALL", &self.keys.histogram_bucket(id, tier, *start));
            }
            let sketches: Vec<Vec<(String, u64)>> = batch.query(&connection).await?;
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
    /// The raw points of `plan` read from the newest chunk's end backwards, more each time,
    /// until a point older than the plan's start by `late_ms` is among them (or the chunks
    /// are read whole). Chunks hold points in arrival order, so this is every point of the
    /// plan unless one arrived behind a point more than `late_ms` older than the window.
    async fn read_raw_tail(
        &self,
        id: &SeriesId,
        plan: &Plan,
        now_ms: i64,
        late_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        let (from, to) = (
            plan.read_from.max(now_ms - self.retention().raw_ms),
            plan.to,
        );
        let enough_before = from.saturating_sub(late_ms);
        let mut points = Vec::new();
        for chunk in plan.raw_chunks().rev() {
            let key = self.keys.raw_chunk(id, chunk);
            let chunk_start = chunk * RAW_CHUNK_MS;
            let mut records = TAIL_RECORDS;
            let (bytes, reached_old) = loop {
                let wanted = records * RAW_RECORD as i64;
                let bytes: Vec<u8> = redis::cmd("GETRANGE")
                    .arg(&key)
                    .arg(-wanted)
                    .arg(-1)
                    .query_async(&mut self.connection())
                    .await?;
                if !bytes.len().is_multiple_of(RAW_RECORD) {
                    return Err(StorageError::Corrupt {
                        key,
                        reason: format!("{} bytes is not a whole number of points", bytes.len()),
                    });
                }
                let reached_old = bytes
                    .chunks_exact(RAW_RECORD)
                    .any(|record| raw_point(chunk_start, record).0 < enough_before);
                if reached_old || (bytes.len() as i64) < wanted {
                    break (bytes, reached_old);
                }
                records *= 4;
            };
            points.extend(
                bytes
                    .chunks_exact(RAW_RECORD)
                    .map(|record| raw_point(chunk_start, record))
                    .filter(|(ts, _)| (from..to).contains(ts)),
            );
            if reached_old {
                break;
            }
        }
        points.sort_by_key(|(ts, _)| *ts);
        Ok(points)
    }

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
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for chunk in chunks.clone() {
            batch.cmd("GET", &self.keys.raw_chunk(id, chunk));
        }
        let strings: Vec<Option<Vec<u8>>> = batch.query(&connection).await?;
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
            points.extend(
                bytes
                    .chunks_exact(RAW_RECORD)
                    .map(|record| raw_point(chunk_start, record))
                    .filter(|(ts, _)| (from..to).contains(ts)),
            );
        }
        // Stable: points of the same time keep their arrival order.
        points.sort_by_key(|(ts, _)| *ts);
        Ok(points)
    }

    /// Distinct members per step, over every series' bucket of it.
    pub(super) async fn unique_counts(
        &self,
        steps: &Steps,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        let mut starts = Vec::new();
        let mut sets = Vec::new();
        for (start, accumulator) in steps.iter() {
            let keys: Vec<&str> = accumulator
                .extra
                .iter()
                .flat_map(|extra| extra.hll_keys.iter().map(String::as_str))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !keys.is_empty() {
                starts.push(start);
                sets.push(keys);
            }
        }
        let counts = self.union_counts(&sets).await?;
        Ok(starts
            .into_iter()
            .zip(counts)
            .filter(|(_, count)| *count > 0)
            .map(|(start, count)| (start, count as f64))
            .collect())
    }

    /// The count of distinct members of each union of HyperLogLogs in `sets`: one `PFCOUNT`
    /// for a union whose keys share a slot (always, on a single Redis), else the union of the
    /// HyperLogLogs read and counted here (see the `hll` module), never a sum.
    ///
    /// # Errors
    /// Redis failed, or a key holds something other than a HyperLogLog.
    pub(crate) async fn union_counts(&self, sets: &[Vec<&str>]) -> Result<Vec<u64>, StorageError> {
        let connection = self.connection();
        let mut counted = Batch::new(&connection);
        let mut merged = Batch::new(&connection);
        // Per set: counted by Redis, or merged here.
        let mut by_redis = Vec::with_capacity(sets.len());
        for keys in sets {
            let Some(first) = keys.first() else {
                by_redis.push(None);
                continue;
            };
            let one_slot = !connection.is_cluster()
                || keys
                    .iter()
                    .all(|key| Slot::for_key(key) == Slot::for_key(first));
            by_redis.push(Some(one_slot));
            if one_slot {
                counted.routed_by("PFCOUNT", first).arg(keys);
            } else {
                for key in keys {
                    merged.cmd("GET", key);
                }
            }
        }
        let mut counts: std::vec::IntoIter<u64> = if counted.is_empty() {
            Vec::new().into_iter()
        } else {
            counted.query::<Vec<u64>>(&connection).await?.into_iter()
        };
        let mut stored: std::vec::IntoIter<Option<Vec<u8>>> = if merged.is_empty() {
            Vec::new().into_iter()
        } else {
            merged
                .query::<Vec<Option<Vec<u8>>>>(&connection)
                .await?
                .into_iter()
        };
        let mut answers = Vec::with_capacity(sets.len());
        for (keys, by_redis) in sets.iter().zip(by_redis) {
            let count = match by_redis {
                None => 0,
                Some(true) => counts.next().unwrap_or_default(),
                Some(false) => {
                    let mut union = Union::default();
                    for key in keys {
                        if let Some(bytes) = stored.next().flatten() {
                            union.add(&bytes).map_err(|error| StorageError::Corrupt {
                                key: (*key).to_owned(),
                                reason: error.0.to_owned(),
                            })?;
                        }
                    }
                    union.count()
                }
            };
            answers.push(count);
        }
        Ok(answers)
    }
}

/// One raw record of the chunk starting at `chunk_start`: the point's time and value.
fn raw_point(chunk_start: i64, record: &[u8]) -> (i64, f64) {
    let (offset, value) = record.split_at(4);
    let offset = u32::from_le_bytes(offset.try_into().unwrap_or_default());
    (
        chunk_start + i64::from(offset),
        f64::from_le_bytes(value.try_into().unwrap_or_default()),
    )
}
