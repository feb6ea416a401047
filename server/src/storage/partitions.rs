//! The change log's partitions (see the `changes` module): each one's stream and channel,
//! which series goes to which, and an entry's place in the log.

use app::live::Position;

use super::keys::{Keys, SeriesId};

/// The change log's partitions: each one's stream and channel.
#[derive(Debug)]
pub struct ChangeLog {
    partitions: Vec<LogPartition>,
}

/// One partition of the change log.
#[derive(Debug, Clone)]
pub struct LogPartition {
    /// The stream holding its entries.
    pub stream: String,
    /// The channel its entries are published on: a sharded channel (`SPUBLISH`) when the log
    /// has several partitions, else a classic one.
    pub channel: String,
}

impl ChangeLog {
    /// The log in `count` partitions (at least one).
    #[must_use]
    pub fn new(keys: &Keys, count: usize) -> Self {
        let count = count.max(1);
        Self {
            partitions: (0..count)
                .map(|partition| {
                    let (stream, channel) = keys.log_partition(partition, count);
                    LogPartition { stream, channel }
                })
                .collect(),
        }
    }

    /// How many partitions.
    #[must_use]
    pub fn count(&self) -> usize {
        self.partitions.len()
    }

    /// Whether entries travel on sharded channels (`SPUBLISH`, `SSUBSCRIBE`).
    #[must_use]
    pub fn sharded(&self) -> bool {
        self.partitions.len() > 1
    }

    /// Partition `partition`.
    #[must_use]
    pub fn partition(&self, partition: usize) -> &LogPartition {
        &self.partitions[partition]
    }

    /// The partition of series `id`'s notices (ids are hashes: their first digits spread
    /// evenly).
    #[must_use]
    pub fn partition_of(&self, id: &SeriesId) -> usize {
        let digits = id.as_str().get(..8).unwrap_or("0");
        let number = u32::from_str_radix(digits, 16).unwrap_or(0);
        number as usize % self.partitions.len()
    }
}

/// An entry's place in the log: its partition and its position there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub partition: usize,
    pub position: Position,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series always goes to one partition, and partitions share the series out.
    #[test]
    fn series_spread_over_partitions() {
        let keys = Keys::new("ld:");
        let log = ChangeLog::new(&keys, 4);
        let mut counts = [0_usize; 4];
        for host in 0..4_000 {
            let key = app::model::SeriesKey::new("cpu").with_label("host", host.to_string());
            let id = SeriesId::of(&key);
            assert_eq!(log.partition_of(&id), log.partition_of(&id));
            counts[log.partition_of(&id)] += 1;
        }
        assert!(
            counts.iter().all(|count| (800..1_200).contains(count)),
            "{counts:?}"
        );
        assert_eq!(
            ChangeLog::new(&keys, 1).partition_of(&SeriesId::of(&app::model::SeriesKey::new("x"))),
            0
        );
        assert!(!ChangeLog::new(&keys, 1).sharded());
        assert!(log.sharded());
    }
}
