//! The script that stores what livedash worked out for a batch of one site's users in one
//! partition: their visit lists and retention records, each compared with what was read first
//! so that nothing another writer did in between is overwritten, and the batch's summed
//! changes to the counts, all or nothing.

/// KEYS[1]: the current visitors (member → last event); KEYS[2]: the retention ids hash (member
/// → `id,first`, field `#next` the ids given); KEYS[3] and KEYS[4]: the current and the previous
/// generation's visit lists (member → list).
///
/// ARGV: the start of the partition's keys, when the current generation expires (ms), the
/// current visitors' cutoff (older entries are dropped), the retention bitmaps' time to live;
/// then sections, each led by its number of items:
/// - visit lists: the member, the list read (`''` for none), the new list;
/// - current visitors: last event, member;
/// - new users: member, first event, its day, its week, the number of days then the days, the
///   number of weeks then the weeks they were active in;
/// - cohort moves: member, the record read, the new record, id, old day, old week, new day,
///   new week;
/// - activity bits: the bitmap (after the start), the number of ids, the ids;
/// - numbers: the hash (after the start), its time to live, the number of fields, then field
///   and change;
/// - rankings: the sorted set (after the start), its time to live, the number of values, then
///   value and change;
/// - visitors: the HyperLogLog (after the start), its time to live, the number of members, the
///   members.
///
/// Answers `[n]`, n the number of values read that changed since (then nothing was written:
/// read again and retry), or `[0, ids…]`, the ids given to the new users in their order.
pub const APPLY_LUA: &str = r"#!lua
local base = ARGV[1]
local lists_expire_at = ARGV[2]
local cutoff = ARGV[3]
local kept = ARGV[4]
local i = 5
local function take()
  local n = tonumber(ARGV[i])
  i = i + 1
  return n
end

