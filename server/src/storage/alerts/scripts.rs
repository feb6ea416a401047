//! The Lua scripts of alerting: a transition in one step, claiming due deadlines, releasing
//! notifications a silence held back, grouping notifications.

use std::sync::LazyLock;

/// A transition: compare-and-set of the instance's version; then, together, the instance
/// written (or removed), the history entry, the deadline, and the notifications queued.
/// KEYS: instances hash, history stream, outbox stream, deadlines zset.
/// ARGV: group, expected version, instance JSON ('' removes it), history entry JSON ('' none),
/// oldest history id kept, deadline member, deadline ms ('' removes it, '-' leaves it),
/// then one notification JSON per contact point. Returns 1, or 0 when the version moved.
pub(super) static TRANSITION: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"#!lua
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
        r"#!lua
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
        r"#!lua
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

/// Adds a notification to its group, in one step with taking it out of the outbox: the group's
/// alert (one field per instance: a later change replaces an earlier one not yet sent), and
/// the group's next notification scheduled unless one is due sooner: after the group wait for
/// a new group, otherwise a group interval after its last notification (or now, when that
/// has passed). KEYS: groups zset, groups' last notification hash, the group's changes hash,
/// outbox stream, attempts hash. ARGV: group member, instance field, notification JSON, now,
/// group wait, group interval, outbox entry id, consumer group.
pub(super) static GROUP_ADD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"#!lua
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
local now = tonumber(ARGV[4])
local last = redis.call('HGET', KEYS[2], ARGV[1])
local at = now + tonumber(ARGV[5])
if last then at = math.max(now, tonumber(last) + tonumber(ARGV[6])) end
redis.call('ZADD', KEYS[1], 'LT', at, ARGV[1])
redis.call('XACK', KEYS[4], ARGV[8], ARGV[7])
redis.call('XDEL', KEYS[4], ARGV[7])
redis.call('HDEL', KEYS[5], ARGV[7])
return 1
",
    )
});

/// Sends a due group: one notification with the changes since its last one and the alerts of
/// the group still firing (those whose instance had no transition since; the others are
/// dropped), queued in the outbox. Resolved alerts leave the group; while some fire, the group
/// is due again after the repeat interval (if any). A group with nothing firing is forgotten.
/// KEYS: groups zset, groups' last notification hash, the group's changes hash, the group's
/// firing hash, outbox stream. ARGV: group member, now, repeat interval ('' none), instances
/// key prefix. Returns how many alerts were sent, or -1 when the group was not due.
pub(super) static GROUP_FLUSH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r##"#!lua
local now = tonumber(ARGV[2])
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > now then return -1 end
local changes = redis.call('HGETALL', KEYS[3])
local firing = redis.call('HGETALL', KEYS[4])
local changed = {}
for i = 1, #changes, 2 do changed[changes[i]] = true end
local alerts = {}
for i = 1, #firing, 2 do
  if not changed[firing[i]] then
    local alert = cjson.decode(firing[i + 1])
    local current = redis.call('HGET', ARGV[4] .. alert['rule_id'], alert['group'])
    if current and cjson.decode(current)['transitions'] == alert['transitions'] then
      table.insert(alerts, firing[i + 1])
    else
      redis.call('HDEL', KEYS[4], firing[i])
    end
  end
end
for i = 1, #changes, 2 do
  table.insert(alerts, changes[i + 1])
  if cjson.decode(changes[i + 1])['status'] == 'firing' then
    redis.call('HSET', KEYS[4], changes[i], changes[i + 1])
  else
    redis.call('HDEL', KEYS[4], changes[i])
  end
end
redis.call('DEL', KEYS[3])
if #alerts > 0 then
  redis.call('XADD', KEYS[5], '*', 'g', '{"group":' .. ARGV[1] .. ',"alerts":[' .. table.concat(alerts, ',') .. ']}')
  redis.call('HSET', KEYS[2], ARGV[1], now)
end
if redis.call('HLEN', KEYS[4]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
elseif ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return #alerts
"##,
    )
});
