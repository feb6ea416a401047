//! The change log: what each write tells every livedash process.
//!
//! A write appends one [`Notice`] (which series changed, over which time span, and their new
//! current values) to a Redis stream and publishes it, prefixed with its stream id, on the live
//! channel, both in one script so the published order is the log's order. Processes follow the
//! channel; a client that reconnects, or a process whose subscription dropped, reads the stream
//! after the last id it saw. The stream is trimmed by age on every append, so its size follows
//! the resume window.
//!
//! The log may be split into partitions ([`ChangeLog`]), each a stream and a sharded pub/sub
//! channel of its own slot, so that on a Redis Cluster no single key or node carries every
//! write: a series' notices always go to the same partition, and a [`Cursor`] holds a position
//! per partition.

use app::live::{Cursor, Position};
use app::model::{MetricKind, Observed};
use serde::{Deserialize, Serialize};

use futures::future::try_join_all;

pub use super::partitions::{ChangeLog, LogPartition, Stamp};
use super::{SeriesId, StorageError, Store};

/// One series in a [`Notice`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Changed {
    /// Which series (its id; the catalog has its name and labels).
    pub id: String,
    /// Earliest timestamp written, ms.
    pub from: i64,
    /// Latest timestamp written, ms.
    pub to: i64,
    /// The new current value and its time, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<(f64, i64)>,
    /// The series' kind, with a new current value (what the value is, for listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MetricKind>,
    /// The lowest and highest value written, when every one was a plain number (not a set
    /// member, nor a change to a gauge): what tells alerting that a write cannot move a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(f64, f64)>,
}

/// The lowest and highest of `values`, when there are some and all are plain numbers.
#[must_use]
pub fn value_span<'a>(values: impl IntoIterator<Item = &'a Observed>) -> Option<(f64, f64)> {
    let mut span: Option<(f64, f64)> = None;
    for value in values {
        let Observed::Number(value) = value else {
            return None;
        };
        if value.is_nan() {
            return None;
        }
        span = Some(span.map_or((*value, *value), |(low, high)| {
            (low.min(*value), high.max(*value))
        }));
    }
    span
}

impl Changed {
    /// The series id.
    #[must_use]
    pub fn series_id(&self) -> SeriesId {
        SeriesId::from_stored(self.id.clone())
    }
}

/// What one write changed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Notice {
    /// The series written.
    pub series: Vec<Changed>,
}

/// Entries read from the log after a cursor.
#[derive(Debug, Default)]
pub struct LogRead {
    /// In log order within each partition.
    pub entries: Vec<(Stamp, Notice)>,
    /// False when entries after the cursor were trimmed away (or there were more than asked
    /// for): the reader cannot reconstruct what it missed and must start over from a snapshot.
    pub complete: bool,
}

/// Splits a published message into its position in its partition and its notice.
///
/// # Errors
/// The text is not `<id> <notice JSON>`.
pub fn parse_published(payload: &[u8]) -> Result<(Position, Notice), String> {
    let text = std::str::from_utf8(payload).map_err(|e| e.to_string())?;
    let (id, json) = text.split_once(' ').ok_or("expected <id> <notice>")?;
    let cursor = id.parse()?;
    let notice = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok((cursor, notice))
}

impl Store {
    /// The change log's partitions.
    #[must_use]
    pub fn change_log(&self) -> &ChangeLog {
        &self.log
    }

