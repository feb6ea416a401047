//! The script that adds a batch's events to its people.

/// KEYS: per person, their timeline and their summary. ARGV: when both expire (ms), the most
/// events a timeline keeps; then per person: their id, the number of events then the events'
/// JSON (oldest first), the number of event names then name and count, their earliest and
/// latest event, the time and JSON of their earliest page event's source (`''` and `''` for
/// none).
///
/// The summary hash holds `id`, `e:<event>` counts, `first` and `last` (only moved earlier and
/// later), and `src` with its time `src_ts` (only replaced by an earlier one); `visits` is
/// added to apart (see `record.rs`).
pub const RECORD_LUA: &str = r"#!lua
local expire_at, kept = ARGV[1], tonumber(ARGV[2])
local i = 3
for k = 1, #KEYS, 2 do
  local timeline, summary = KEYS[k], KEYS[k + 1]
  local id = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  redis.call('LPUSH', timeline, unpack(ARGV, i, i + n - 1))
  i = i + n
  redis.call('LTRIM', timeline, 0, kept - 1)
  redis.call('PEXPIREAT', timeline, expire_at)
  local names = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, names do
    redis.call('HINCRBY', summary, 'e:' .. ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  -- Times stay text when written (a Lua number may print in exponent form).
  local first, last, src_ts, src = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local stored = redis.call('HMGET', summary, 'first', 'last', 'src_ts')
  local set = {'id', id}
  if not stored[1] or tonumber(first) < tonumber(stored[1]) then
    set[#set + 1], set[#set + 2] = 'first', first
  end
  if not stored[2] or tonumber(last) > tonumber(stored[2]) then
    set[#set + 1], set[#set + 2] = 'last', last
  end
  if src_ts ~= '' and (not stored[3] or tonumber(src_ts) < tonumber(stored[3])) then
    set[#set + 1], set[#set + 2] = 'src_ts', src_ts
    set[#set + 1], set[#set + 2] = 'src', src
  end
  redis.call('HSET', summary, unpack(set))
  redis.call('PEXPIREAT', summary, expire_at)
end
return 0
";
