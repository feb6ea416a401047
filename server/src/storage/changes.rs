//! The change log: what each write tells every livedash process.
//!
//! A write appends one [`Notice`] (which series changed, over which time span, and their new
//! current values) to a Redis stream and publishes it, prefixed with its stream id, on the live
//! channel, both in one script so the published order is the log's order. Processes follow the
//! channel; a client that reconnects, or a process whose subscription dropped, reads the stream
//! after the last id it saw. The stream id is the [`Cursor`] clients hold. The stream is
//! trimmed by age on every append, so its size follows the resume window.

use app::live::Cursor;
use app::model::{MetricKind, Observed};
use serde::{Deserialize, Serialize};

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
    /// In log order.
    pub entries: Vec<(Cursor, Notice)>,
    /// False when entries after the cursor were trimmed away (or there were more than asked
    /// for): the reader cannot reconstruct what it missed and must start over from a snapshot.
    pub complete: bool,
}

/// Splits a published message into its cursor and notice.
///
/// # Errors
/// The text is not `<id> <notice JSON>`.
pub fn parse_published(payload: &[u8]) -> Result<(Cursor, Notice), String> {
    let text = std::str::from_utf8(payload).map_err(|e| e.to_string())?;
    let (id, json) = text.split_once(' ').ok_or("expected <id> <notice>")?;
    let cursor = id.parse()?;
    let notice = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok((cursor, notice))
}

impl Store {
    /// Appends `notice` to the change log and publishes it; returns its cursor.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn publish(&self, notice: &Notice, now_ms: i64) -> Result<Cursor, StorageError> {
        let payload = serde_json::to_string(notice).map_err(|error| StorageError::Corrupt {
            key: self.keys.change_log(),
            reason: error.to_string(),
        })?;
        let oldest_kept = (now_ms - self.resume_window_ms).max(0);
        let id: String = self
            .append_script
            .key(self.keys.change_log())
            .arg(self.keys.live_channel())
            .arg(oldest_kept)
            .arg(payload)
            .invoke_async(&mut self.connection())
            .await?;
        self.parse_cursor(&id)
    }

    /// The newest cursor in the log (the default cursor when it is empty).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn log_end(&self) -> Result<Cursor, StorageError> {
        let newest: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.keys.change_log())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.connection())
            .await?;
        newest
            .first()
            .map_or(Ok(Cursor::default()), |(id, _)| self.parse_cursor(id))
    }

    /// Up to `limit` log entries after `after`.
    ///
    /// # Errors
    /// Redis failed, or the log holds entries livedash did not write.
    pub async fn log_after(&self, after: Cursor, limit: usize) -> Result<LogRead, StorageError> {
        type Entry = (String, Vec<(String, String)>);
        let (deleted, entries): (String, Vec<Entry>) = self
            .read_script
            .key(self.keys.change_log())
            .arg(after.to_string())
            .arg(limit + 1)
            .invoke_async(&mut self.connection())
            .await?;
        let deleted = self.parse_cursor(&deleted)?;
        let mut read = LogRead {
            entries: Vec::with_capacity(entries.len()),
            complete: deleted <= after && entries.len() <= limit,
        };
        for (id, fields) in entries.into_iter().take(limit) {
            let cursor = self.parse_cursor(&id)?;
            let json = fields
                .iter()
                .find(|(field, _)| field == "n")
                .map(|(_, json)| json.as_str())
                .unwrap_or("{}");
            let notice = serde_json::from_str(json).map_err(|error| StorageError::Corrupt {
                key: self.keys.change_log(),
                reason: format!("entry {id}: {error}"),
            })?;
            read.entries.push((cursor, notice));
        }
        Ok(read)
    }

    fn parse_cursor(&self, id: &str) -> Result<Cursor, StorageError> {
        id.parse().map_err(|reason| StorageError::Corrupt {
            key: self.keys.change_log(),
            reason,
        })
    }
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
        let (cursor, parsed) = parse_published(text.as_bytes()).unwrap();
        assert_eq!(cursor.to_string(), "17-3");
        assert_eq!(parsed, notice);
        assert!(parse_published(b"17-3").is_err());
        assert!(parse_published(b"x {}").is_err());
        assert!(parse_published(b"1-0 {").is_err());
    }
}