-- Sections' starts, then every read value checked before anything is written.
local visits = i
local nv = take()
i = i + 3 * nv
local current = i
local nc = take()
i = i + 2 * nc
local nn = take()
local new_users = {}
for _ = 1, nn do
  local user = {member = ARGV[i], first = ARGV[i + 1], day = ARGV[i + 2], week = ARGV[i + 3]}
  i = i + 4
  local nd = take()
  user.days = {i, nd}
  i = i + nd
  local nw = take()
  user.weeks = {i, nw}
  i = i + nw
  new_users[#new_users + 1] = user
end
local moves = i
local nm = take()
i = i + 8 * nm

-- Commands that take many fields or members get them in parts, for unpack's limit.
local function in_parts(command, key, items, width)
  local answer = {}
  for from = 1, #items, width do
    local part = redis.call(command, key, unpack(items, from, math.min(from + width - 1, #items)))
    if type(part) == 'table' then
      for k = 1, #part do answer[from + k - 1] = part[k] end
    end
  end
  return answer
end

-- One HMGET per generation for every user's list, not a GET each.
local members = {}
for k = 1, nv do members[k] = ARGV[visits + 3 * k - 2] end
local lists = nv > 0 and in_parts('HMGET', KEYS[3], members, 4000) or {}
local moved, at = {}, {}
for k = 1, nv do
  if not lists[k] then moved[#moved + 1] = members[k]; at[#at + 1] = k end
end
if #moved > 0 then
  local older = in_parts('HMGET', KEYS[4], moved, 4000)
  for m = 1, #at do lists[at[m]] = older[m] end
end

local conflicts = 0
for k = 1, nv do
  if (lists[k] or '') ~= ARGV[visits + 3 * k - 1] then conflicts = conflicts + 1 end
end
for _, user in ipairs(new_users) do
  if redis.call('HEXISTS', KEYS[2], user.member) == 1 then conflicts = conflicts + 1 end
end
for j = moves + 1, moves + 8 * nm, 8 do
  if redis.call('HGET', KEYS[2], ARGV[j]) ~= ARGV[j + 1] then conflicts = conflicts + 1 end
end
if conflicts > 0 then return {conflicts} end

if nv > 0 then
  local written = {}
  for k = 1, nv do
    written[2 * k - 1], written[2 * k] = members[k], ARGV[visits + 3 * k]
  end
  in_parts('HSET', KEYS[3], written, 4000)
  redis.call('PEXPIREAT', KEYS[3], lists_expire_at)
  if #moved > 0 then in_parts('HDEL', KEYS[4], moved, 4000) end
end
if nc > 0 then
  redis.call('ZADD', KEYS[1], 'GT', unpack(ARGV, current + 1, current + 2 * nc))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
  redis.call('PEXPIREAT', KEYS[1], lists_expire_at)
end

-- Each bitmap is given its time to live once per call, not once per bit.
local touched = {}
local function bit(name, id, value)
  local key = base .. name
  redis.call('SETBIT', key, id, value)
  touched[key] = true
end
local answer = {0}
for _, user in ipairs(new_users) do
  local id = redis.call('HINCRBY', KEYS[2], '#next', 1) - 1
  answer[#answer + 1] = id
  redis.call('HSET', KEYS[2], user.member, id .. ',' .. user.first)
  bit('r:c:d:' .. user.day, id, 1)
  bit('r:c:w:' .. user.week, id, 1)
  for j = user.days[1], user.days[1] + user.days[2] - 1 do bit('r:a:d:' .. ARGV[j], id, 1) end
  for j = user.weeks[1], user.weeks[1] + user.weeks[2] - 1 do bit('r:a:w:' .. ARGV[j], id, 1) end
end
for j = moves + 1, moves + 8 * nm, 8 do
  local id = tonumber(ARGV[j + 3])
  redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 2])
  bit('r:c:d:' .. ARGV[j + 4], id, 0)
  bit('r:c:w:' .. ARGV[j + 5], id, 0)
  bit('r:c:d:' .. ARGV[j + 6], id, 1)
  bit('r:c:w:' .. ARGV[j + 7], id, 1)
end
-- One BITFIELD per bitmap (in parts, for unpack's limit) instead of one SETBIT per user.
for _ = 1, take() do
  local key = base .. ARGV[i]
  i = i + 1
  local n = take()
  local set = {}
  for j = 0, n - 1 do
    set[4 * j + 1], set[4 * j + 2], set[4 * j + 3], set[4 * j + 4] = 'SET', 'u1', ARGV[i + j], 1
  end
  for from = 1, #set, 4000 do
    redis.call('BITFIELD', key, unpack(set, from, math.min(from + 3999, #set)))
  end
  touched[key] = true
  i = i + n
end
for key in pairs(touched) do redis.call('PEXPIRE', key, kept, 'NX') end

for _ = 1, take() do
  local key, ttl = base .. ARGV[i], ARGV[i + 1]
  i = i + 2
  for _ = 1, take() do
    redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', key, ttl, 'NX')
end
for _ = 1, take() do
  local key, ttl = base .. ARGV[i], ARGV[i + 1]
  i = i + 2
  for _ = 1, take() do
    local score = tonumber(redis.call('ZINCRBY', key, ARGV[i + 1], ARGV[i]))
    if score <= 0 then redis.call('ZREM', key, ARGV[i]) end
    i = i + 2
  end
  redis.call('PEXPIRE', key, ttl, 'NX')
end
for _ = 1, take() do
  local key, ttl = base .. ARGV[i], ARGV[i + 1]
  i = i + 2
  local n = take()
  for from = i, i + n - 1, 4000 do
    redis.call('PFADD', key, unpack(ARGV, from, math.min(from + 3999, i + n - 1)))
  end
  i = i + n
  redis.call('PEXPIRE', key, ttl, 'NX')
end
return answer
";

/// Forgets one user on one site (in their partition): KEYS[1] the current visitors, KEYS[2]
/// the retention ids hash, then the generations of visit lists that may hold theirs. ARGV: the
/// start of the partition's keys, the user's member (their id's hash), today's day and week,
/// the days the bitmaps are kept.
///
/// Their cohort bits and every activity bit from their first period (or the oldest kept) to
/// tomorrow's are cleared
/// (a bit only where it is set, so no bitmap is made or grown); the counts they were part of
/// stay, as they hold no one's id. Answers whether they had a retention record.
pub const FORGET_LUA: &str = r"#!lua
local base, member = ARGV[1], ARGV[2]
local today, this_week, kept = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREM', KEYS[1], member)
for k = 3, #KEYS do redis.call('HDEL', KEYS[k], member) end
local record = redis.call('HGET', KEYS[2], member)
if not record then return 0 end
local id, first = string.match(record, '^(%d+),(-?%d+)$')
redis.call('HDEL', KEYS[2], member)
if not id then return 1 end
id, first = tonumber(id), tonumber(first)
local function clear(name)
  local key = base .. name
  if redis.call('GETBIT', key, id) == 1 then redis.call('SETBIT', key, id, 0) end
end
local day = math.floor(first / 86400000)
local week = math.floor((day + 3) / 7)
clear('r:c:d:' .. day)
clear('r:c:w:' .. week)
for d = math.max(day, today - kept), today + 1 do clear('r:a:d:' .. d) end
for w = math.max(week, this_week - math.ceil(kept / 7)), this_week + 1 do clear('r:a:w:' .. w) end
return 1
";
