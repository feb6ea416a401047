-- Stores the samples of one series from one batch: raw points, rollups, current value.
-- Every key shares the series' hash tag (it starts with ARGV[1]), so in Redis Cluster the
-- whole update runs on one node, atomically. The key suffixes are documented, and built for
-- reading, in keys.rs.
--
-- KEYS[1]  meta hash: kind, v (current value), ts (its time), total (counters), raw_ms,
--          raw_exp (when the raw stream expires)
-- KEYS[2]  raw stream
-- ARGV     base, kind, now_ms, raw_retention_ms, ln_gamma, chunk_buckets, tier_count,
--          tier_count x (name, width_ms, retention_ms), then (ts_ms, value) pairs; a gauge
--          value `d<number>` is a change to the current value rather than a value
-- Returns  {current value, its ts} when the current value changed, {} when it did not (a late
--          point, or a set); or an error "KIND <stored kind>".
local meta, raw = KEYS[1], KEYS[2]
local base, kind = ARGV[1], ARGV[2]
local now, raw_keep = tonumber(ARGV[3]), tonumber(ARGV[4])
local ln_gamma, chunk_buckets = tonumber(ARGV[5]), tonumber(ARGV[6])
local tiers, i = {}, 8
for t = 1, tonumber(ARGV[7]) do
  tiers[t] = { name = ARGV[i], width = tonumber(ARGV[i + 1]), keep = tonumber(ARGV[i + 2]) }
  i = i + 3
end

local state = redis.call('HMGET', meta, 'kind', 'v', 'ts', 'total', 'raw_ms', 'raw_exp')
local stored_kind = state[1]
if stored_kind and stored_kind ~= kind then
  return redis.error_reply('KIND ' .. stored_kind)
end

