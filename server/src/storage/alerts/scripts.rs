//! The Lua scripts of alerting: a transition in one step, claiming due deadlines, releasing
//! notifications a silence held back.

use std::sync::LazyLock;

/// A transition: compare-and-set of the instance's version; then, together, the instance
/// written (or removed), the history entry, the deadline, and the notifications queued.
/// KEYS: instances hash, history stream, outbox stream, deadlines zset.
/// ARGV: group, expected version, instance JSON ('' removes it), history entry JSON ('' none),
/// oldest history id kept, deadline member, deadline ms ('' removes it, '-' leaves it),
/// then one notification JSON per contact point. Returns 1, or 0 when the version moved.
pub(super) static TRANSITION: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if current then version = cjson.decode(current)['version'] end
if version ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[5], '*', 'e', ARGV[4])
end
if ARGV[7] == '' then
  redis.call('ZREM', KEYS[4], ARGV[6])
elseif ARGV[7] ~= '-' then
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6])
end
for i = 8, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'n', ARGV[i])
end
return 1
",
    )
});

/// Claims up to ARGV[3] deadlines due at ARGV[1] by moving them to ARGV[2] (a lease: a
/// process that dies before evaluating them has them come back then). KEYS: deadlines zset.
pub(super) static CLAIM_DUE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
local claimed = {}
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[2], due[i])
  table.insert(claimed, due[i])
end
return claimed
",
    )
});

/// Releases held notifications due at ARGV[1]: each whose instance has had no transition since
/// it was held goes to the outbox; the others are dropped (a later transition superseded
/// them). KEYS: held zset, outbox stream; ARGV[2]: the instances key prefix.
/// Returns how many were queued.
pub(super) static RELEASE_HELD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
local queued = 0
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local held = cjson.decode(member)
  local current = redis.call('HGET', ARGV[2] .. held['rule_id'], held['group'])
  if current and cjson.decode(current)['transitions'] == held['transitions'] then
    redis.call('XADD', KEYS[2], '*', 'n', held['notification'])
    queued = queued + 1
  end
end
return queued
",
    )
});
