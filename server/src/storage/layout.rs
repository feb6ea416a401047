//! The key layout every process on one Redis (and key prefix) must share: what decides which
//! keys hold what (retention, written into the write script; the rollup tiers; the form of the
//! keys). Each process claims it at start and keeps it claimed while it runs; a process started
//! with another layout is refused until every process of the old one has stopped.

use super::{StorageError, Store};
use crate::config::TIERS;

/// Bumped when the form of livedash's keys changes.
const KEY_SCHEMA: u32 = 1;
/// How long a claim lasts unless renewed (processes renew it every [`RENEW_EVERY`]).
const CLAIM_MS: u64 = 30_000;
/// How often a running process renews its claim.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Claims the layout: set it when none is claimed, renew it when it is ours. KEYS: the layout
/// key. ARGV: our layout, the claim's length. Returns '' when claimed, else the other layout.
const CLAIM_LUA: &str = r"#!lua
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ''
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return ''
end
return current
";

/// Another process on this Redis and key prefix runs with another layout.
#[derive(thiserror::Error, Debug)]
#[error(
    "another livedash process on this Redis with key prefix {prefix:?} runs with another key \
     layout ({theirs}; this one: {ours}): start every process with the same \
     LIVEDASH_RETENTION_* and LIVEDASH_LIVE_PARTITIONS settings, or stop the others first"
)]
pub struct LayoutMismatch {
    prefix: String,
    ours: String,
    theirs: String,
}

/// What can stop a claim.
#[derive(thiserror::Error, Debug)]
pub enum ClaimError {
    #[error(transparent)]
    Mismatch(#[from] LayoutMismatch),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Store {
    /// This process's layout, as stored.
    fn layout(&self) -> String {
        let tiers: Vec<String> = TIERS
            .iter()
            .zip(self.retention.tiers_ms)
            .map(|((name, width), keep)| format!("{name}:{width}:{keep}"))
            .collect();
        let mut layout = format!(
            "keys={KEY_SCHEMA} raw={} tiers={}",
            self.retention.raw_ms,
            tiers.join(",")
        );
        // Unpartitioned logs are left out, as before partitions existed.
        if self.log.sharded() {
            let _ = std::fmt::Write::write_fmt(
                &mut layout,
                format_args!(" log-partitions={}", self.log.count()),
            );
        }
        layout
    }

    /// Claims (or renews the claim of) this process's key layout.
    ///
    /// # Errors
    /// Another layout is claimed, or Redis failed.
    pub async fn claim_layout(&self) -> Result<(), ClaimError> {
        let ours = self.layout();
        let theirs: String = redis::Script::new(CLAIM_LUA)
            .key(self.keys.layout())
            .arg(&ours)
            .arg(CLAIM_MS)
            .invoke_async(&mut self.connection())
            .await
            .map_err(StorageError::from)?;
        if theirs.is_empty() {
            return Ok(());
        }
        Err(LayoutMismatch {
            prefix: self.keys.prefix().to_owned(),
            ours,
            theirs,
        }
        .into())
    }
}
