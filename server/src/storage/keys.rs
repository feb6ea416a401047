//! Every Redis key and channel name livedash uses is built here, and only here.
//!
//! Layout (prefix `ld:` by default; `{id}` is a series id, which is also the Redis Cluster hash
//! tag, so every key of one series lives in one slot):
//! - `ld:{id}:m`: hash `kind`, `v` (current value), `ts` (its time), `total` (a counter's running
//!   total), and per tier `o<tier>` (e.g. `o1m`): the tier's open (newest) bucket, a 56-byte
//!   record (start, then the chunk record below), which moves to its chunk once a newer bucket
//!   replaces it.
//! - `ld:{id}:p:<chunk>`: the raw points of [`RAW_CHUNK_MS`] (chunk `c` holds
//!   `[c * RAW_CHUNK_MS, (c + 1) * RAW_CHUNK_MS)`), in arrival order, as 12-byte records (ms since
//!   the chunk's start as a little-endian u32, value as a little-endian double). Expires when its
//!   newest possible point leaves the raw retention.
//! - `ld:{id}:r:<tier>:<chunk>`: [`CHUNK_BUCKETS`] rollup buckets in one string of fixed 48-byte
//!   records (min, max, sum, count, last, last_ts as little-endian doubles) at
//!   `(bucket start / width) mod CHUNK_BUCKETS`; a zero count is an empty slot. Chunk `c` holds
//!   buckets `c * CHUNK_BUCKETS` to `(c + 1) * CHUNK_BUCKETS - 1`, and expires when its last
//!   bucket leaves the tier's retention. Reading a day of one-minute buckets is 12 `GET`s.
//! - `ld:{id}:h:<tier>:<bucket start>`: histogram sketch bins of one bucket (hash bin → count).
//! - `ld:{id}:u:<tier>:<bucket start>`: HyperLogLog of a set's members in one bucket.
//! - `ld:catalog`: hash `<id>` → JSON [`SeriesKey`]: every series.
//! - `ld:names`: sorted set of metric names, all with score 0, so `ZRANGEBYLEX` finds names by
//!   prefix; `ld:n:<name hash>`: set of the name's series ids.
//! - `ld:changes`: the change log, a stream of [`super::changes::Notice`]s (field `n`), trimmed
//!   by age; `ld:live`: the pub/sub channel that carries each notice as it is appended.
//!
//! The write script (`write.lua`) builds the per-series keys from [`Keys::series_base`] with the
//! same suffixes; everything that reads them uses the functions here.
//!
//! A series id is the first 128 bits of BLAKE3 over the series' canonical text form, in hex.
//! User text (names, label values) therefore never appears in a key, so no name can reach
//! another series' keys or a key outside the prefix.

use app::model::SeriesKey;

/// The identifier of a series inside key names: 32 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(String);

impl SeriesId {
    /// The id of `series`.
    #[must_use]
    pub fn of(series: &SeriesKey) -> Self {
        let digest = blake3::hash(series.to_string().as_bytes());
        Self(hex(&digest.as_bytes()[..16]))
    }

    /// An id read back from the catalog, where livedash stored it.
    #[must_use]
    pub(crate) fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as stored in the catalog.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A metric name's hash, as used in index keys (64 bits of BLAKE3, hex).
#[must_use]
pub fn name_hash(name: &str) -> String {
    hex(&blake3::hash(name.as_bytes()).as_bytes()[..8])
}

/// Lowercase hex digits of `bytes` (ids are made for every series of every write, so without a
/// formatter per byte).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Rollup buckets per chunk key (5 760 bytes when full).
pub const CHUNK_BUCKETS: i64 = 120;
/// Bytes of one rollup bucket record in a chunk.
pub const BUCKET_RECORD: usize = 48;
/// Bytes of a tier's open bucket in the meta hash: its start, then a chunk record.
pub const OPEN_BUCKET_RECORD: usize = 56;
/// Time span of one raw chunk key. Short enough that a live chart's re-read of the newest
/// points stays small, long enough that the key's own overhead is a byte or two per point.
pub const RAW_CHUNK_MS: i64 = 600_000;
/// Bytes of one raw point record.
pub const RAW_RECORD: usize = 12;

/// The meta hash field holding `tier`'s open bucket.
#[must_use]
pub fn open_bucket_field(tier: &str) -> String {
    format!("o{tier}")
}

/// Builds key and channel names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (which config has checked holds no braces).
    #[must_use]
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The common start of every key of one series: `ld:{id}:`.
    #[must_use]
    pub fn series_base(&self, id: &SeriesId) -> String {
        format!("{}{{{}}}:", self.prefix, id.0)
    }