    /// Appends `notice` to the change log and publishes it: each series to its partition, the
    /// partitions at once.
    ///
    /// # Errors
    /// Redis failed (for some partition: the others may have been written).
    pub async fn publish(&self, notice: &Notice, now_ms: i64) -> Result<(), StorageError> {
        // One partition takes the notice as it is: no copy of its changes on every write.
        let parts: Vec<std::borrow::Cow<'_, Notice>> = if self.log.sharded() {
            let mut parts = vec![Notice::default(); self.log.count()];
            for change in &notice.series {
                parts[self.log.partition_of(&change.series_id())]
                    .series
                    .push(change.clone());
            }
            parts.into_iter().map(std::borrow::Cow::Owned).collect()
        } else {
            vec![std::borrow::Cow::Borrowed(notice)]
        };
        let oldest_kept = (now_ms - self.resume_window_ms).max(0);
        let sharded = u8::from(self.log.sharded());
        let appends = parts
            .iter()
            .enumerate()
            .filter(|(_, part)| !part.series.is_empty())
            .map(|(partition, part)| async move {
                let partition = self.log.partition(partition);
                let payload =
                    serde_json::to_string(&**part).map_err(|error| StorageError::Corrupt {
                        key: partition.stream.clone(),
                        reason: error.to_string(),
                    })?;
                let _: String = self
                    .append_script
                    .key(&partition.stream)
                    .arg(&partition.channel)
                    .arg(oldest_kept)
                    .arg(payload)
                    .arg(sharded)
                    .invoke_async(&mut self.connection())
                    .await?;
                Ok::<(), StorageError>(())
            });
        try_join_all(appends).await?;
        Ok(())
    }

    /// The newest position in each partition (the start for an empty one).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn log_end(&self) -> Result<Cursor, StorageError> {
        let ends = (0..self.log.count()).map(|partition| self.partition_end(partition));
        Ok(Cursor::new(try_join_all(ends).await?))
    }

    /// The newest position in partition `partition`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn partition_end(&self, partition: usize) -> Result<Position, StorageError> {
        let stream = &self.log.partition(partition).stream;
        let newest: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.connection())
            .await?;
        newest.first().map_or(Ok(Position::default()), |(id, _)| {
            parse_position(stream, id)
        })
    }

    /// Up to `limit` log entries of each partition after `after`.
    ///
    /// # Errors
    /// Redis failed, or the log holds entries livedash did not write.
    pub async fn log_after(&self, after: &Cursor, limit: usize) -> Result<LogRead, StorageError> {
        let reads = (0..self.log.count())
            .map(|partition| self.partition_after(partition, after.get(partition), limit));
        let mut read = LogRead {
            entries: Vec::new(),
            complete: true,
        };
        for part in try_join_all(reads).await? {
            read.complete &= part.complete;
            read.entries.extend(part.entries);
        }
        Ok(read)
    }

    /// Up to `limit` entries of partition `partition` after `after`.
    ///
    /// # Errors
    /// Redis failed, or the log holds entries livedash did not write.
    pub async fn partition_after(
        &self,
        partition: usize,
        after: Position,
        limit: usize,
    ) -> Result<LogRead, StorageError> {
        type Entry = (String, Vec<(String, String)>);
        let stream = &self.log.partition(partition).stream;
        let (deleted, entries): (String, Vec<Entry>) = self
            .read_script
            .key(stream)
            .arg(after.to_string())
            .arg(limit + 1)
            .invoke_async(&mut self.connection())
            .await?;
        let deleted = parse_position(stream, &deleted)?;
        let mut read = LogRead {
            entries: Vec::with_capacity(entries.len()),
            complete: deleted <= after && entries.len() <= limit,
        };
        for (id, fields) in entries.into_iter().take(limit) {
            let position = parse_position(stream, &id)?;
            let json = fields
                .iter()
                .find(|(field, _)| field == "n")
                .map(|(_, json)| json.as_str())
                .unwrap_or("{}");
            let notice = serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
                key: stream.clone(),
                reason: format!("entry {id}: {error}"),
            })?;
            read.entries.push((
                Stamp {
                    partition,
                    position,
                },
                notice,
            ));
        }
        Ok(read)
    }
}

fn parse_position(stream: &str, id: &str) -> Result<Position, StorageError> {
    id.parse().map_err(|reason| StorageError::Corrupt {
        key: stream.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_of_values_is_their_lowest_and_highest_numbers_only() {
        let numbers = [3.0, -1.5, 7.0].map(Observed::Number);
        assert_eq!(value_span(&numbers), Some((-1.5, 7.0)));
        assert_eq!(value_span(&[]), None);
        let mixed = [Observed::Number(1.0), Observed::Change(2.0)];
        assert_eq!(value_span(&mixed), None);
        assert_eq!(value_span(&[Observed::Number(f64::NAN)]), None);
    }

    /// A published message splits into its cursor and notice; garbage is refused.
    #[test]
    fn published_messages_parse() {
        let notice = Notice {
            series: vec![Changed {
                id: "ab".into(),
                from: 1,
                to: 2,
                current: Some((4.5, 2)),
                kind: None,
                span: Some((4.5, 4.5)),
            }],
        };
        let text = format!("17-3 {}", serde_json::to_string(&notice).unwrap());
        let (position, parsed) = parse_published(text.as_bytes()).unwrap();
        assert_eq!(position.to_string(), "17-3");
        assert_eq!(parsed, notice);
        assert!(parse_published(b"17-3").is_err());
        assert!(parse_published(b"x {}").is_err());
        assert!(parse_published(b"1-0 {").is_err());
    }
}
