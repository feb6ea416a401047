//! The Lua scripts the store runs: the write script (its body with this configuration's
//! retention written in as constants), and the change log's append-and-publish and read.

use super::{keys, sketch};
use crate::config::{Retention, TIERS};

/// The write script's body; see the file for its contract, and [`write_script`].
const WRITE_LUA: &str = include_str!("write.lua");

/// The write script with the configuration written in as constants, so that a call passes
/// only the series and its points (processes with the same configuration share the script).
pub(super) fn write_script(retention: Retention) -> String {
    use std::fmt::Write as _;
    // The shebang has Redis refuse a key of another slot than the declared ones, on a cluster:
    // the rule that all keys of a series share its hash tag is checked, not assumed.
    let mut script = format!(
        "#!lua\nlocal RAW_KEEP, RAW_CHUNK, LN_GAMMA, CHUNK_BUCKETS, IDEMPOTENCY_MS = {}, {}, {}, {}, {}\nlocal TIERS = {{\n",
        retention.raw_ms,
        keys::RAW_CHUNK_MS,
        sketch::LN_GAMMA,
        keys::CHUNK_BUCKETS,
        keys::IDEMPOTENCY_MS,
    );
    for ((name, width), keep) in TIERS.iter().zip(retention.tiers_ms) {
        let field = keys::open_bucket_field(name);
        let _ = writeln!(
            script,
            "  {{ name = '{name}', width = {width}, keep = {keep}, field = '{field}' }},"
        );
    }
    script.push_str("}\nlocal STATE_FIELDS = { 'kind', 'v', 'ts', 'total'");
    for (name, _) in TIERS {
        let _ = write!(script, ", '{}'", keys::open_bucket_field(name));
    }
    script.push_str(" }\n");
    script.push_str(WRITE_LUA);
    script
}

/// Appends to the log and publishes in one step: the published text is `<id> <notice>`.
/// ARGV: channel, oldest id kept, notice, 1 for a sharded channel (same slot as the stream).
const APPEND_LUA: &str = r"#!lua
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'n', ARGV[3])
redis.call(ARGV[4] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[1], id .. ' ' .. ARGV[3])
return id
";

/// Reads entries after a cursor, with the newest id trimming removed (so a reader can tell
/// whether entries it needed are gone).
const READ_LUA: &str = r"#!lua
local deleted = '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  end
end
return {deleted, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}
";

/// The change log's scripts (append and publish, read), loaded once per store.
pub(super) fn change_scripts() -> (redis::Script, redis::Script) {
    (redis::Script::new(APPEND_LUA), redis::Script::new(READ_LUA))
}