-- Shortest of %.15g / %.17g that reads back as the same double.
local function fmt(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end

local function int(x) return string.format('%d', x) end

-- Log-bucketed sketch bin (DDSketch): relative error (gamma - 1) / (gamma + 1).
local function bin(x)
  if x > 0 then return 'p' .. int(math.ceil(math.log(x) / ln_gamma)) end
  if x < 0 then return 'n' .. int(math.ceil(math.log(-x) / ln_gamma)) end
  return 'z'
end

local cur_v, cur_ts = state[2], tonumber(state[3] or '-1')
local before_v, before_ts = cur_v, cur_ts
local total, last_raw = tonumber(state[4] or '0'), tonumber(state[5] or '-1')
-- When the raw stream's expiry was last pushed back; renewed once half of it has passed.
local raw_exp = tonumber(state[6] or '0')
local raw_min = now - raw_keep
local trimmed, added = false, false
-- What the batch does to each bucket, gathered first so that each touched key is read and
-- written once, not once per point.
local buckets, bucket_starts = {}, {}
for t = 1, #tiers do buckets[t], bucket_starts[t] = {}, {} end
local bins, bin_keys = {}, {}
local sets, set_keys = {}, {}
local expiries = {}

for p = i, #ARGV, 2 do
  local ts, value = tonumber(ARGV[p]), ARGV[p + 1]
  if kind == 'gauge' and string.sub(value, 1, 1) == 'd' then
    -- A gauge change (`d<number>`): relative to the current value, in arrival order.
    value = fmt(tonumber(cur_v or '0') + tonumber(string.sub(value, 2)))
    cur_v, cur_ts = value, math.max(cur_ts, ts)
  end
  local x = tonumber(value)
  if kind == 'counter' then total = total + x end

  if kind ~= 'set' and ts >= raw_min then
    -- The first append of a batch also trims what left the retention (whole stream nodes,
    -- `~`: exact trimming would rewrite the head node on every write; queries filter by id).
    local args = { raw }
    if not trimmed then
      args = { raw, 'MINID', '~', int(raw_min) }
      trimmed, added = true, true
    end
    if ts >= last_raw then
      last_raw = ts
      args[#args + 1] = int(ts) .. '-*'
      args[#args + 1] = 'v'
      args[#args + 1] = value
    else
      -- Late point: stream ids must grow, so it goes at the tail and keeps its time in `t`.
      args[#args + 1] = int(last_raw) .. '-*'
      args[#args + 1] = 'v'
      args[#args + 1] = value
      args[#args + 1] = 't'
      args[#args + 1] = int(ts)
    end
    redis.call('XADD', unpack(args))
  end

  if ts >= cur_ts then
    cur_ts = ts
    if kind ~= 'counter' and kind ~= 'set' then cur_v = value end
  end

  for t = 1, #tiers do
    local tier = tiers[t]
    local start = ts - (ts % tier.width)
    local expires = start + tier.width + tier.keep
    if expires > now then
      if kind == 'set' then
        local key = base .. 'u:' .. tier.name .. ':' .. int(start)
        local members = sets[key]
        if not members then
          members = {}
          sets[key] = members
          set_keys[#set_keys + 1] = key
        end
        members[#members + 1] = value
        expiries[key] = expires
      else
        -- Buckets are keyed by number here; key names are built once per bucket, below.
        local last = x
        if kind == 'counter' then last = total end
        local per_tier = buckets[t]
        local b = per_tier[start]
        if not b then
          per_tier[start] = { mn = x, mx = x, sum = x, count = 1, last = last, last_ts = ts }
          bucket_starts[t][#bucket_starts[t] + 1] = start
        else
          if x < b.mn then b.mn = x end
          if x > b.mx then b.mx = x end
          b.sum, b.count = b.sum + x, b.count + 1
          if ts >= b.last_ts then b.last, b.last_ts = last, ts end
        end
        if kind == 'histogram' then
          local hkey = base .. 'h:' .. tier.name .. ':' .. int(start)
          local counts = bins[hkey]
          if not counts then
            counts = {}
            bins[hkey] = counts
            bin_keys[#bin_keys + 1] = hkey
          end
          local name = bin(x)
          counts[name] = (counts[name] or 0) + 1
          expiries[hkey] = expires
        end
      end
    end
  end
end

-- One read-modify-write per bucket the batch touched, however many points fell in it. A chunk
-- is a string of fixed 48-byte records (min, max, sum, count, last, last_ts as little-endian
-- doubles), one per bucket; a zero count is an empty slot.
for t = 1, #tiers do
  local tier = tiers[t]
  for _, start in ipairs(bucket_starts[t]) do
    local b = buckets[t][start]
    local index = start / tier.width
    local chunk = math.floor(index / chunk_buckets)
    local key = base .. 'r:' .. tier.name .. ':' .. int(chunk)
    local offset = (index % chunk_buckets) * 48
    local old = redis.call('GETRANGE', key, offset, offset + 47)
    local stored = false
    if #old == 48 then
      local mn, mx, sum, count, last, last_ts = struct.unpack('<dddddd', old)
      if count > 0 then
        stored = true
        b.mn, b.mx = math.min(mn, b.mn), math.max(mx, b.mx)
        b.sum, b.count = sum + b.sum, count + b.count
        if last_ts > b.last_ts then b.last, b.last_ts = last, last_ts end
      end
    end
    if not stored then
      -- A new bucket; the chunk's expiry is fixed (its last bucket's end plus the retention),
      -- so setting it when a bucket first appears is enough.
      expiries[key] = (chunk + 1) * chunk_buckets * tier.width + tier.keep
    end
    redis.call('SETRANGE', key, offset, struct.pack('<dddddd', b.mn, b.mx, b.sum, b.count, b.last, b.last_ts))
  end
end
for _, hkey in ipairs(bin_keys) do
  for name, count in pairs(bins[hkey]) do redis.call('HINCRBY', hkey, name, count) end
end
for _, key in ipairs(set_keys) do
  local members = sets[key]
  for first = 1, #members, 1000 do
    redis.call('PFADD', key, unpack(members, first, math.min(first + 999, #members)))
  end
end
for key, at in pairs(expiries) do redis.call('PEXPIREAT', key, int(at)) end

if kind == 'counter' then cur_v = fmt(total) end
if added and now > raw_exp - raw_keep / 2 then
  raw_exp = now + raw_keep
  redis.call('PEXPIREAT', raw, int(raw_exp))
end
local fields = { 'kind', kind, 'ts', int(cur_ts), 'total', fmt(total), 'raw_ms', int(last_raw), 'raw_exp', int(raw_exp) }
if cur_v then
  fields[#fields + 1] = 'v'
  fields[#fields + 1] = cur_v
end
redis.call('HSET', meta, unpack(fields))
if not cur_v or (cur_v == before_v and cur_ts == before_ts) then return {} end
return { cur_v, int(cur_ts) }