    /// A series' meta hash (kind, current value, counter total).
    #[must_use]
    pub fn meta(&self, id: &SeriesId) -> String {
        format!("{}m", self.series_base(id))
    }

    /// One chunk of a series' raw points.
    #[must_use]
    pub fn raw_chunk(&self, id: &SeriesId, chunk: i64) -> String {
        format!("{}p:{chunk}", self.series_base(id))
    }

    /// One chunk of a series' rollup buckets in `tier`.
    #[must_use]
    pub fn rollup_chunk(&self, id: &SeriesId, tier: &str, chunk: i64) -> String {
        format!("{}r:{tier}:{chunk}", self.series_base(id))
    }

    /// The histogram sketch of one bucket.
    #[must_use]
    pub fn histogram_bucket(&self, id: &SeriesId, tier: &str, start: i64) -> String {
        format!("{}h:{tier}:{start}", self.series_base(id))
    }

    /// The HyperLogLog of one bucket of a set.
    #[must_use]
    pub fn set_bucket(&self, id: &SeriesId, tier: &str, start: i64) -> String {
        format!("{}u:{tier}:{start}", self.series_base(id))
    }

    /// The sorted set of metric names (lexicographic, for prefix search).
    #[must_use]
    pub fn names(&self) -> String {
        format!("{}names", self.prefix)
    }

    /// The set of series ids of one metric name.
    #[must_use]
    pub fn name_index(&self, name: &str) -> String {
        format!("{}n:{}", self.prefix, name_hash(name))
    }

    /// The catalog of every series.
    #[must_use]
    pub fn catalog(&self) -> String {
        format!("{}catalog", self.prefix)
    }

    /// The change log stream.
    #[must_use]
    pub fn change_log(&self) -> String {
        format!("{}changes", self.prefix)
    }

    /// The channel live updates travel on.
    #[must_use]
    pub fn live_channel(&self) -> String {
        format!("{}live", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are stable, fixed-length hex, and differ between series that print alike but for
    /// escaping.
    #[test]
    fn series_ids() {
        let a = SeriesKey::new("cpu").with_label("host", "a");
        assert_eq!(SeriesId::of(&a), SeriesId::of(&a.clone()));
        assert_eq!(SeriesId::of(&a).as_str().len(), 32);
        assert!(
            SeriesId::of(&a)
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        let tricky = SeriesKey::new("cpu").with_label("host", "a\",x=\"b");
        let split = SeriesKey::new("cpu")
            .with_label("host", "a")
            .with_label("x", "b");
        assert_ne!(SeriesId::of(&tricky), SeriesId::of(&split));
    }

    /// Keys carry the prefix and the series id as the hash tag.
    #[test]
    fn key_names() {
        let keys = Keys::new("ld:");
        let id = SeriesId::of(&SeriesKey::new("cpu"));
        let key = keys.meta(&id);
        assert!(key.starts_with("ld:{"));
        assert_eq!(key, format!("ld:{{{}}}:m", id.as_str()));
        assert_eq!(
            keys.rollup_chunk(&id, "1m", 7),
            format!("ld:{{{}}}:r:1m:7", id.as_str())
        );
        assert_eq!(
            keys.raw_chunk(&id, 42),
            format!("ld:{{{}}}:p:42", id.as_str())
        );
        assert_eq!(hex(&[0x00, 0x9f, 0xa0, 0xff]), "009fa0ff");
        assert_eq!(keys.catalog(), "ld:catalog");
        assert_eq!(keys.live_channel(), "ld:live");
    }
}
